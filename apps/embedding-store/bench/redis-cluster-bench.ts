// Benchmark of the embedding-store's Redis backend on a Redis Cluster against one Redis: the
// same store code, in the bench's process, reading the vectors of one request (1 user + 500
// items) through each in turn (interleaved, rotating order). One Redis answers with one MGET;
// a cluster needs one GET per key, pipelined per node, because an MGET's keys must share a slot.
// The cluster is three masters on loopback started for the run; the single Redis is the
// loopback one on 6379. On one machine a cluster adds no CPU: this measures what the cluster
// costs per lookup, not how far it scales. Redis's own time per key (INFO commandstats, summed
// over the cluster's masters) sets the pipelined GETs against the MGET on the server side, and
// the server processes' whole CPU per lookup (INFO cpu: also the socket reads and writes of each
// command and reply, less what each server spends idle at the same time) sizes the shards.
//
//   npx tsx apps/embedding-store/bench/redis-cluster-bench.ts [--items 5000] [--batch 501] [--reads 1000] [--clients 1] [--smoke]
import { loadavg } from 'node:os';
import { BusyCpu, commandTimes, spentOn, type CommandTimes } from '@pinrank/redis';
import { startRedisCluster } from '@pinrank/redis/testing';
import { Command } from 'commander';
import Redis from 'ioredis';
import { RedisVectorStore } from '../src/store/redis-store';

const opts = new Command()
  .option('--items <n>', 'item vectors stored', (v) => Number(v), 5_000)
  .option('--batch <n>', 'keys per lookup (1 user + items)', (v) => Number(v), 501)
  .option('--reads <n>', 'lookups per store', (v) => Number(v), 1_000)
  .option('--clients <n>', 'lookups in flight at once, each on its own connections (a store per client)', (v) => Number(v), 1)
  .option('--smoke', 'tiny sizes: checks that both stores run and find every vector; times nothing', false)
  .parse()
  .opts<{ items: number; batch: number; reads: number; clients: number; smoke: boolean }>();
if (opts.smoke) Object.assign(opts, { items: 200, batch: 51, reads: 10, clients: Math.min(opts.clients, 2) });
if (!Number.isInteger(opts.clients) || opts.clients < 1 || opts.clients > 256) throw new Error(`--clients: a whole number from 1 to 256, got ${opts.clients}`);

const DIM = 64;
const keyPrefix = `bench:es-cluster:${process.pid}_${Date.now()}:`;
const started = performance.now();
const log = (line: string): void => void process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${line}\n`);
const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const p50 = (samples: number[]): number => [...samples].sort((a, b) => a - b)[Math.floor((samples.length - 1) / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; starting a three-master cluster`);
  const cluster = await startRedisCluster(3);
  // One store of each kind per client: each client's lookups go on connections of their own.
  const clients = Array.from({ length: opts.clients }, () => [new RedisVectorStore({ keyPrefix }), new RedisVectorStore({ url: cluster.url, cluster: true, keyPrefix })]);
  const stores = [
    { name: 'one Redis (one MGET)', store: clients[0]?.[0] as RedisVectorStore, ms: [] as number[] },
    { name: 'cluster of 3 (GETs pipelined per node)', store: clients[0]?.[1] as RedisVectorStore, ms: [] as number[] },
  ];
  try {
    const entries = Array.from({ length: opts.items }, (_, i) => [`i:${i}`, new Float32Array(DIM).map((_, j) => (i + j) / 1000)] as const);
    log(`writing ${opts.items} vectors of ${DIM} floats into each`);
    for (const s of stores) await s.store.writeVectors(entries);
    const outs = clients.map(() => new Float32Array(opts.batch * DIM));
    // Redis's command time, per server: the single Redis and each master of the cluster.
    const servers = [new Redis('redis://127.0.0.1:6379'), ...cluster.nodes.map((n) => new Redis(`redis://${n}`))];
    const snapshot = (): Promise<CommandTimes[]> => Promise.all(servers.map((r) => commandTimes(r)));
    // What each server spends while nothing calls it (its timers) is taken out of the lookups' CPU.
    const serverCpu = await BusyCpu.measure(servers, opts.smoke ? 100 : 1_000);
    const before = await snapshot();
    log(`${opts.reads} lookups of ${opts.batch} keys through each, ${opts.clients} in flight`);
    let next = 0;
    const { micros: busy, ms: runMs } = await serverCpu.during(() =>
      Promise.all(
        clients.map(async (own, c) => {
          while (next < opts.reads) {
            const r = next++;
            const keys = Array.from({ length: opts.batch }, (_, k) => `i:${(r * 7919 + k * 104_729) % opts.items}`);
            for (let k = 0; k < stores.length; k++) {
              const kind = (r + k) % stores.length;
              const s = stores[kind] as (typeof stores)[number];
              const t = performance.now();
              const found = await (own[kind] as RedisVectorStore).readRows(keys, DIM, outs[c] as Float32Array);
              s.ms.push(performance.now() - t);
              if (found.some((x) => !x)) throw new Error(`${s.name}: a stored vector was not found`);
            }
          }
        }),
      ),
    );
    const after = await snapshot();
    await Promise.all(servers.map((r) => r.quit()));
    const cpuPerLookup = [busy[0] as number, busy.slice(1).reduce((a, b) => a + b, 0)].map((us) => us / opts.reads);
    const keysRead = opts.reads * opts.batch;
    const single = spentOn(before[0] as CommandTimes, after[0] as CommandTimes, ['mget']);
    const nodes = before.slice(1).map((b, i) => spentOn(b, after[i + 1] as CommandTimes, ['get']));
    const perKey = [single.usec / keysRead, nodes.reduce((a, n) => a + n.usec, 0) / keysRead];
    const base = stores[0] as (typeof stores)[number];
    const ratio = (a: number[], i: number): string => `${f((a[i] as number) / (a[0] as number), 2)}×`;
    const rows = [
      '| store (in process) | lookup p50 µs | vs one Redis | Redis command µs per key | vs one Redis | Redis CPU µs per lookup | per key | vs one Redis |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
    ];
    stores.forEach((s, i) => {
      const c = cpuPerLookup[i] as number;
      rows.push(`| ${s.name} | ${f(p50(s.ms) * 1000)} | ${f(p50(s.ms) / p50(base.ms), 2)}× | ${f(perKey[i] as number, 3)} | ${ratio(perKey, i)} | ${f(c)} | ${f(c / opts.batch, 2)} | ${ratio(cpuPerLookup, i)} |`);
    });
    rows.push('', `GETs per master: ${nodes.map((n) => f(n.calls)).join(', ')} (${f(keysRead)} keys read through each store; ${opts.clients} lookup${opts.clients === 1 ? '' : 's'} in flight, each client on connections of its own)`);
    rows.push(`Redis CPU while idle, µs per s: ${serverCpu.idlePerMs.map((r) => f(r * 1000)).join(', ')} (one Redis, then each master; taken out of the CPU per lookup over the ${f(runMs / 1000, 1)} s of lookups)`);
    if (cpuPerLookup.some((c) => !Number.isFinite(c))) throw new Error('INFO cpu was not readable on every server');
    process.stdout.write(`${rows.join('\n')}\n`);
    log(`done; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const s of stores) await s.store.removePrefix('');
    for (const own of clients) for (const store of own) await store.close();
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
