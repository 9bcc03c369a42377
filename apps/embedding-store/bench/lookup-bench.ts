// Lookup bench: GetEmbeddings for 1 user + 500 tower vectors over gRPC (service kit
// client, as a unary call and as a message on an open StreamEmbeddings stream, the
// router's way), with the LMDB and the Redis backend in the bench process and
// with LMDB in a server process of its own (as deployed; and again with its vector
// cache off, EMBEDDING_STORE_VECTOR_CACHE_ROWS=0, streamed only), against the
// plain reads of the same 501 keys (a Redis MGET; the LMDB store's read, no service)
// and a bare-gRPC floor (a bare grpc-js server answering a prebuilt response of the
// same size to a bare client: transport and codec only). The in-process LMDB server
// reads through the vector cache as the real one does; its plain read is LMDB's own. The service's overhead is
// what it costs beyond "floor + plain read". Latency p50/p99, sequential calls, paths
// interleaved request by request so machine noise hits every path alike; one process.
// Usage: npx tsx apps/embedding-store/bench/lookup-bench.ts [--requests 1000] [--users 10000] [--items 50000] [--smoke]
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, Server, ServerCredentials } from '@grpc/grpc-js';
import { EmbeddingStoreClient, EmbeddingStoreService, GetEmbeddingsRequest, GetEmbeddingsResponse, serializeGetEmbeddingsResponse, SnapshotState, VectorKind, type EmbeddingsLookup, type EmbeddingsLookupResult } from '@pinrank/proto';
import { callUnary, createClient, entryArgs, freePort, LookupStreamClient, startServer } from '@pinrank/service-kit';
import { Command } from 'commander';
import * as hdr from 'hdr-histogram-js';
import Redis from 'ioredis';
import pino from 'pino';
import { createEmbeddingStore } from '../src/app';
import { EmbeddingStoreRpc } from '../src/client';
import { noItemTower } from '../src/item-tower';
import { towerKey, userKey } from '../src/store/keys';
import { CachedVectorStore } from '../src/store/cached-store';
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

/** Runs every path in turn, each on a request of its own, so machine noise hits all paths alike. */
async function measureInterleaved(paths: Array<[string, Call]>): Promise<Row[]> {
  const histograms = paths.map(() => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 }));
  const warmup = Math.ceil(REQUESTS / 10);
  for (let i = 0; i < warmup + REQUESTS; i++) {
    for (let p = 0; p < paths.length; p++) {
      // Each path its own draw of the same distribution: a server's vector cache must not be
      // warmed for one path by the path before it on the same server.
      const r = request();
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

/** `res`, after {@link check}. */
function checked<T extends { itemIds: string[]; userFound: boolean }>(res: T): T {
  check(res);
  return res;
}

/** An encoded answer (checked not to be empty). */
function encoded(bytes: Buffer): void {
  if (bytes.length === 0) throw new Error('bench: an empty encoded answer');
}

/** The router's way of looking up: each lookup a message on one open StreamEmbeddings stream of `client`. */
function streamedLookups(client: EmbeddingStoreClient): LookupStreamClient<GetEmbeddingsRequest, GetEmbeddingsResponse, EmbeddingsLookup, EmbeddingsLookupResult> {
  return new LookupStreamClient({
    unary: EmbeddingStoreService.getEmbeddings,
    upstream: 'embedding-store',
    open: (md, o) => client.streamEmbeddings(md, o),
    parts: (out: EmbeddingsLookupResult) => ({ requestId: out.requestId, status: out.status, response: out.response }),
  });
}

/**
 * Starts a server over `store`, loads the bench snapshot, and returns its gRPC and in-process paths;
 * the plain read is of `plain` (default `store`): the backend without what the server puts in front of it.
 */
async function serve(
  name: string,
  store: VectorStore,
  files: { userFile: string; itemFile: string },
  stops: Array<() => Promise<void>>,
  plain: VectorStore = store,
): Promise<Array<[string, Call]>> {
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
  // Admin calls (loading the snapshot) go through the tools' client; lookups through the service kit's, as the router makes them.
  const admin = new EmbeddingStoreRpc(`127.0.0.1:${server.port}`, TOKEN);
  const client = createClient(EmbeddingStoreClient, `127.0.0.1:${server.port}`, window > 0 ? { channelOptions: { 'grpc-node.flow_control_window': window } } : {});
  const lookup = client.getEmbeddings.bind(client);
  const streamed = streamedLookups(client);
  stops.push(async () => {
    streamed.close();
    admin.close();
    client.close();
    await server.shutdown();
    await app.snapshots.close();
  });
  await admin.loadSnapshot({ ...files, activate: true });
  const loaded = await app.snapshots.whenLoaded(VERSION);
  if (loaded?.status !== 'ready') throw new Error(`load failed: ${loaded?.error}`);
  const req = (r: { userId: string; itemIds: string[] }) => ({ userId: r.userId, itemIds: r.itemIds, kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: '' });
  const plainRead = async (r: { userId: string; itemIds: string[] }): Promise<void> => {
    const out = new Float32Array((r.itemIds.length + 1) * 64);
    const found = await plain.readRows([userKey(VERSION, r.userId), ...r.itemIds.map((id) => towerKey(VERSION, id))], 64, out);
    if (found.some((f) => !f)) throw new Error('bench data missing from the store');
  };
  return [
    [`gRPC GetEmbeddings, ${name} backend`, async (r) => check(await callUnary(lookup, GetEmbeddingsRequest.fromPartial(req(r)), { timeoutMs: 10_000 }))],
    [`gRPC GetEmbeddings as a message on an open StreamEmbeddings stream, ${name} backend`, async (r) => check(await streamed.call(GetEmbeddingsRequest.fromPartial(req(r)), { timeoutMs: 10_000 }))],
    // The same lookup without the network hop: what the service itself costs.
    [`in-process lookup (no gRPC), ${name} backend`, async (r) => check(await app.lookups.getEmbeddings(req(r)))],
    // The same with the answer encoded: by the generated encoder, and by the single-copy serializer the server registers.
    [`in-process lookup + the answer by the generated encoder, ${name} backend`, async (r) => encoded(EmbeddingStoreService.getEmbeddings.responseSerialize(checked(await app.lookups.getEmbeddings(req(r)))))],
    [`in-process lookup + the answer by the single-copy serializer (as served), ${name} backend`, async (r) => encoded(serializeGetEmbeddingsResponse(checked(await app.lookups.getEmbeddings(req(r)))))],
    [`plain ${name} read of the 501 keys (the store's readRows; no service)`, plainRead],
  ];
}


/**
 * The embedding-store in its own process (the real entry point, LMDB, as it
 * is deployed), the bench snapshot loaded: its unary and streamed lookups.
 * The client and the server then run on separate cores, as the Redis server
 * behind the MGET baseline does.
 */
async function serveProcess(
  dir: string,
  files: { userFile: string; itemFile: string },
  stops: Array<() => Promise<void>>,
  cacheOff = false,
): Promise<Array<[string, Call]>> {
  const address = `127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, entryArgs('apps/embedding-store/src/main.ts'), {
    env: {
      ...process.env,
      EMBEDDING_STORE_ADDR: address,
      EMBEDDING_STORE_METRICS_ADDR: `127.0.0.1:${await freePort()}`,
      EMBEDDING_STORE_LMDB_PATH: join(dir, cacheOff ? 'lmdb-process-uncached' : 'lmdb-process'),
      ...(cacheOff ? { EMBEDDING_STORE_VECTOR_CACHE_ROWS: '0' } : {}),
      PINRANK_ADMIN_TOKENS: TOKEN,
      OTEL_TRACES_EXPORTER: 'none',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const admin = new EmbeddingStoreRpc(address, TOKEN);
  const client = createClient(EmbeddingStoreClient, address);
  const streamed = streamedLookups(client);
  stops.push(async () => {
    streamed.close();
    client.close();
    admin.close();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const until = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
    for (const t0 = Date.now(); !(await ok().catch(() => false)); await new Promise((r) => setTimeout(r, 200))) {
      if (child.exitCode !== null) throw new Error(`the embedding-store process exited (${child.exitCode}) before ${what}`);
      if (Date.now() - t0 > 300_000) throw new Error(`the embedding-store process: no ${what} after 300 s`);
    }
  };
  await until('answering', async () => (await admin.listSnapshots(), true));
  // It builds the ANN index of the snapshot before it is READY (the in-process servers skip it).
  await admin.loadSnapshot({ ...files, activate: true });
  await until(`snapshot ${VERSION} active`, async () => (await admin.listSnapshots()).snapshots.some((s) => s.version === VERSION && s.state === SnapshotState.SNAPSHOT_STATE_ACTIVE));
  const req = (r: { userId: string; itemIds: string[] }) => GetEmbeddingsRequest.fromPartial({ userId: r.userId, itemIds: r.itemIds, kind: VectorKind.VECTOR_KIND_TOWER });
  if (cacheOff) {
    // The same server reading every vector from LMDB (no in-memory copy): streamed only, as the router calls.
    return [
      [
        'gRPC GetEmbeddings as a message on an open StreamEmbeddings stream, server in its own process, EMBEDDING_STORE_VECTOR_CACHE_ROWS=0, LMDB backend',
        async (r) => check(await streamed.call(req(r), { timeoutMs: 10_000 })),
      ],
    ];
  }
  return [
    ['gRPC GetEmbeddings, server in its own process, LMDB backend', async (r) => check(await callUnary(client.getEmbeddings.bind(client), req(r), { timeoutMs: 10_000 }))],
    ['gRPC GetEmbeddings as a message on an open StreamEmbeddings stream, server in its own process, LMDB backend', async (r) => check(await streamed.call(req(r), { timeoutMs: 10_000 }))],
  ];
}

/** A bare grpc-js server answering every GetEmbeddings with one prebuilt response of the bench's size, and a bare client. */
async function bareFloor(stops: Array<() => Promise<void>>): Promise<Call> {
  const itemIds = Array.from({ length: BATCH }, (_, i) => `i${i}`);
  const rows = new Float32Array(BATCH * 64).fill(0.5);
  const response = GetEmbeddingsResponse.fromPartial({
    snapshotVersion: VERSION,
    producerModelVersion: '1',
    userFound: true,
    userVector: Array.from({ length: 64 }, () => 0.5),
    itemIds,
    itemVectors: { dtype: 1, shape: [BATCH, 64], raw: Buffer.from(rows.buffer) },
  });
  const server = new Server();
  server.addService(EmbeddingStoreService, { getEmbeddings: (_call: unknown, cb: (err: null, res: GetEmbeddingsResponse) => void) => cb(null, response) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const window = Number(opts.window);
  // The same HTTP/2 window as the service kit's clients.
  const client = new EmbeddingStoreClient(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc-node.flow_control_window': window > 0 ? window : 8 * 1024 * 1024 });
  stops.push(async () => {
    client.close();
    server.forceShutdown();
  });
  return (r) =>
    new Promise<void>((resolve, reject) =>
      client.getEmbeddings(
        GetEmbeddingsRequest.fromPartial({ userId: r.userId, itemIds: r.itemIds, kind: VectorKind.VECTOR_KIND_TOWER }),
        new Metadata(),
        { deadline: Date.now() + 10_000 },
        (err, res) => (err ? reject(err) : res.itemIds.length === BATCH ? resolve() : reject(new Error('floor: short answer'))),
      ),
    );
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
    const paths = [
      ...(await serveProcess(dir, files, stops)),
      ...(await serveProcess(dir, files, stops, true)),
      // In process as the server runs it: LMDB behind its vector cache (EMBEDDING_STORE_VECTOR_CACHE_ROWS, default 50 000 per key space).
      ...(await serve('LMDB', new CachedVectorStore(lmdb, 50_000), files, stops, lmdb)),
      ...(await serve('Redis', redisStore, files, stops)),
    ];
    paths.push([`bare gRPC floor (bare grpc-js server and client, a prebuilt answer of the same size)`, await bareFloor(stops)]);
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
  const floor = rows.find((r) => r.path.startsWith('bare gRPC floor')) as Row;
  const plain = (backend: string): Row | undefined => rows.find((r) => r.path.startsWith(`plain ${backend} read`)) ?? (backend === 'Redis' ? base : undefined);
  console.log(`GetEmbeddings: 1 user + ${BATCH} items (d=64), ${REQUESTS} sequential calls per path, paths interleaved; snapshot ${USERS} users, ${ITEMS} items`);
  console.log('| path | p50 ms | p99 ms | p50 vs MGET | p99 vs MGET | p50 vs floor + plain read of its backend |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const backend = / (LMDB|Redis) backend$/.exec(r.path)?.[1];
    const read = backend ? plain(backend) : undefined;
    const vsFloor = r.path.startsWith('gRPC') && read ? `${(r.p50 / (floor.p50 + read.p50)).toFixed(2)}×` : '';
    console.log(`| ${r.path} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.p50 / base.p50).toFixed(2)}× | ${(r.p99 / base.p99).toFixed(2)}× | ${vsFloor} |`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
