import { InvalidArgumentError, type Command } from 'commander';
import {
  RankRequest,
  RankerClient,
  RecommendRequest,
  degradedFlagToJSON,
  type RankResponse,
  type RecommendResponse,
} from '@pinrank/proto';
import { type CliIo } from '../io';
import { openClient, unary } from '../remote/call';
import { type RemoteFlags } from '../remote/endpoints';
import { remoteOptions, resolveRemote } from '../remote/remote-options';
import { table, toJson } from '../remote/table';
import { intOption } from './options';

interface RankFlags extends RemoteFlags {
  user: string;
  items: string;
  topK: number;
  time?: number;
  weights?: Record<string, number>;
}

interface RecommendFlags extends RemoteFlags {
  user: string;
  k: number;
  time?: number;
}

/** Parses "save=1,click=0.3,hide=-2" into head weights. */
export function parseHeadWeights(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    const w = Number(v);
    if (!k || v === undefined || !Number.isFinite(w)) throw new InvalidArgumentError(`expected head=weight pairs like save=1,hide=-2, got "${part}"`);
    out[k.trim()] = w;
  }
  return out;
}

/** Prints a Rank or Recommend response: a table of items and a summary of versions, timings and flags. */
export function printRanking(io: CliIo, res: RankResponse | RecommendResponse, json: boolean | undefined): void {
  if (json) {
    io.out(toJson(res));
    return;
  }
  const heads = [...new Set(res.items.flatMap((i) => Object.keys(i.headScores)))].sort();
  io.out(table(['#', 'item', 'score', ...heads], res.items.map((it, i) => [i + 1, it.itemId, it.score, ...heads.map((h) => it.headScores[h] ?? 0)])));
  const versions = Object.entries(res.modelVersions).map(([m, v]) => `${m}@${v}`).join(' ');
  io.out(`models: ${versions || '-'}  snapshot: ${res.snapshotVersion || '-'}  request: ${res.requestId}\n`);
  // Each stage with its start from the request start: stages that ran at once overlap.
  io.out(`timings: ${res.timings.map((t) => `${t.stage} ${t.ms.toFixed(1)} ms${t.stage === 'total' ? '' : ` from +${t.startMs.toFixed(1)}`}`).join(', ')}\n`);
  if (res.degraded.length) io.out(`degraded: ${res.degraded.map(degradedFlagToJSON).join(', ')}\n`);
  if ('unknownItemIds' in res && res.unknownItemIds.length) io.out(`unknown items dropped: ${res.unknownItemIds.join(', ')}\n`);
  if (res.experiment) io.out(`experiment: ${res.experiment} arm ${res.arm}\n`);
}

/** `pinrank rank` and `pinrank recommend`: call the router. */
export function registerRank(program: Command, io: CliIo): void {
  remoteOptions(
    program
      .command('rank')
      .description('rank candidate items for a user (router Rank)')
      .requiredOption('--user <id>', 'user id')
      .requiredOption('--items <ids>', 'comma-separated candidate item ids')
      .option('--top-k <n>', 'items to return (0 = all)', intOption(0, 100_000), 0)
      .option('--time <ms>', 'request time in epoch ms (default: now)', intOption(0))
      .option('--weights <pairs>', 'head weights, e.g. save=1,click=0.3,hide=-2', parseHeadWeights),
    'router',
  ).action(async (flags: RankFlags) => {
    const r = resolveRemote(flags, 'router');
    const client = openClient(RankerClient, r.address, r.tls);
    try {
      const req = RankRequest.fromPartial({
        userId: flags.user,
        candidateItemIds: flags.items.split(',').map((s) => s.trim()).filter(Boolean),
        topK: flags.topK,
        requestTimeMs: flags.time ?? 0,
        headWeights: flags.weights ?? {},
      });
      printRanking(io, await unary('router', r.address, client.rank.bind(client), req, r), flags.json);
    } finally {
      client.close();
    }
  });

  remoteOptions(
    program
      .command('recommend')
      .description("a user's top k items: retrieval then ranking (router Recommend)")
      .requiredOption('--user <id>', 'user id')
      .option('--k <n>', 'items to return', intOption(1, 1000), 10)
      .option('--time <ms>', 'request time in epoch ms (default: now)', intOption(0)),
    'router',
  ).action(async (flags: RecommendFlags) => {
    const r = resolveRemote(flags, 'router');
    const client = openClient(RankerClient, r.address, r.tls);
    try {
      const req = RecommendRequest.fromPartial({ userId: flags.user, k: flags.k, requestTimeMs: flags.time ?? 0 });
      printRanking(io, await unary('router', r.address, client.recommend.bind(client), req, r), flags.json);
    } finally {
      client.close();
    }
  });
}
