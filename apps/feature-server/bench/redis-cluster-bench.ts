// Benchmark of the Redis backend on a Redis Cluster against one Redis: the same store code,
// in the bench's process, appending and reading through each in turn (interleaved, rotating
// order), for both layouts. The cluster is three masters on loopback started for the run
// (src/testing/redis-cluster.ts); the single Redis is the loopback one on 6379. On one
// machine the cluster adds no CPU, so this measures what the cluster client costs per call
// (slot routing, per-node batching), not how far a cluster scales.
//
//   npx tsx apps/feature-server/bench/redis-cluster-bench.ts [--users 200] [--batches 40] [--reads 2000] [--smoke]
import { loadavg } from 'node:os';
import { Command } from 'commander';
import { DEFAULT_RETENTION } from '../src/app';
import { RedisActionStore, REDIS_LAYOUTS } from '../src/store/redis-action-store';
import { type StoredRecord } from '../src/store/stored-record';
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

async function main(): Promise<void> {
  log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; starting a three-master cluster`);
  const cluster = await startRedisCluster(3);
  const stores: Array<{ name: string; store: RedisActionStore; appendMs: number[]; readMs: number[] }> = [];
  try {
    for (const layout of REDIS_LAYOUTS) {
      const common = { keyPrefix: `${runPrefix}${layout}:`, retention: DEFAULT_RETENTION, layout };
      stores.push({ name: `one Redis, ${layout}`, store: await RedisActionStore.open({ url: 'redis://127.0.0.1:6379', ...common }), appendMs: [], readMs: [] });
      stores.push({ name: `cluster of 3, ${layout}`, store: await RedisActionStore.open({ url: cluster.url, cluster: true, ...common }), appendMs: [], readMs: [] });
    }
    log(`appending ${opts.batches} batches of ${BATCH} through each store`);
    for (let b = 0; b < opts.batches; b++) {
      const batch = Array.from({ length: BATCH }, (_, i) => record(b * BATCH + i));
      for (let k = 0; k < stores.length; k++) {
        const s = stores[(b + k) % stores.length] as (typeof stores)[number];
        const t = performance.now();
        await s.store.append(batch);
        s.appendMs.push(performance.now() - t);
      }
    }
    log(`reading ${opts.reads} sequences of ${READ} through each store`);
    for (let i = 0; i < opts.reads; i++) {
      for (let k = 0; k < stores.length; k++) {
        const s = stores[(i + k) % stores.length] as (typeof stores)[number];
        const t = performance.now();
        const rows = await s.store.readSequence(`u${i % opts.users}`, WINDOW);
        s.readMs.push(performance.now() - t);
        const expected = Math.min(READ, Math.floor((opts.batches * BATCH) / opts.users));
        if (rows.length !== expected) throw new Error(`${s.name}: read ${rows.length} actions, expected ${expected}`);
      }
    }
    const rows = ['| store (in process) | append: actions/s (p50 batch) | vs one Redis | read of 100, p50 µs | vs one Redis |', '|---|---:|---:|---:|---:|'];
    for (const s of stores) {
      const base = stores.find((o) => o.name === s.name.replace(/^cluster of 3/, 'one Redis')) as (typeof stores)[number];
      const rate = (BATCH * 1000) / p50(s.appendMs);
      rows.push(`| ${s.name} | ${f(rate)} | ${f(rate / ((BATCH * 1000) / p50(base.appendMs)), 2)}× | ${f(p50(s.readMs) * 1000)} | ${f(p50(s.readMs) / p50(base.readMs), 2)}× |`);
    }
    process.stdout.write(`${rows.join('\n')}\n`);
    log(`done; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const s of stores) {
      for (let u = 0; u < opts.users; u++) await s.store.deleteUser(`u${u}`);
      await s.store.close();
    }
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
