// Benchmark of the Redis backend on a Redis Cluster against one Redis: the same store code,
// in the bench's process, appending and reading through each in turn (interleaved, rotating
// order), one layout after the other. The cluster is three masters on loopback started for
// the run (src/testing/redis-cluster.ts); the single Redis is the loopback one on 6379. On
// one machine the cluster adds no CPU, so the latencies measure what the cluster client costs
// per call (slot routing, per-node batching), not how far a cluster scales. The servers'
// whole CPU per action appended and per read (INFO cpu, less each server's idle rate; the
// cluster's three masters added up) says what a shard spends on the same work.
//
//   npx tsx apps/feature-server/bench/redis-cluster-bench.ts [--users 200] [--batches 40] [--reads 2000] [--smoke]
import { loadavg } from 'node:os';
import { Command } from 'commander';
import Redis from 'ioredis';
import { DEFAULT_RETENTION } from '../src/app';
import { RedisActionStore, REDIS_LAYOUTS } from '../src/store/redis-action-store';
import { layoutKey } from '../src/store/redis-layout-mark';
import { type StoredRecord } from '../src/store/stored-record';
import { BusyCpu } from '@pinrank/redis';
import { startRedisCluster } from '@pinrank/redis/testing';
import { benchAction, f, p50, progressLog } from './bench-figures';

const opts = new Command()
  .option('--users <n>', 'users, each read with 100 sequence actions', (v) => Number(v), 200)
  .option('--batches <n>', 'append batches of 500 actions (spread over the users) per store', (v) => Number(v), 40)
  .option('--reads <n>', 'reads per store', (v) => Number(v), 2_000)
  .option('--smoke', 'tiny sizes: checks that every store runs and reads back in full; times nothing', false)
  .parse()
  .opts<{ users: number; batches: number; reads: number; smoke: boolean }>();
if (opts.smoke) Object.assign(opts, { users: 10, batches: 4, reads: 20 });

const BATCH = 500;
const READ = 100;
const runPrefix = `bench:cluster:${process.pid}_${Date.now()}:`;
const WINDOW = { asOfMs: Date.now(), limit: READ };
const log = progressLog();


const record = (i: number): StoredRecord => benchAction(i, opts.users, WINDOW.asOfMs);

interface StoreRun {
  name: string;
  store: RedisActionStore;
  appendMs: number[];
  readMs: number[];
  /** The servers' whole CPU (INFO cpu, less their idle rates), µs per action appended and per read. */
  cpuPerAction: number;
  cpuPerRead: number;
}

/** Runs `step(store, i)` `n` times through each store of the pair, taking turns in rotating order; latencies into `pick(store)`. */
async function interleaved(pair: readonly StoreRun[], n: number, pick: (s: StoreRun) => number[], step: (s: StoreRun, i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < pair.length; k++) {
      const s = pair[(i + k) % pair.length] as StoreRun;
      const t = performance.now();
      await step(s, i);
      pick(s).push(performance.now() - t);
    }
  }
}

async function main(): Promise<void> {
  log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; starting a three-master cluster`);
  const cluster = await startRedisCluster(3);
  const stores: StoreRun[] = [];
  // The single Redis, then each master: what each server spends, less its idle rate (only this bench calls them).
  const servers = [new Redis('redis://127.0.0.1:6379'), ...cluster.nodes.map((n) => new Redis(`redis://${n}`))];
  const expected = Math.min(READ, Math.floor((opts.batches * BATCH) / opts.users));
  try {
    const serverCpu = await BusyCpu.measure(servers, opts.smoke ? 100 : 1_000);
    // One Redis's CPU, then the masters' together.
    const split = (micros: number[]): [number, number] => [micros[0] as number, micros.slice(1).reduce((a, b) => a + b, 0)];
    for (const layout of REDIS_LAYOUTS) {
      const common = { keyPrefix: `${runPrefix}${layout}:`, retention: DEFAULT_RETENTION, layout };
      const run = (name: string, store: RedisActionStore): StoreRun => ({ name, store, appendMs: [], readMs: [], cpuPerAction: NaN, cpuPerRead: NaN });
      const pair = [
        run(`one Redis, ${layout}`, await RedisActionStore.open({ url: 'redis://127.0.0.1:6379', ...common })),
        run(`cluster of 3, ${layout}`, await RedisActionStore.open({ url: cluster.url, cluster: true, ...common })),
      ];
      stores.push(...pair);
      log(`${layout}: appending ${opts.batches} batches of ${BATCH} through each store`);
      const appended = await serverCpu.during(() =>
        interleaved(pair, opts.batches, (s) => s.appendMs, async (s, b) => {
          await s.store.append(Array.from({ length: BATCH }, (_, i) => record(b * BATCH + i)));
        }),
      );
      log(`${layout}: reading ${opts.reads} sequences of ${READ} through each store`);
      const read = await serverCpu.during(() =>
        interleaved(pair, opts.reads, (s) => s.readMs, async (s, i) => {
          const rows = await s.store.readSequence(`u${i % opts.users}`, WINDOW);
          if (rows.length !== expected) throw new Error(`${s.name}: read ${rows.length} actions, expected ${expected}`);
        }),
      );
      split(appended.micros).forEach((us, i) => ((pair[i] as StoreRun).cpuPerAction = us / (opts.batches * BATCH)));
      split(read.micros).forEach((us, i) => ((pair[i] as StoreRun).cpuPerRead = us / opts.reads));
    }
    if (stores.some((s) => !Number.isFinite(s.cpuPerAction) || !Number.isFinite(s.cpuPerRead))) throw new Error('INFO cpu was not readable on every server');
    const rows = [
      '| store (in process) | append: actions/s (p50 batch) | vs one Redis | read of 100, p50 µs | vs one Redis | Redis CPU µs per action appended | vs one Redis | Redis CPU µs per read | vs one Redis |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ];
    for (const s of stores) {
      const base = stores.find((o) => o.name === s.name.replace(/^cluster of 3/, 'one Redis')) as StoreRun;
      const rate = (BATCH * 1000) / p50(s.appendMs);
      rows.push(
        `| ${s.name} | ${f(rate)} | ${f(rate / ((BATCH * 1000) / p50(base.appendMs)), 2)}× | ${f(p50(s.readMs) * 1000)} | ${f(p50(s.readMs) / p50(base.readMs), 2)}× | ${f(s.cpuPerAction, 1)} | ${f(s.cpuPerAction / base.cpuPerAction, 2)}× | ${f(s.cpuPerRead)} | ${f(s.cpuPerRead / base.cpuPerRead, 2)}× |`,
      );
    }
    rows.push('', `Redis CPU while idle, µs per s: ${serverCpu.idlePerMs.map((r) => f(r * 1000)).join(', ')} (one Redis, then each master; taken out of the figures above, which for the cluster add up its three masters)`);
    process.stdout.write(`${rows.join('\n')}\n`);
    log(`done; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const s of stores) {
      for (let u = 0; u < opts.users; u++) await s.store.deleteUser(`u${u}`);
      await s.store.close();
    }
    // The one Redis outlives the bench: take its layout marks too (the cluster goes whole).
    await servers[0]?.del(...REDIS_LAYOUTS.map((layout) => layoutKey(`${runPrefix}${layout}:`)));
    await Promise.all(servers.map((r) => r.quit()));
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
