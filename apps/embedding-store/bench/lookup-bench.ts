// Lookup bench: GetEmbeddings for 1 user + 500 tower vectors over gRPC, with the
// LMDB and the Redis backend, against a plain Redis MGET of the same 501 keys
// (no gRPC, no service). Latency p50/p99, sequential calls, paths interleaved
// request by request so machine noise hits every path alike; one process.
// Usage: npx tsx apps/embedding-store/bench/lookup-bench.ts [--requests 1000] [--users 10000] [--items 50000] [--smoke]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VectorKind } from '@pinrank/proto';
import { startServer } from '@pinrank/service-kit';
import { Command } from 'commander';
import * as hdr from 'hdr-histogram-js';
import Redis from 'ioredis';
import pino from 'pino';
import { createEmbeddingStore } from '../src/app';
import { EmbeddingStoreRpc } from '../src/client';
import { noItemTower } from '../src/item-tower';
import { towerKey, userKey } from '../src/store/keys';
import { LmdbVectorStore } from '../src/store/lmdb-store';
import { RedisVectorStore } from '../src/store/redis-store';
import { type VectorStore } from '../src/store/vector-store';
import { markedVectors, writeSnapshot } from '../src/testing/fixtures';

const opts = new Command()
  .option('--requests <n>', 'measured calls per path (after 10% warm-up)', '1000')
  .option('--users <n>', 'users in the snapshot', '10000')
  .option('--items <n>', 'items in the snapshot', '50000')
  .option('--batch <n>', 'items per call', '500')
  .option('--window <bytes>', 'client HTTP/2 receive window (grpc-node.flow_control_window); 0 = the service kit default', '0')
  .option('--smoke', 'tiny sizes: checks that every path runs and answers in full; times nothing', false)
  .parse()
  .opts<{ requests: string; users: string; items: string; batch: string; window: string; smoke: boolean }>();
if (opts.smoke) Object.assign(opts, { requests: '10', users: '50', items: '500', batch: '20' });
const REQUESTS = Number(opts.requests);
const USERS = Number(opts.users);
const ITEMS = Number(opts.items);
const BATCH = Number(opts.batch);
const TOKEN = 'bench-token';
const VERSION = 'bench1';

let seed = 42;
function randInt(n: number): number {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed % n;
}
function request(): { userId: string; itemIds: string[] } {
  const itemIds = new Set<string>();
  while (itemIds.size < BATCH) itemIds.add(`i${randInt(ITEMS)}`);
  return { userId: `u${randInt(USERS)}`, itemIds: [...itemIds] };
}

interface Row {
  path: string;
  p50: number;
  p99: number;
}

type Call = (r: { userId: string; itemIds: string[] }) => Promise<void>;

/** Runs every path on the same request in turn, so machine noise hits all paths alike. */
async function measureInterleaved(paths: Array<[string, Call]>): Promise<Row[]> {
  const histograms = paths.map(() => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 }));
  const warmup = Math.ceil(REQUESTS / 10);
  for (let i = 0; i < warmup + REQUESTS; i++) {
    const r = request();
    for (let p = 0; p < paths.length; p++) {
      const t = performance.now();
      await (paths[p] as [string, Call])[1](r);
      if (i >= warmup) histograms[p]?.recordValue(Math.round((performance.now() - t) * 1000));
    }
  }
  return paths.map(([path], p) => ({
    path,
    p50: (histograms[p] as hdr.Histogram).getValueAtPercentile(50) / 1000,
    p99: (histograms[p] as hdr.Histogram).getValueAtPercentile(99) / 1000,
  }));
}

function check(res: { itemIds: string[]; userFound: boolean }): void {
  if (res.itemIds.length !== BATCH || !res.userFound) throw new Error('bench data missing from the response');
}

/** Starts a server over `store`, loads the bench snapshot, and returns its gRPC and in-process paths. */
async function serve(name: string, store: VectorStore, files: { userFile: string; itemFile: string }, stops: Array<() => Promise<void>>): Promise<Array<[string, Call]>> {
  const app = await createEmbeddingStore({ store, itemTower: noItemTower, snapshots: { buildIndexOnLoad: false } });
  const server = await startServer({
    name: 'embedding-store-bench',
    address: '127.0.0.1:0',
    services: [app.registration],
    admin: { tokens: [TOKEN] },
    signals: [],
    logger: pino({ level: 'silent' }),
  });
  const window = Number(opts.window);
  const client = new EmbeddingStoreRpc(`127.0.0.1:${server.port}`, TOKEN, window > 0 ? { 'grpc-node.flow_control_window': window } : {});
  stops.push(async () => {
    client.close();
    await server.shutdown();
    await app.snapshots.close();
  });
  await client.loadSnapshot({ ...files, activate: true });
  const loaded = await app.snapshots.whenLoaded(VERSION);
  if (loaded?.status !== 'ready') throw new Error(`load failed: ${loaded?.error}`);
  const req = (r: { userId: string; itemIds: string[] }) => ({ userId: r.userId, itemIds: r.itemIds, kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: '' });
  return [
    [`gRPC GetEmbeddings, ${name} backend`, async (r) => check(await client.getEmbeddings(req(r)))],
    // The same lookup without the network hop: what the service itself costs.
    [`in-process lookup (no gRPC), ${name} backend`, async (r) => check(await app.lookups.getEmbeddings(req(r)))],
  ];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'es-bench-'));
  const keyPrefix = `bench:embedding-store:${process.pid}:`;
  const stops: Array<() => Promise<void>> = [];
  const lmdb = new LmdbVectorStore({ path: join(dir, 'lmdb') });
  const redisStore = new RedisVectorStore({ keyPrefix });
  const redis = new Redis('redis://127.0.0.1:6379');
  let rows: Row[];
  try {
    const files = await writeSnapshot(dir, { version: VERSION, users: markedVectors('u', USERS, 64, 1), items: markedVectors('i', ITEMS, 64, 1, 1e6) });
    const paths = [...(await serve('LMDB', lmdb, files, stops)), ...(await serve('Redis', redisStore, files, stops))];
    // Baseline: what a caller gets from Redis directly, one MGET of the same 501 keys (decoded to floats).
    paths.push([
      'plain Redis MGET client (baseline, no gRPC)',
      async (r) => {
        const keys = [userKey(VERSION, r.userId), ...r.itemIds.map((id) => towerKey(VERSION, id))].map((k) => keyPrefix + k);
        const values = await redis.mgetBuffer(...keys);
        const out = new Float32Array(values.length * 64);
        const bytes = new Uint8Array(out.buffer);
        values.forEach((v, i) => {
          if (!v) throw new Error('bench data missing from Redis');
          bytes.set(v, i * 256);
        });
      },
    ]);
    rows = await measureInterleaved(paths);
  } finally {
    for (const stop of stops) await stop();
    await redis.quit();
    await redisStore.removePrefix('');
    for (const [name] of await redisStore.listMeta('')) await redisStore.deleteMeta(name);
    await redisStore.close();
    await lmdb.close();
    await rm(dir, { recursive: true, force: true });
  }
  const base = rows[rows.length - 1] as Row;
  console.log(`GetEmbeddings: 1 user + ${BATCH} items (d=64), ${REQUESTS} sequential calls per path, paths interleaved; snapshot ${USERS} users, ${ITEMS} items`);
  console.log('| path | p50 ms | p99 ms | p50 vs MGET | p99 vs MGET |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.path} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.p50 / base.p50).toFixed(2)}× | ${(r.p99 / base.p99).toFixed(2)}× |`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
