// Benchmark of the Redis takeover sweep (src/store/redis-takeover-sweep.ts): how fast it
// moves the users a prefix taken over from the ids layout still holds there, what Redis
// spends per moved user, what it does to other reads on the same Redis while it runs at its
// default pace, and what a read costs in each state of the takeover against the ids layout's
// read of the same data (interleaved, same run): a user not moved yet (EXISTS, then both
// layouts in one MULTI), a moved user on a replica that has not seen the finished mark
// (EXISTS only), and after the sweep has marked the prefix `records` (one ZREVRANGEBYSCORE).
// One run, bounded; the stores run in the bench's process against the loopback Redis.
//
//   npx tsx apps/feature-server/bench/takeover-sweep-bench.ts [--users 20000] [--read-users 200] [--reads 2000] [--smoke]
import { loadavg } from 'node:os';
import { Command } from 'commander';
import Redis from 'ioredis';
import { DEFAULT_RETENTION } from '../src/app';
import { RedisActionStore, type RedisLayout } from '../src/store/redis-action-store';
import { type StoredRecord } from '../src/store/stored-record';
import { f, p50, progressLog, removeKeys } from './bench-figures';
import { BusyCpu, commandTimes, SCRIPT_COMMANDS, spentOn } from '@pinrank/redis';

const opts = new Command()
  .option('--users <n>', 'users left in the ids layout per swept prefix (5 sequence actions each)', (v) => Number(v), 20_000)
  .option('--read-users <n>', 'users with 100 sequence actions each, read in every phase', (v) => Number(v), 200)
  .option('--reads <n>', 'reads per path and phase', (v) => Number(v), 2_000)
  .option('--smoke', 'tiny sizes: checks that every phase runs and the sweeps finish; times nothing', false)
  .parse()
  .opts<{ users: number; readUsers: number; reads: number; smoke: boolean }>();
if (opts.smoke) Object.assign(opts, { users: 300, readUsers: 10, reads: 20 });

const REDIS_URL = 'redis://127.0.0.1:6379';
const runPrefix = `bench:sweep:${process.pid}_${Date.now()}:`;
const READ_ACTIONS = 100;
const WINDOW = { asOfMs: Date.now(), limit: 100 };

const log = progressLog();


const record = (userId: string, i: number): StoredRecord => ({
  actionId: `${userId}-${i}`,
  userId,
  itemId: `item-${i % 997}`,
  actionType: 2 + (i % 4),
  timestampMs: WINDOW.asOfMs - 86_400_000 + i * 1000,
  surface: 1,
  durationMs: 500,
  itemKnown: true,
  vector: new Float32Array(32).map((_, j) => (i + j) / 100),
});

const open = (prefix: string, layout: RedisLayout): Promise<RedisActionStore> => RedisActionStore.open({ url: REDIS_URL, keyPrefix: prefix, retention: DEFAULT_RETENTION, layout });

/** A prefix in the ids layout: the read users (100 actions each) and `users` more with 5 each; returns it closed. */
async function idsPrefix(name: string, users: number): Promise<string> {
  const prefix = `${runPrefix}${name}:`;
  const store = await open(prefix, 'ids');
  const batch: StoredRecord[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length > 0) await store.append(batch.splice(0));
  };
  for (let u = 0; u < opts.readUsers; u++) {
    for (let i = 0; i < READ_ACTIONS; i++) batch.push(record(`r${u}`, i));
    if (batch.length >= 5000) await flush();
  }
  for (let u = 0; u < users; u++) {
    for (let i = 0; i < 5; i++) batch.push(record(`b${u}`, i));
    if (batch.length >= 5000) await flush();
  }
  await flush();
  await store.close();
  return prefix;
}

/** Reads `opts.reads` read users through each store, round-robin (rotating order); latencies per store, ms. */
async function interleavedReads(stores: readonly RedisActionStore[]): Promise<number[][]> {
  const out = stores.map(() => [] as number[]);
  for (let i = 0; i < opts.reads; i++) {
    const user = `r${i % opts.readUsers}`;
    for (let k = 0; k < stores.length; k++) {
      const j = (i + k) % stores.length;
      const t = performance.now();
      const rows = await (stores[j] as RedisActionStore).readSequence(user, WINDOW);
      out[j]?.push(performance.now() - t);
      if (rows.length !== READ_ACTIONS) throw new Error(`read of ${user}: ${rows.length} actions, expected ${READ_ACTIONS}`);
    }
  }
  return out;
}

/** Reads through `store` until `until` settles; latencies, ms. */
async function readsUntil(store: RedisActionStore, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const out: number[] = [];
  for (let i = 0; !done; i++) {
    const t = performance.now();
    await store.readSequence(`r${i % opts.readUsers}`, WINDOW);
    out.push(performance.now() - t);
  }
  return out;
}

interface SweepFigures {
  users: number;
  seconds: number;
  /** Redis's script time per moved user, µs (INFO commandstats). */
  redisUsPerUser: number;
  /** The Redis server's whole CPU per moved user, µs (INFO cpu, less its idle rate): the scans, the scripts, reading requests and writing replies. */
  redisCpuPerUser: number;
}

/**
 * Sweeps `store`'s prefix to the end at `keysPerSecond`; users moved, seconds, and what Redis
 * spent per moved user (server-wide, so only meaningful with nothing else calling Redis).
 */
async function sweep(store: RedisActionStore, redis: Redis, keysPerSecond: number, serverCpu: BusyCpu): Promise<SweepFigures> {
  let users = 0;
  const before = await commandTimes(redis);
  let outcome = '';
  const { micros, ms } = await serverCpu.during(async () => {
    outcome = await store.startTakeoverSweep({ keysPerSecond, onMoved: (n) => (users += n) }).done;
  });
  const spent = spentOn(before, await commandTimes(redis), SCRIPT_COMMANDS);
  if (outcome !== 'finished' || store.layoutMark !== 'records') throw new Error(`sweep ended ${outcome} with the mark ${store.layoutMark}`);
  const moved = Math.max(1, users);
  return { users, seconds: ms / 1000, redisUsPerUser: spent.usec / moved, redisCpuPerUser: (micros[0] as number) / moved };
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const stores: RedisActionStore[] = [];
  const track = async (s: Promise<RedisActionStore>): Promise<RedisActionStore> => {
    stores.push(await s);
    return stores[stores.length - 1] as RedisActionStore;
  };
  try {
    log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; preparing 3 prefixes: ${opts.readUsers} read users × ${READ_ACTIONS} actions, ${opts.users} more × 5`);
    const [baseP, pacedP, fullP] = [await idsPrefix('base', 0), await idsPrefix('paced', opts.users), await idsPrefix('full', opts.users)];
    const base = await track(open(baseP, 'ids'));
    const paced = await track(open(pacedP, 'records'));
    // A replica that will not look at the mark again: after the sweep, the "moved, mark not seen yet" state.
    const stale = await track(open(pacedP, 'records'));
    const full = await track(open(fullP, 'records'));
    if ([paced, stale, full].some((s) => s.layoutMark !== 'records+ids')) throw new Error('the swept prefixes were not taken over');

    log('warming up');
    await interleavedReads([base, paced]);
    log('reads before the sweep: ids layout vs records+ids with every user still in the ids layout');
    const [baseBefore = [], unmoved = []] = await interleavedReads([base, paced]);

    const serverCpu = await BusyCpu.measure([redis], opts.smoke ? 100 : 1_000);
    log(`sweep at the default pace (20 000 keys/s) while the ids-layout prefix is read`);
    const pacedSweep = sweep(paced, redis, 20_000, serverCpu);
    const during = await readsUntil(base, pacedSweep);
    const pacedResult = await pacedSweep;
    const quiet = await readsUntil(base, new Promise((r) => setTimeout(r, Math.max(200, pacedResult.seconds * 1000))));

    log('sweep with no pace');
    const fullResult = await sweep(full, redis, 1e9, serverCpu);

    log('reads after the sweep: ids layout vs moved users on a replica that has not seen the mark vs records');
    const [baseAfter = [], existsOnly = [], finished = []] = await interleavedReads([base, stale, paced]);

    const rows = [
      '| takeover state (read of 100 actions, in process) | p50 µs | p50 vs the ids layout in the same phase |',
      '|---|---:|---:|',
      `| ids layout, before the sweep | ${f(p50(baseBefore) * 1000)} | 1.00× |`,
      `| records+ids, user not moved (EXISTS, then a MULTI of both layouts) | ${f(p50(unmoved) * 1000)} | ${f(p50(unmoved) / p50(baseBefore), 2)}× |`,
      `| ids layout, after the sweep | ${f(p50(baseAfter) * 1000)} | 1.00× |`,
      `| records+ids, user moved, mark not seen yet (EXISTS) | ${f(p50(existsOnly) * 1000)} | ${f(p50(existsOnly) / p50(baseAfter), 2)}× |`,
      `| records, after the sweep (one ZREVRANGEBYSCORE) | ${f(p50(finished) * 1000)} | ${f(p50(finished) / p50(baseAfter), 2)}× |`,
      '',
      '| sweep | users moved | seconds | users/s | Redis µs per moved user: scripts (commandstats) | the server\'s whole CPU (INFO cpu) |',
      '|---|---:|---:|---:|---:|---:|',
      // Reads ran beside it, so Redis's figures say nothing about the sweep alone.
      `| default pace (20 000 keys/s), other reads beside it | ${f(pacedResult.users)} | ${f(pacedResult.seconds, 2)} | ${f(pacedResult.users / pacedResult.seconds)} | — | — |`,
      `| no pace, alone | ${f(fullResult.users)} | ${f(fullResult.seconds, 2)} | ${f(fullResult.users / fullResult.seconds)} | ${f(fullResult.redisUsPerUser, 1)} | ${f(fullResult.redisCpuPerUser, 1)} |`,
      '',
      '| other reads on the same Redis (ids layout) | reads | p50 µs | vs quiet |',
      '|---|---:|---:|---:|',
      `| during the default-pace sweep | ${f(during.length)} | ${f(p50(during) * 1000)} | ${f(p50(during) / p50(quiet), 2)}× |`,
      `| quiet, right after | ${f(quiet.length)} | ${f(p50(quiet) * 1000)} | 1.00× |`,
    ];
    process.stdout.write(`${rows.join('\n')}\n`);
    for (const [name, r] of [['default pace', pacedResult], ['no pace', fullResult]] as const) {
      if (r.users < opts.users + opts.readUsers) throw new Error(`${name}: moved ${r.users} users, expected at least ${opts.users + opts.readUsers}`);
    }
    log(`done; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await removeKeys(redis, runPrefix);
    await redis.quit();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
