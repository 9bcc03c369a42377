// Benchmark of the feature-server: ingest throughput (LMDB vs Redis backends vs a plain
// Redis LPUSH+LTRIM client), GetRealtimeSequence latency for 100-action sequences (vs a plain
// Redis LRANGE client), and ingest→visible latency through JetStream. One run, bounded.
// Each feature-server runs as its own process (the real entry point), like Redis does; the
// bench process is only the clients. The paths being compared run interleaved (round-robin,
// rotating order), so load from anything else on the machine hits them alike: read the
// ratios, not the absolutes.
//
//   npx tsx apps/feature-server/bench/feature-server-bench.ts [--actions 20000] [--reads 2000] [--fresh 200] [--read-actions 100] [--built] [--profile-dir DIR] [--smoke]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import Redis from 'ioredis';
import { connect } from 'nats';
import { FeatureServerService, GetRealtimeSequenceRequest, RealtimeSequence, serializeRealtimeSequence, UserAction, type SequenceLookup, type SequenceLookupResult } from '@pinrank/proto';
import { BENCH_BUILT_ENV, entryArgs, LookupStreamClient } from '@pinrank/service-kit';
import { DEFAULT_RETENTION } from '../src/app';
import { SequenceReader } from '../src/read/sequence-reader';
import { type ActionStore } from '../src/store/action-store';
import { LmdbActionStore } from '../src/store/lmdb-action-store';
import { RedisActionStore } from '../src/store/redis-action-store';
import { encodeRecord } from '../src/store/stored-record';
import { catalogVector, startCatalogServer, type CatalogServer } from '../src/testing/catalog-server';
import { FeatureTestClient } from '../src/testing/feature-client';
import { bareClient, startBareServer } from './bare-floor';
import { f, summary } from './bench-figures';
import { measureFreshness, streamConfiguration } from './jetstream-rounds';
import { startServerProcess, type ServerProcess } from './server-process';
import { BusyCpu, commandTimes, SCRIPT_COMMANDS, spentOn, type CommandTimes } from '@pinrank/redis';

const opts = new Command()
  .option('--actions <n>', 'actions ingested per path', (v) => Number(v), 20_000)
  .option('--users <n>', 'distinct users in the ingest run', (v) => Number(v), 1_000)
  .option('--batch <n>', 'actions per IngestActions message / Redis pipeline', (v) => Number(v), 500)
  .option('--streams <n>', 'concurrent ingest streams per path', (v) => Number(v), 4)
  .option('--rounds <n>', 'interleaved ingest rounds', (v) => Number(v), 5)
  .option('--reads <n>', 'reads per path', (v) => Number(v), 2_000)
  .option('--read-users <n>', 'users preloaded with sequence actions for the reads', (v) => Number(v), 200)
  .option('--read-actions <n>', 'sequence actions each read user holds (reads ask for the newest 100; the retention default keeps 256)', (v) => Number(v), 100)
  .option('--fresh <n>', 'JetStream freshness samples', (v) => Number(v), 200)
  .option('--built', 'run the servers (and the bare floor) as esbuild bundles, as deployed, instead of the sources through tsx (what `npm run bench feature-server -- --built` does for the bench too)', false)
  .option('--profile-dir <dir>', 'each feature-server process writes a V8 CPU profile there when it stops (summarise with apps/ranker/bench/cpu-profile.ts)')
  .option('--smoke', 'tiny sizes: checks that every path runs and answers in full; times nothing', false)
  .parse()
  .opts<{ actions: number; users: number; batch: number; streams: number; rounds: number; reads: number; readUsers: number; readActions: number; fresh: number; built: boolean; profileDir?: string; smoke: boolean }>();
if (opts.smoke) Object.assign(opts, { actions: 400, users: 20, batch: 100, streams: 2, rounds: 1, reads: 10, readUsers: 5, fresh: 3 });

const REDIS_URL = 'redis://127.0.0.1:6379';
const NATS_URL = '127.0.0.1:4222';
const tag = `${process.pid}_${Date.now()}`;
const NOW = Date.now();
const CATALOG = 5_000;
if (opts.built) process.env[BENCH_BUILT_ENV] = '1';
const started = performance.now();

function log(line: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${line}\n`);
}

const action = (run: string, i: number, users: number): UserAction =>
  UserAction.fromPartial({
    actionId: `${run}-${i}`,
    userId: `${run}-u${i % users}`,
    itemId: `item-${(i * 7919) % CATALOG}`,
    actionType: 2 + (i % 4),
    timestampMs: NOW - 86_400_000 + i,
    surface: 1,
    durationMs: 500,
  });

/** Actions [from, to) split over `streams` concurrent workers, each taking `batch`-sized slices. */
async function overStreams(from: number, to: number, work: (slice: UserAction[]) => Promise<void>, make: (i: number) => UserAction): Promise<void> {
  const per = Math.ceil((to - from) / opts.streams);
  await Promise.all(
    Array.from({ length: opts.streams }, async (_, k) => {
      const end = Math.min(to, from + (k + 1) * per);
      for (let i = from + k * per; i < end; i += opts.batch) {
        await work(Array.from({ length: Math.min(opts.batch, end - i) }, (_, j) => make(i + j)));
      }
    }),
  );
}

/** One way of ingesting: stores actions [from, to) of its own run. */
interface IngestPath {
  name: string;
  ingest(from: number, to: number): Promise<void>;
  /** The Redis commands whose time is this path's Redis work (INFO commandstats); none for a path that uses no Redis. */
  redisCommands?: readonly string[];
}

function grpcIngest(name: string, client: FeatureTestClient, run: string, redisCommands?: readonly string[]): IngestPath {
  return {
    name,
    ...(redisCommands ? { redisCommands } : {}),
    // One IngestActions stream per worker slice, as a client flushing batches would do.
    ingest: (from, to) =>
      overStreams(
        from,
        to,
        async (slice) => {
          const res = await client.ingest([slice]);
          if (res.rejected > 0 || res.accepted !== slice.length) throw new Error(`bench: ${name}: ${JSON.stringify(res.rejections[0])}`);
        },
        (i) => action(run, i, opts.users),
      ),
  };
}

/** The naive baseline: LPUSH the same record bytes (vector included) + LTRIM 256, pipelined; no enrichment call, no de-duplication, no ordering. */
function lpushIngest(redis: Redis, prefix: string, run: string): IngestPath {
  const vectors = new Map<string, Float32Array>();
  return {
    name: 'plain Redis LPUSH+LTRIM client (pipelined)',
    redisCommands: ['lpush', 'ltrim'],
    ingest: (from, to) =>
      overStreams(
        from,
        to,
        async (slice) => {
          const p = redis.pipeline();
          for (const a of slice) {
            let v = vectors.get(a.itemId);
            if (!v) vectors.set(a.itemId, (v = catalogVector(a.itemId)));
            p.lpush(`${prefix}${a.userId}`, encodeRecord({ ...a, itemKnown: true, vector: v }));
            p.ltrim(`${prefix}${a.userId}`, 0, 255);
          }
          await p.exec();
        },
        (i) => action(run, i, opts.users),
      ),
  };
}

/** One way of reading user i's sequence; throws if the answer is wrong. */
interface ReadPath {
  name: string;
  read(i: number): Promise<void>;
}

function grpcRead(name: string, client: FeatureTestClient, run: string): ReadPath {
  return {
    name,
    read: async (i) => {
      const seq = await client.sequence({ userId: `${run}-u${i % opts.readUsers}`, maxLen: 100, asOfMs: NOW });
      if (seq.length !== 100) throw new Error(`bench: ${name}: ${seq.length} rows`);
    },
  };
}

/** Reads as the router sends them: each request a message on one open StreamRealtimeSequences stream. */
function streamedRead(name: string, client: FeatureTestClient, run: string): ReadPath & { close(): void } {
  const lookups = new LookupStreamClient<GetRealtimeSequenceRequest, RealtimeSequence, SequenceLookup, SequenceLookupResult>({
    unary: FeatureServerService.getRealtimeSequence,
    upstream: 'feature-server',
    open: (md, o) => client.raw.streamRealtimeSequences(md, o),
    parts: (out) => ({ requestId: out.requestId, status: out.status, response: out.sequence }),
  });
  return {
    name,
    read: async (i) => {
      const seq = await lookups.call(GetRealtimeSequenceRequest.fromPartial({ userId: `${run}-u${i % opts.readUsers}`, maxLen: 100, asOfMs: NOW }), { timeoutMs: 10_000 });
      if (seq.length !== 100) throw new Error(`bench: ${name}: ${seq.length} rows`);
    },
    close: () => lookups.close(),
  };
}

const serverProcesses: ServerProcess[] = [];

/**
 * The bare-gRPC floors of a sequence read (bare-floor.ts): the bare server in the
 * bench process (unary and stream), and again in a process of its own (stream), as
 * the feature-server runs: the same wake-ups across processes, no read, no kit.
 */
async function bareFloor(
  answer: RealtimeSequence,
  dir: string,
): Promise<{ read: () => Promise<void>; streamRead: () => Promise<void>; remoteStreamRead: () => Promise<void>; stop(): Promise<void> }> {
  const local = await startBareServer(answer);
  const localClient = bareClient(`127.0.0.1:${local.port}`, answer.userId, NOW);
  const answerFile = join(dir, 'bare-answer.bin');
  writeFileSync(answerFile, RealtimeSequence.encode(answer).finish());
  const child = spawn(process.execPath, [...entryArgs('apps/feature-server/bench/bare-floor-process.ts'), answerFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const port = await new Promise<number>((res, rej) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const m = /^port=(\d+)$/.exec(line);
      if (m) res(Number(m[1]));
    });
    child.once('exit', (code) => rej(new Error(`bench: the bare floor process exited (${code}) before listening`)));
  });
  const remoteClient = bareClient(`127.0.0.1:${port}`, answer.userId, NOW);
  return {
    read: localClient.read,
    streamRead: localClient.streamRead,
    remoteStreamRead: remoteClient.streamRead,
    stop: async () => {
      localClient.close();
      remoteClient.close();
      local.stop();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Starts a feature-server process (server-process.ts), profiled with --profile-dir and stopped at the end of the run. */
function startServer(catalog: CatalogServer, env: Record<string, string>): Promise<ServerProcess> {
  return startServerProcess(catalog, env, { ...(opts.profileDir ? { profileDir: opts.profileDir } : {}), started: serverProcesses });
}

/** Sum and count of the JetStream ingest→visible histogram, scraped from /metrics. */
async function scrapeFreshness(metricsPort: number): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const value = (name: string): number => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { sum: value('feature_server_jetstream_ingest_to_visible_seconds_sum'), count: value('feature_server_jetstream_ingest_to_visible_seconds_count') };
}

/**
 * Runs each ingest path over the same action count in interleaved rounds; returns
 * actions/s per path, and per action of each path that names its Redis commands:
 * Redis's own time (INFO commandstats around each of its turns) and the server's
 * whole CPU (INFO cpu, its idle rate taken out); NaN for the others.
 */
async function measureIngest(paths: IngestPath[], redis: Redis, serverCpu: BusyCpu): Promise<{ rates: number[]; redisUsecPerAction: number[]; redisCpuPerAction: number[] }> {
  const spent = paths.map(() => 0);
  const redisUsec = paths.map(() => 0);
  const redisCpu = paths.map(() => 0);
  const chunk = Math.ceil(opts.actions / opts.rounds);
  for (let r = 0; r < opts.rounds; r++) {
    for (let k = 0; k < paths.length; k++) {
      const p = (r + k) % paths.length;
      const path = paths[p] as IngestPath;
      const before = path.redisCommands ? await commandTimes(redis) : undefined;
      const { micros, ms } = await serverCpu.during(() => path.ingest(r * chunk, Math.min(opts.actions, (r + 1) * chunk)));
      spent[p] = (spent[p] ?? 0) + ms;
      if (before && path.redisCommands) {
        redisCpu[p] = (redisCpu[p] ?? 0) + (micros[0] as number);
        redisUsec[p] = (redisUsec[p] ?? 0) + spentOn(before, await commandTimes(redis), path.redisCommands).usec;
      }
    }
  }
  const perAction = (totals: number[]): number[] => paths.map((path, p) => (path.redisCommands ? (totals[p] ?? 0) / opts.actions : NaN));
  return { rates: spent.map((ms) => opts.actions / (ms / 1000)), redisUsecPerAction: perAction(redisUsec), redisCpuPerAction: perAction(redisCpu) };
}

/**
 * A feature-server's own work per read, in this process: the reader's fast
 * path (rows written straight from the stored bytes) against the reference
 * (decoded records + buildSequence), each encoded to the response bytes, on
 * LMDB and on Redis (its read includes the round trip to Redis); the same
 * users and records as the served reads, interleaved. Returns rows of
 * [backend, variant, samples]; each backend's reference comes second.
 */
async function inProcessReads(
  dir: string,
  prefix: string,
  reads: number,
  redis: Redis,
): Promise<{ rows: { backend: string; name: string; samples: number[] }[]; redisTime: string[] }> {
  const stores: [string, ActionStore][] = [
    ['LMDB', LmdbActionStore.open({ path: join(dir, 'in-process'), retention: DEFAULT_RETENTION })],
    ['Redis', await RedisActionStore.open({ url: REDIS_URL, keyPrefix: `${prefix}in-process:`, retention: DEFAULT_RETENTION, layout: 'ids' })],
    [
      'Redis, records layout',
      await RedisActionStore.open({ url: REDIS_URL, keyPrefix: `${prefix}in-process-rows:`, retention: DEFAULT_RETENTION, layout: 'records' }),
    ],
  ];
  try {
    for (let u = 0; u < opts.readUsers; u++) {
      const slice = Array.from({ length: opts.readActions }, (_, j) => action('rd', u + j * opts.readUsers, opts.readUsers));
      for (const [, store] of stores) await store.append(slice.map((a) => ({ ...a, itemKnown: true, vector: catalogVector(a.itemId) })));
    }
    const generated = (seq: RealtimeSequence): Uint8Array => RealtimeSequence.encode(seq).finish();
    const variants = stores.flatMap(([backend, store]) => [
      { backend, name: 'fast path: rows written from the stored bytes', reader: new SequenceReader(store, { includeTypes: DEFAULT_RETENTION.sequenceTypes }), encode: generated },
      { backend, name: 'reference: decoded records + buildSequence', reader: new SequenceReader(store, { includeTypes: DEFAULT_RETENTION.sequenceTypes, storeFastPath: false }), encode: generated },
      // What the server sends now: the answer written by the single-copy serializer (libs/proto sequence-raw.ts).
      { backend, name: 'fast path, answer by the single-copy serializer (as served)', reader: new SequenceReader(store, { includeTypes: DEFAULT_RETENTION.sequenceTypes }), encode: serializeRealtimeSequence },
    ]);
    const paths: ReadPath[] = variants.map(({ backend, name, reader, encode }) => ({
      name,
      read: async (i) => {
        const seq = await reader.read(`rd-u${i % opts.readUsers}`, reader.resolve(100, NOW));
        if (seq.length !== 100 || encode(seq).length === 0) throw new Error(`bench: ${backend} ${name}: ${seq.length} rows`);
      },
    }));
    await measureReads(paths, Math.min(500, reads));
    const samples = await measureReads(paths, reads);
    const rows = variants.map((v, i) => ({ backend: v.backend, name: v.name, samples: samples[i] ?? [] }));
    return { rows, redisTime: await redisTimeByLayout(stores, redis, `${prefix}lr:`, Math.min(1000, reads)) };
  } finally {
    await Promise.all(stores.map(([, store]) => store.close()));
  }
}

/**
 * Redis's own command time (INFO commandstats) per action ingested and per
 * read: the Redis backend's scripts against the plain client's commands, in
 * the same measured phases. Counts every client of the server: run on a Redis
 * nothing else uses.
 */
function redisTimeRows(ingest: { paths: IngestPath[]; usecPerAction: number[]; cpuPerAction: number[] }, reads: [CommandTimes, CommandTimes], actions: number, readCount: number): string[] {
  const plainAppend = ingest.usecPerAction[ingest.usecPerAction.length - 1] ?? NaN;
  const read = spentOn(reads[0], reads[1], SCRIPT_COMMANDS);
  const lrange = spentOn(reads[0], reads[1], ['lrange']);
  const perRead = (x: { usec: number }): number => x.usec / readCount;
  return [
    `Redis's own time (INFO commandstats: executing the commands, socket I/O not included) over the measured ingest (${f(actions, 0)} actions per path; the backends' append scripts run once per user of an IngestActions message) and reads (${f(readCount, 0)} per path).`,
    '',
    '| Redis work | µs per action or read | vs the plain commands | server CPU µs per action (INFO cpu, its idle rate taken out) | vs the plain commands |',
    '|---|---:|---:|---:|---:|',
    ...ingest.paths.flatMap((p, i) => {
      const usec = ingest.usecPerAction[i] ?? NaN;
      const cpu = ingest.cpuPerAction[i] ?? NaN;
      const plainCpu = ingest.cpuPerAction[ingest.cpuPerAction.length - 1] ?? NaN;
      return p.redisCommands ? [`| ingest: ${p.name} | ${f(usec, 1)} per action | ${f(usec / plainAppend, 2)}× | ${f(cpu, 1)} | ${f(cpu / plainCpu, 2)}× |`] : [];
    }),
    `| read: Redis backend, ids layout: the read script (GetRealtimeSequence, S=100; ${f(read.calls, 0)} calls) | ${f(perRead(read), 1)} per read | ${f(perRead(read) / perRead(lrange), 2)}× | | |`,
    `| read: plain client, LRANGE 0 99 | ${f(perRead(lrange), 1)} per read | 1.00× | | |`,
  ];
}

/**
 * Redis's own time per sequence read in each Redis layout, against an LRANGE of
 * the same 100 records: `reads` reads of one kind at a time from this process,
 * each kind bracketed by INFO commandstats (nothing else reads meanwhile), and
 * by INFO cpu: the server's whole CPU per read, its idle rate taken out.
 */
async function redisTimeByLayout(stores: [string, ActionStore][], redis: Redis, lrangePrefix: string, reads: number): Promise<string[]> {
  const user = (i: number): string => `rd-u${i % opts.readUsers}`;
  const window = { asOfMs: NOW, limit: 100 };
  const serverCpu = await BusyCpu.measure([redis], opts.smoke ? 100 : 1_000);
  const timed = async (commands: readonly string[], read: (i: number) => Promise<unknown>): Promise<[number, number]> => {
    const before = await commandTimes(redis);
    const { micros } = await serverCpu.during(async () => {
      for (let i = 0; i < reads; i++) await read(i);
    });
    return [spentOn(before, await commandTimes(redis), commands).usec / reads, (micros[0] as number) / reads];
  };
  const [lrange, lrangeCpu] = await timed(['lrange'], (i) => redis.lrangeBuffer(`${lrangePrefix}${user(i)}`, 0, 99));
  const kinds: Array<[string, number, number]> = [];
  for (const [backend, store] of stores) {
    if (!(store instanceof RedisActionStore)) continue;
    const commands = backend.includes('records') ? ['zrevrangebyscore', 'exists'] : SCRIPT_COMMANDS;
    const what = backend.includes('records') ? 'ZREVRANGEBYSCORE of the stored rows (a new prefix: no EXISTS for ids-layout actions)' : 'the read script (ZREVRANGEBYSCORE + HMGET in Lua)';
    kinds.push([`${backend}: ${what}`, ...(await timed(commands, (i) => store.readSequence(user(i), window)))]);
  }
  return [
    `Redis's own time per sequence read by layout (INFO commandstats), and the server's whole CPU per read (INFO cpu, less its idle rate of ${f((serverCpu.idlePerMs[0] as number) * 1000, 0)} µs/s), ${f(reads, 0)} reads of each kind in turn from the bench process, S=100.`,
    '',
    '| Redis read | command µs per read | vs LRANGE | server CPU µs per read | vs LRANGE |',
    '|---|---:|---:|---:|---:|',
    ...kinds.map(([name, usec, cpu]) => `| ${name} | ${f(usec, 1)} | ${f(usec / lrange, 2)}× | ${f(cpu, 1)} | ${f(cpu / lrangeCpu, 2)}× |`),
    `| plain LRANGE 0 99 of the same record bytes | ${f(lrange, 1)} | 1.00× | ${f(lrangeCpu, 1)} | 1.00× |`,
  ];
}

/** Times `reads` calls of each path, round-robin with rotating order; returns latency samples (ms) per path. */
async function measureReads(paths: ReadPath[], reads: number): Promise<number[][]> {
  const samples = paths.map((): number[] => []);
  for (let i = 0; i < reads; i++) {
    for (let k = 0; k < paths.length; k++) {
      const p = (i + k) % paths.length;
      const t0 = performance.now();
      await (paths[p] as ReadPath).read(i);
      samples[p]?.push(performance.now() - t0);
    }
  }
  return samples;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-bench-'));
  const prefix = `fs-bench:${tag}:`;
  const redis = new Redis(REDIS_URL);
  const catalog = await startCatalogServer(CATALOG);
  const nats = { servers: NATS_URL, stream: `FS_BENCH_${tag}`, subject: `fs.bench.${tag}`, durable: `fs-bench-${tag}` };
  const [lmdbApp, redisApp, lmdbRefApp, redisRowsApp] = await Promise.all([
    startServer(catalog, { FEATURE_SERVER_BACKEND: 'lmdb', FEATURE_SERVER_LMDB_PATH: join(dir, 'lmdb') }),
    startServer(catalog, { FEATURE_SERVER_BACKEND: 'redis', FEATURE_SERVER_REDIS_URL: REDIS_URL, FEATURE_SERVER_REDIS_PREFIX: `${prefix}fs:`, FEATURE_SERVER_REDIS_LAYOUT: 'ids' }),
    // The LMDB server again with its sequence reads through decoded records (the reference path), reads only.
    startServer(catalog, { FEATURE_SERVER_BACKEND: 'lmdb', FEATURE_SERVER_LMDB_PATH: join(dir, 'lmdb-ref'), FEATURE_SERVER_READ_FAST_PATH: 'false' }),
    // The Redis backend again in the records layout (a read is one ZREVRANGEBYSCORE), reads only.
    startServer(catalog, {
      FEATURE_SERVER_BACKEND: 'redis',
      FEATURE_SERVER_REDIS_URL: REDIS_URL,
      FEATURE_SERVER_REDIS_PREFIX: `${prefix}fs-rows:`,
      FEATURE_SERVER_REDIS_LAYOUT: 'records',
    }),
  ]);
  const lmdb = new FeatureTestClient(`127.0.0.1:${lmdbApp.port}`);
  const red = new FeatureTestClient(`127.0.0.1:${redisApp.port}`);
  const lmdbRef = new FeatureTestClient(`127.0.0.1:${lmdbRefApp.port}`);
  const redRows = new FeatureTestClient(`127.0.0.1:${redisRowsApp.port}`);
  const load0 = loadavg()[0] ?? NaN;
  const rows: string[] = [];
  let stopFloor = async (): Promise<void> => undefined;
  const closeStreams: (() => void)[] = [];
  try {
    // Ingest: warm every path (connections, caches, scripts), then measure interleaved.
    // The plain client comes last: the ratios are against it.
    const ingestPaths = (run: string): IngestPath[] => [
      grpcIngest('feature-server, LMDB backend (gRPC IngestActions)', lmdb, run),
      grpcIngest('feature-server, Redis backend (gRPC IngestActions)', red, run, SCRIPT_COMMANDS),
      grpcIngest('feature-server, Redis backend, records layout (gRPC IngestActions)', redRows, run, SCRIPT_COMMANDS),
      lpushIngest(redis, `${prefix}list:${run}:`, run),
    ];
    for (const p of ingestPaths('warm')) await p.ingest(0, CATALOG);
    const ingestPathsRun = ingestPaths('ing');
    // With each path's Redis time: the backends' append scripts, the plain client's LPUSH+LTRIM.
    const { rates, redisUsecPerAction, redisCpuPerAction } = await measureIngest(ingestPathsRun, redis, await BusyCpu.measure([redis], opts.smoke ? 100 : 1_000));
    const base = rates[rates.length - 1] ?? NaN;
    log('ingest measured');

    // Reads: the same users in every store (the LRANGE lists hold the same record bytes, newest at the head).
    if (opts.readActions < 100) throw new Error('--read-actions: at least 100 (every read asks for 100 rows)');
    for (let u = 0; u < opts.readUsers; u++) {
      const slice = Array.from({ length: opts.readActions }, (_, j) => action('rd', u + j * opts.readUsers, opts.readUsers));
      await Promise.all([lmdb.ingest([slice]), red.ingest([slice]), lmdbRef.ingest([slice]), redRows.ingest([slice])]);
      const p = redis.pipeline();
      for (const a of slice) p.lpush(`${prefix}lr:${a.userId}`, encodeRecord({ ...a, itemKnown: true, vector: catalogVector(a.itemId) }));
      await p.exec();
    }
    // The floor answers what the LMDB server answers for the first reader (same bytes, same form).
    const floor = await bareFloor(await lmdb.sequence({ userId: 'rd-u0', maxLen: 100, asOfMs: NOW }), dir);
    stopFloor = floor.stop;
    const streamed = streamedRead('feature-server, LMDB backend (the same request as a message on an open StreamRealtimeSequences stream)', lmdb, 'rd');
    const streamedRef = streamedRead('feature-server, LMDB backend, reads through decoded records (FEATURE_SERVER_READ_FAST_PATH=false), on an open stream', lmdbRef, 'rd');
    closeStreams.push(streamed.close, streamedRef.close);
    const readPaths: ReadPath[] = [
      grpcRead('feature-server, LMDB backend (GetRealtimeSequence → tensors)', lmdb, 'rd'),
      streamed,
      streamedRef,
      grpcRead('feature-server, Redis backend (GetRealtimeSequence → tensors)', red, 'rd'),
      grpcRead('feature-server, Redis backend, records layout (FEATURE_SERVER_REDIS_LAYOUT=records; GetRealtimeSequence → tensors)', redRows, 'rd'),
      {
        name: 'gRPC floor: LMDB server, unknown user, S=1 (transport only)',
        read: async () => {
          if ((await lmdb.sequence({ userId: 'rd-nobody', maxLen: 1, asOfMs: NOW })).length !== 0) throw new Error('bench: floor');
        },
      },
      { name: 'bare gRPC floor: bare grpc-js server and client, a prebuilt 100-action answer (same bytes)', read: floor.read },
      { name: 'bare gRPC stream floor, server in its own process (as the feature-server is): the same answer on an open bare grpc-js stream', read: floor.remoteStreamRead },
      { name: 'bare gRPC stream floor: the same answer to a message on an open bare grpc-js stream', read: floor.streamRead },
      {
        name: 'plain Redis LRANGE 0 99 (raw bytes, no tensors)',
        read: async (i) => {
          if ((await redis.lrangeBuffer(`${prefix}lr:rd-u${i % opts.readUsers}`, 0, 99)).length !== 100) throw new Error('bench: LRANGE');
        },
      },
    ];
    await measureReads(readPaths, Math.min(200, opts.reads));
    const readRedis0 = await commandTimes(redis);
    const readSamples = await measureReads(readPaths, opts.reads);
    const readRedis1 = await commandTimes(redis);
    const lr = summary(readSamples[readPaths.length - 1] ?? []);
    const floorRead = summary(readSamples[readPaths.length - 4] ?? []);
    // Streamed paths are set against the bare stream to a server in its own process, as theirs is.
    const streamFloorRead = summary(readSamples[readPaths.length - 3] ?? []);
    log('reads measured');
    const { rows: local, redisTime: redisByLayout } = await inProcessReads(dir, prefix, opts.reads * 2, redis);
    log('in-process reads measured');

    // Freshness through JetStream: publish one action, poll the same replica until it is readable.
    const freshApp = await startServer(catalog, {
      FEATURE_SERVER_LMDB_PATH: join(dir, 'fresh'),
      FEATURE_SERVER_NATS_URL: NATS_URL,
      FEATURE_SERVER_NATS_STREAM: nats.stream,
      FEATURE_SERVER_NATS_SUBJECT: nats.subject,
      FEATURE_SERVER_NATS_DURABLE: nats.durable,
    });
    const fresh = new FeatureTestClient(`127.0.0.1:${freshApp.port}`);
    const nc = await connect({ servers: NATS_URL });
    const js = nc.jetstream();
    const freshStream = streamConfiguration('JetStream freshness', nats.stream, nats.subject, 1, nats.durable);
    const { readable: freshMs } = await measureFreshness(js, freshStream, fresh, { n: opts.fresh, asOfMs: NOW, action: (i) => action('fresh', i, 1) });
    const { sum, count } = await scrapeFreshness(freshApp.metricsPort);
    fresh.close();
    await freshApp.stop();
    await nc.close();
    log('freshness measured');

    rows.push(
      `Ingest: ${f(opts.actions)} actions per path over ${f(opts.users)} users; ${opts.streams} concurrent workers per path, one ${opts.batch}-action message (or pipeline) at a time; ${opts.rounds} interleaved rounds.`,
      '',
      '| ingest path | actions/s | vs plain LPUSH+LTRIM |',
      '|---|---:|---:|',
    );
    ingestPathsRun.forEach((p, i) => rows.push(`| ${p.name} | ${f(rates[i] ?? NaN)} | ${f((rates[i] ?? NaN) / base, 2)}× |`));
    rows.push(
      '',
      `Reads: ${f(opts.reads)} sequential calls per path, interleaved; S=100 over ${f(opts.readUsers)} users holding ${f(opts.readActions)} sequence actions each.`,
      '',
      '| read path | p50 ms | p99 ms | p50 vs LRANGE | p50 vs bare floor (unary; stream: its own process) + LRANGE |',
      '|---|---:|---:|---:|---:|',
    );
    readPaths.forEach((p, i) => {
      const s = summary(readSamples[i] ?? []);
      const floorOfPath = p === streamed || p === streamedRef ? streamFloorRead : floorRead;
      const vsFloor = p.name.startsWith('feature-server') ? `${f(s.p50 / (floorOfPath.p50 + lr.p50), 2)}×` : '';
      rows.push(`| ${p.name} | ${f(s.p50, 3)} | ${f(s.p99, 3)} | ${f(s.p50 / lr.p50, 2)}× | ${vsFloor} |`);
    });
    rows.push('', ...redisTimeRows({ paths: ingestPathsRun, usecPerAction: redisUsecPerAction, cpuPerAction: redisCpuPerAction }, [readRedis0, readRedis1], opts.actions, opts.reads));
    rows.push(
      '',
      `A feature-server's own work per read, in the bench process (no gRPC): SequenceReader.read + encoding the answer (the generated encoder, or the single-copy serializer the server uses), S=100, the same users; ${f(opts.reads * 2)} reads per variant, interleaved (Redis: the read script's round trip included).`,
      '',
      '| backend | read in process | p50 µs | p99 µs | p50 vs the reference on its backend |',
      '|---|---|---:|---:|---:|',
      ...local.map(({ backend, name, samples }) => {
        const s = summary(samples);
        const ref = summary(local.find((l) => l.backend === backend && l.name.startsWith('reference'))?.samples ?? []);
        return `| ${backend} | ${name} | ${f(s.p50 * 1000)} | ${f(s.p99 * 1000)} | ${f(s.p50 / ref.p50, 2)}× |`;
      }),
    );
    rows.push('', ...redisByLayout);
    const fr = summary(freshMs);
    rows.push(
      '',
      `JetStream ingest→visible: ${f(opts.fresh)} actions published one at a time; LMDB backend; same replica.`,
      '',
      '| measure | p50 ms | p99 ms | mean ms |',
      '|---|---:|---:|---:|',
      `| client: publish → first GetRealtimeSequence that returns it | ${f(fr.p50, 2)} | ${f(fr.p99, 2)} | ${f(fr.mean, 2)} |`,
      `| server: JetStream timestamp → persisted and acked (histogram) | – | – | ${f(count ? (sum / count) * 1000 : NaN, 2)} |`,
      '',
      `Load average (1 min) at start / end: ${f(load0, 1)} / ${f(loadavg()[0] ?? NaN, 1)}.`,
    );
    console.log(rows.join('\n'));
  } finally {
    await stopFloor();
    for (const close of closeStreams) close();
    lmdb.close();
    red.close();
    lmdbRef.close();
    redRows.close();
    // Every server process this run started, including one left running by a failure.
    await Promise.all(serverProcesses.map((p) => p.stop()));
    const nc = await connect({ servers: NATS_URL });
    await (await nc.jetstreamManager()).streams.delete(nats.stream).catch(() => false);
    await nc.close();
    const keys = await redis.keys(`${prefix}*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
    await redis.quit();
    await catalog.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
