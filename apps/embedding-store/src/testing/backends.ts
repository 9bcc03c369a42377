import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisCluster, type RedisCluster } from '@pinrank/redis/testing';
import { CachedVectorStore } from '../store/cached-store';
import { LmdbVectorStore } from '../store/lmdb-store';
import { RedisVectorStore } from '../store/redis-store';
import { type VectorStore } from '../store/vector-store';

/** A store for one test, and how to open another handle on the same data and remove it all. */
export interface TestStore {
  /** The store. */
  store: VectorStore;
  /** Opens a second handle on the same data (a restart or another replica). */
  reopen: () => VectorStore;
  /** Closes the store and deletes its data. */
  cleanup: () => Promise<void>;
}

/** LMDB in a temporary folder; with `cacheRows`, behind the in-memory vector copy the server puts in front of it. */
async function lmdbStore(chunk: number, cacheRows?: number): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'es-lmdb-'));
  const lmdb = new LmdbVectorStore({ path: dir, writeChunk: chunk });
  const store = cacheRows ? new CachedVectorStore(lmdb, cacheRows) : lmdb;
  return {
    store,
    // LMDB allows one environment handle per process; a restart reuses it.
    reopen: () => store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The loopback Redis, or (with `cluster`) a cluster on loopback started once per test file. */
async function redisStore(chunk: number, cluster: boolean): Promise<TestStore> {
  const keyPrefix = `test:embedding-store:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2)}:`;
  const at = cluster ? { url: (await sharedCluster()).url, cluster: true } : {};
  const store = new RedisVectorStore({ keyPrefix, chunk, ...at });
  const others: VectorStore[] = [];
  return {
    store,
    reopen: () => {
      const other = new RedisVectorStore({ keyPrefix, chunk, ...at });
      others.push(other);
      return other;
    },
    cleanup: async () => {
      await store.removePrefix('');
      for (const [name] of await store.listMeta('')) await store.deleteMeta(name);
      await Promise.all([store, ...others].map((s) => s.close()));
    },
  };
}

let cluster: Promise<RedisCluster> | undefined;
function sharedCluster(): Promise<RedisCluster> {
  cluster ??= startRedisCluster(3);
  return cluster;
}
// Imported by a test file: its cluster, if a test started one, stops when the file's tests are done.
if (typeof afterAll === 'function') {
  afterAll(async () => {
    if (cluster) await (await cluster).stop();
  });
}

/**
 * The two real backends (Redis also as a three-master cluster), and LMDB behind the server's
 * vector cache (its default), for `describe.each`; `chunk` sets the batch sizes (small values
 * exercise batching).
 */
export const TEST_BACKENDS: Array<{ name: 'lmdb' | 'lmdb+cache' | 'redis' | 'redis-cluster'; make: (chunk?: number) => Promise<TestStore> }> = [
  { name: 'lmdb', make: (chunk = 1000) => lmdbStore(chunk) },
  // A small cache, so that reads also overflow and evict.
  { name: 'lmdb+cache', make: (chunk = 1000) => lmdbStore(chunk, 64) },
  { name: 'redis', make: (chunk = 1000) => redisStore(chunk, false) },
  { name: 'redis-cluster', make: (chunk = 1000) => redisStore(chunk, true) },
];
