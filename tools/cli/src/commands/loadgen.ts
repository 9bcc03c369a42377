import { InvalidArgumentError, Option, type Command } from 'commander';
import { type CliIo } from '../io';
import { rankerSender, type LoadRpc } from '../loadgen/grpc-sender';
import { parseDuration, resolveLoadOptions, type LoadMode } from '../loadgen/options';
import { buildReport, formatProgress, formatReport } from '../loadgen/report';
import { runLoad } from '../loadgen/runner';
import { parseIdList, readIdFile, worldWorkload, type ItemDistribution, type UserDistribution } from '../loadgen/sources';
import { Workload } from '../loadgen/workload';
import { clientTlsFor, type ClientTlsFlags } from '../remote/client-tls';
import { DEFAULT_ENDPOINTS } from '../remote/endpoints';
import { tlsOptions } from '../remote/remote-options';
import { toJson } from '../remote/table';
import { intOption, numberOption } from './options';

interface LoadgenFlags extends ClientTlsFlags {
  addr?: string;
  rpc: LoadRpc;
  mode?: LoadMode;
  qps?: number;
  concurrency?: number;
  duration?: number;
  requests?: number;
  warmup: number;
  deadlineMs: number;
  maxOutstanding?: number;
  candidates?: number;
  topK?: number;
  world?: string;
  users?: string;
  items?: string;
  itemsFile?: string;
  userDist: UserDistribution;
  zipf: number;
  itemDist: ItemDistribution;
  seed: number;
  json?: boolean;
}

/** Default candidates per Rank request. */
const DEFAULT_CANDIDATES = 500;

function durationOption(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

async function buildWorkload(flags: LoadgenFlags): Promise<{ workload: Workload; source: string; candidates: number }> {
  const wantItems = flags.rpc === 'rank';
  if (flags.world) {
    if (flags.users || flags.items || flags.itemsFile) throw new TypeError('--world draws users and items from the world; drop --users/--items/--items-file');
    const candidates = wantItems ? (flags.candidates ?? DEFAULT_CANDIDATES) : 0;
    const workload = await worldWorkload(flags.world, { candidates, seed: flags.seed, users: flags.userDist, zipfExponent: flags.zipf, items: flags.itemDist });
    return { workload, source: `world ${flags.world} (users ${flags.userDist}, items ${flags.itemDist}, seed ${flags.seed})`, candidates };
  }
  if (!flags.users) throw new TypeError('give --world DIR, or --users (and for rank --items or --items-file)');
  const users = parseIdList(flags.users);
  if (flags.items && flags.itemsFile) throw new TypeError('give --items or --items-file, not both');
  const items = flags.itemsFile ? await readIdFile(flags.itemsFile) : parseIdList(flags.items ?? '');
  if (wantItems && items.length === 0) throw new TypeError('rank needs candidates: give --items, --items-file or --world');
  const candidates = wantItems ? (flags.candidates ?? Math.min(DEFAULT_CANDIDATES, items.length)) : 0;
  const workload = new Workload({ users, items, candidates, seed: flags.seed });
  return { workload, source: `lists (${users.length} users, ${items.length} items, seed ${flags.seed})`, candidates };
}

/** `pinrank loadgen`: open- or closed-loop load on the router's Rank or Recommend, with HDR latency percentiles. */
export function registerLoadgen(program: Command, io: CliIo): void {
  tlsOptions(program.command('loadgen'))
    .description("load the router's Rank or Recommend: open loop at a QPS or closed loop at a concurrency; HDR latency percentiles")
    .option('--addr <host:port>', `router address (default ${DEFAULT_ENDPOINTS.router})`)
    .addOption(new Option('--rpc <rpc>', 'RPC to call').choices(['rank', 'recommend']).default('rank'))
    .addOption(new Option('--mode <mode>', 'open (fixed timetable) or closed (callers back to back); default open with --qps, else closed').choices(['open', 'closed']))
    .option('--qps <n>', 'open loop: target requests per second', numberOption(0.001, 1_000_000))
    .option('--concurrency <n>', 'closed loop: callers (default 4)', intOption(1, 10_000))
    .option('--duration <time>', 'measured time after the warm-up, e.g. 30s, 2m (default 30s; unlimited with --requests alone)', durationOption)
    .option('--requests <n>', 'stop after n measured requests', intOption(1))
    .option('--warmup <time>', 'warm-up excluded from the statistics', durationOption, 2000)
    .option('--deadline-ms <ms>', 'deadline of each call', intOption(1, 600_000), 1000)
    .option('--max-outstanding <n>', 'open loop: calls in flight at most; requests due beyond it are dropped and counted (default 1024)', intOption(1))
    .option('--candidates <n>', `rank: candidates per request (default ${DEFAULT_CANDIDATES}); recommend: retrieved candidates (default: server's)`, intOption(0, 100_000))
    .option('--top-k <n>', 'rank: items to return (default 0 = all); recommend: k (default 10)', intOption(0, 100_000))
    .option('--world <dir>', 'draw users and candidates from a world written by `pinrank simulate`')
    .addOption(new Option('--user-dist <d>', 'with --world: how users are drawn').choices(['zipf', 'uniform']).default('zipf'))
    .option('--zipf <s>', 'with --world: Zipf exponent of the user distribution', numberOption(0, 10), 1)
    .addOption(new Option('--item-dist <d>', 'with --world: how candidates are drawn').choices(['popularity', 'uniform']).default('popularity'))
    .option('--users <ids>', 'without --world: comma-separated user ids, drawn uniformly')
    .option('--items <ids>', 'without --world: comma-separated candidate item ids')
    .option('--items-file <path>', 'without --world: file of candidate item ids (one per line or comma-separated)')
    .option('--seed <n>', 'seed of the user and candidate draws', intOption(0, 0xffffffff), 1)
    .option('--json', 'print the report as JSON')
    .action(async (flags: LoadgenFlags) => {
      const opts = resolveLoadOptions({
        warmupMs: flags.warmup,
        deadlineMs: flags.deadlineMs,
        ...(flags.mode ? { mode: flags.mode } : {}),
        ...(flags.qps !== undefined ? { qps: flags.qps } : {}),
        ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
        ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
        ...(flags.requests !== undefined ? { requests: flags.requests } : {}),
        ...(flags.maxOutstanding !== undefined ? { maxOutstanding: flags.maxOutstanding } : {}),
      });
      const topK = flags.topK ?? (flags.rpc === 'rank' ? 0 : 10);
      if (flags.rpc === 'recommend' && (topK < 1 || topK > 1000)) throw new RangeError(`--top-k: recommend's k must be in 1..1000, got ${topK}`);
      const { workload, source, candidates } = await buildWorkload(flags);
      const address = flags.addr ?? DEFAULT_ENDPOINTS.router;
      const sender = rankerSender(address, { rpc: flags.rpc, topK, recommendCandidates: flags.rpc === 'recommend' ? (flags.candidates ?? 0) : 0 }, clientTlsFor(flags));
      const ac = new AbortController();
      const onSigint = (): void => ac.abort();
      process.once('SIGINT', onSigint);
      let drew = false;
      try {
        const result = await runLoad(opts, {
          send: sender.send,
          nextRequest: () => workload.next(),
          signal: ac.signal,
          ...(io.errIsTty
            ? {
                onProgress: (p) => {
                  drew = true;
                  io.err(`\r${formatProgress(p)}\x1b[K`);
                },
              }
            : {}),
        });
        if (drew) io.err('\n');
        const report = buildReport({ address, rpc: flags.rpc, workload: source, candidates: flags.rpc === 'rank' ? candidates : (flags.candidates ?? 0) }, opts, result);
        io.out(flags.json ? toJson(report) : formatReport(report));
      } finally {
        process.removeListener('SIGINT', onSigint);
        sender.close();
      }
    });
}
