import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Command } from 'commander';
import { MAX_ACTION_PARTITIONS, SERVICE_IDENTITIES } from '@pinrank/contracts';
import { FeatureServerClient, UserAction } from '@pinrank/proto';
import { readActionLog, replay, userActionFields } from '@pinrank/sim';
import { type CliIo } from '../io';
import { openClient } from '../remote/call';
import { type RemoteFlags } from '../remote/endpoints';
import { ingestStream } from '../remote/ingest-stream';
import { ActionPublisher, type ActionStreamTarget } from '../remote/publish-actions';
import { remoteOptions, resolveRemote } from '../remote/remote-options';
import { toJson } from '../remote/table';
import { CliError } from '../cli-error';
import { natsSecurityFlagsGiven, natsSecurityOf, natsSecurityOptions, type NatsSecurityFlags } from './nats-options';
import { intOption, numberOption } from './options';

interface IngestFlags extends RemoteFlags, NatsSecurityFlags {
  file?: string;
  world?: string;
  speedup?: number;
  limit?: number;
  batch: number;
  nats?: string;
  subject: string;
  partitions: number;
}

/** Publishes the actions onto the JetStream action stream in chunks of `batch`; how many were stored by JetStream. */
async function publishAll(source: AsyncIterable<Partial<UserAction>>, target: ActionStreamTarget, batch: number): Promise<number> {
  const publisher = await ActionPublisher.open(target);
  try {
    let published = 0;
    const chunk: Partial<UserAction>[] = [];
    for await (const a of source) {
      chunk.push(a);
      if (chunk.length >= batch) published += await publisher.publish(chunk.splice(0));
    }
    return published + (await publisher.publish(chunk));
  } finally {
    await publisher.close();
  }
}

/** Reads UserAction objects from a JSON-lines file (one proto-JSON UserAction per line). */
async function* jsonLines(path: string): AsyncGenerator<UserAction> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (!line.trim()) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new Error(`${path}:${n}: not valid JSON`);
    }
    yield UserAction.fromJSON(obj);
  }
}

async function* take<T>(source: AsyncIterable<T>, limit: number | undefined): AsyncGenerator<T> {
  let n = 0;
  for await (const x of source) {
    if (limit !== undefined && n++ >= limit) return;
    yield x;
  }
}

/** `pinrank ingest`: stream actions into feature-server from a file or a simulated world's action log, or publish them onto the JetStream action stream. */
export function registerIngest(program: Command, io: CliIo): void {
  remoteOptions(
    natsSecurityOptions(
      program
        .command('ingest')
        .description('stream actions into feature-server (IngestActions), or publish them onto the JetStream action stream (--nats), from a JSON-lines file or a simulated world')
        .option('--file <path>', 'JSON-lines file of UserAction objects (proto JSON field names)')
        .option('--world <dir>', 'a directory written by `pinrank simulate`: replay its action log')
        .option('--speedup <x>', 'replay speed-up: simulated ms per wall ms (default: as fast as possible)', numberOption(1e-6))
        .option('--limit <n>', 'stop after n actions', intOption(1))
        .option('--batch <n>', 'actions per stream message (with --nats: per chunk of publishes)', intOption(1, 10_000), 500)
        .option('--nats <url>', 'publish onto the JetStream action stream instead (e.g. nats://127.0.0.1:4222); the feature-servers consume it')
        .option('--subject <subject>', 'with --nats: the action stream subject (FEATURE_SERVER_NATS_SUBJECT)', 'pinrank.actions')
        .option('--partitions <n>', "with --nats: the action stream's partitions (FEATURE_SERVER_NATS_PARTITIONS); each action goes to its user's", intOption(1, MAX_ACTION_PARTITIONS), 1),
      "presenting the producer's certificate of --tls-dir and trusting its CA",
    ),
    'feature-server',
  ).action(async (flags: IngestFlags) => {
    if (Boolean(flags.file) === Boolean(flags.world)) throw new Error('give exactly one of --file or --world');
    const natsFlags = natsSecurityFlagsGiven(flags);
    if (natsFlags.length > 0 && !flags.nats) throw new CliError(`${natsFlags.join(', ')}: only with --nats <url> (publishing onto JetStream)`, 'usage');
    // Ingest presents the producer's certificate (the policy admits producers only), and a token only when given explicitly.
    const r = resolveRemote({ ...flags, timeout: flags.timeout === 5000 ? 3_600_000 : flags.timeout }, 'feature-server', SERVICE_IDENTITIES.producer);
    const base: AsyncIterable<Partial<UserAction>> = flags.file
      ? jsonLines(flags.file)
      : (async function* () {
          const plain = join(flags.world as string, 'actions.prlog');
          const log = existsSync(plain) ? plain : `${plain}.gz`;
          const records = replay(readActionLog(log), { speedup: flags.speedup ?? Infinity });
          for await (const rec of records) yield userActionFields(rec);
        })();
    if (flags.nats) {
      const started = Date.now();
      const target = { servers: flags.nats, subject: flags.subject, partitions: flags.partitions, security: natsSecurityOf(flags, r.tls, 'no producer certificate found (give --tls-dir)') };
      const published = await publishAll(take(base, flags.limit), target, flags.batch);
      if (flags.json) return io.out(toJson({ published, subject: flags.subject, partitions: flags.partitions }));
      // JetStream stored them; the feature-servers validate and store them as they consume (refusals in their metrics and logs).
      return io.out(
        `published ${published} actions in ${((Date.now() - started) / 1000).toFixed(1)} s onto ${flags.subject}` +
          `${flags.partitions > 1 ? `.<0..${flags.partitions - 1}> (${flags.partitions} partitions)` : ''}\n`,
      );
    }
    const client = openClient(FeatureServerClient, r.address, r.tls);
    try {
      const started = Date.now();
      const { sent, response } = await ingestStream(client, r.address, take(base, flags.limit), {
        batchSize: flags.batch,
        timeoutMs: r.timeoutMs,
        ...(flags.token ? { token: flags.token } : {}),
      });
      if (flags.json) return io.out(toJson({ sent, ...response }));
      const secs = (Date.now() - started) / 1000;
      io.out(
        `sent ${sent} actions in ${secs.toFixed(1)} s: ${response.accepted} accepted, ${response.duplicates} duplicates, ` +
          `${response.rejected} rejected, ${response.unknownItems} with unknown items\n`,
      );
      for (const rej of response.rejections) io.out(`  rejected #${rej.index} ${rej.actionId}: ${rej.reason}\n`);
    } finally {
      client.close();
    }
  });
}
