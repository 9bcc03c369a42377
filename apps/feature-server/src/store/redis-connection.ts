// The Redis backend's connection: one Redis, or a Redis Cluster (a user's keys share one
// hash tag, so each user's scripts and transactions stay on one node). What differs between
// the two is kept here: how to connect, which nodes to SCAN or ask for their clients, how a
// batch of per-user commands goes out, and how to open a second connection.
import Redis, { Cluster, type RedisOptions } from 'ioredis';

/** One Redis or a cluster. */
export type RedisClient = Redis | Cluster;

/** Options of {@link connectRedis}. */
export interface RedisConnectionOptions {
  /** `redis://` (or `rediss://`) URL; with `cluster`, one or more seed nodes' URLs, comma-separated. */
  url: string;
  /** Connect to a Redis Cluster through the seed nodes in `url`. */
  cluster?: boolean;
  /** Client name of every connection (CLIENT SETNAME). */
  connectionName: string;
  /** Extra ioredis options (timeouts, TLS); with a cluster, those of each node's connection. */
  redis?: RedisOptions;
}

/** A client for the options, not connected yet (`connect()` it). Throws TypeError on a URL it cannot use. */
export function connectRedis(options: RedisConnectionOptions): RedisClient {
  const urls = options.url.split(',').map((u) => u.trim());
  const base: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 2, connectionName: options.connectionName, ...options.redis };
  if (!options.cluster) {
    if (urls.length > 1) throw new TypeError(`redis.url: several URLs ("${options.url}") name a cluster's seed nodes; set the cluster option (FEATURE_SERVER_REDIS_CLUSTER=true)`);
    return new Redis(options.url, base);
  }
  const seeds = urls.map((u) => seedOf(u));
  const auth = seeds.find((s) => s.username || s.password);
  const nodeOptions: RedisOptions = {
    ...base,
    ...(auth?.username ? { username: auth.username } : {}),
    ...(auth?.password ? { password: auth.password } : {}),
    ...(seeds.some((s) => s.tls) ? { tls: {} } : {}),
    ...options.redis,
  };
  // No auto-pipelining: it holds each command back a tick to batch it, which a lone read pays
  // for (reads of 100 actions 1.16-1.24× one Redis's with it, 1.01-1.16× without; npm run bench feature-server-cluster).
  return new Cluster(
    seeds.map(({ host, port }) => ({ host, port })),
    { lazyConnect: true, redisOptions: nodeOptions },
  );
}

function seedOf(url: string): { host: string; port: number; username: string; password: string; tls: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`redis.url: "${url}" is not a URL (redis://host:port)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new TypeError(`redis.url: "${url}" must start with redis:// or rediss://`);
  if (!u.hostname) throw new TypeError(`redis.url: "${url}" names no host`);
  return { host: u.hostname, port: Number(u.port || 6379), username: decodeURIComponent(u.username), password: decodeURIComponent(u.password), tls: u.protocol === 'rediss:' };
}

/** The nodes that hold keys: the one Redis, or the cluster's masters. Throws when a cluster knows none yet. */
export function keyNodes(client: RedisClient): Redis[] {
  if (!(client instanceof Cluster)) return [client];
  const masters = client.nodes('master');
  if (masters.length === 0) throw new Error('redis: the cluster has no master nodes known yet');
  return masters;
}

/** A second client to the same Redis or cluster, under another client name. */
export function duplicateNamed(client: RedisClient, connectionName: string): RedisClient {
  if (client instanceof Cluster) return client.duplicate([], { redisOptions: { ...client.options.redisOptions, connectionName } });
  return client.duplicate({ connectionName });
}

/**
 * Runs `count` commands (`call` issues the i-th on the client it is given) and returns their
 * replies in order, throwing the first error. On one Redis they go out as one pipeline; on a
 * cluster as separate commands, each to the node of its user.
 */
export async function inBatch<C extends RedisClient, T>(client: C, count: number, call: (on: C, i: number) => unknown): Promise<T[]> {
  if (client instanceof Cluster) return Promise.all(Array.from({ length: count }, (_, i) => call(client, i) as Promise<T>));
  const pipeline = client.pipeline();
  for (let i = 0; i < count; i++) call(pipeline as unknown as C, i);
  const results = (await pipeline.exec()) ?? [];
  if (results.length !== count) throw new Error(`redis: ${results.length} pipeline replies for ${count} commands`);
  return results.map(([err, value]) => {
    if (err) throw err;
    return value as T;
  });
}
