// The Redis backend's connection: one Redis, or a Redis Cluster (a user's keys share one
// hash tag, so each user's scripts and transactions stay on one node). What differs between
// the two is kept here: how to connect, which nodes to SCAN or ask for their clients, how a
// batch of per-user commands goes out, and how to open a second connection.
// The module ships no types. They are referenced from here so that every program compiling this file
// has them: an app's own tsconfig (its `nx build` type-check) includes only the app's sources and reaches
// this library by path, so it would not see the declaration file otherwise.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- an ambient module declaration cannot be imported
/// <reference path="./cluster-key-slot.d.ts" />
import { readFileSync, statSync } from 'node:fs';
import calculateSlot from 'cluster-key-slot';
import { checkClientCertificate, readSecretLine, tlsMode, type DataClientSecurity } from '@pinrank/service-kit';
import Redis, { Cluster, type ChainableCommander, type RedisOptions } from 'ioredis';

/**
 * How long a connection waits for any reply to the commands it sent before it counts as lost,
 * ms (ioredis `socketTimeout`): a Redis gone silent without closing the connection (a network
 * partition, a host that vanished) fails its commands and is reconnected to, instead of
 * holding every command, and the memory behind it, until TCP gives up many minutes later.
 * Longer than any single command of ours takes (bounded SCANs, UNLINK, short scripts).
 */
export const SILENT_SERVER_MS = 5000;

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
  /**
   * Extra ioredis options (timeouts, TLS); with a cluster, those of each node's connection.
   * They override the defaults here, `socketTimeout` ({@link SILENT_SERVER_MS}) among them.
   */
  redis?: RedisOptions;
  /** The setting that turns `cluster` on, named when a URL list comes without it. Default `the cluster option`. */
  clusterSetting?: string;
  /**
   * TLS with a private CA and the client's certificate (a Redis with `tls-auth-clients`), and
   * an ACL user with its password file; both apply to every node. TLS needs `rediss://` URLs.
   * The TLS files are read again for each new connection when they changed (a renewed
   * certificate is used from the next connection on); the password file is read here.
   */
  security?: DataClientSecurity;
  /** Where the client's outages go (see {@link logOutages}); without one they are not reported. */
  logger?: OutageLogger;
}

/** The two levels {@link logOutages} writes at (a pino logger has them). */
export interface OutageLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

/**
 * Reports each outage of `client` once: its first error (warn) and its return (info). ioredis
 * retries a lost connection for as long as it takes and emits an error at every failed try;
 * with no listener it prints each one with a stack to stderr, dozens a minute per connection.
 */
export function logOutages(client: RedisClient, connection: string, logger: OutageLogger | undefined): void {
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger?.warn({ connection, err: err.message }, 'redis: connection lost; reconnecting');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger?.info({ connection }, 'redis: reconnected');
  });
}

/**
 * TLS material that follows its files: ioredis copies the `tls` options into each new
 * connection, so these getters hand every connection (a reconnect, a cluster node) what the
 * files hold then, re-read when their modification time or size changed. A renewed
 * certificate is thus used from the next connection on; connections already open keep theirs
 * (TLS checks certificates at the handshake only). A file that cannot be read later keeps its
 * last good content; one that cannot be read now throws TypeError naming it.
 */
function reloadingTls(files: NonNullable<DataClientSecurity['tls']>): Record<string, Buffer> {
  const held = new Map<string, { mtimeMs: number; size: number; data: Buffer }>();
  const read = (what: string, file: string): Buffer => {
    const last = held.get(file);
    try {
      const st = statSync(file);
      if (last && last.mtimeMs === st.mtimeMs && last.size === st.size) return last.data;
      const data = readFileSync(file);
      held.set(file, { mtimeMs: st.mtimeMs, size: st.size, data });
      return data;
    } catch (err) {
      if (last) return last.data;
      throw new TypeError(`redis: cannot read the ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const tls: Record<string, Buffer> = {};
  const entries: Array<[string, string, string | undefined]> = [
    ['ca', 'CA file', files.caFile],
    ['cert', 'certificate', files.certFile],
    ['key', 'key', files.keyFile],
  ];
  for (const [option, what, file] of entries) {
    if (!file) continue;
    read(what, file); // now, so a missing file fails where the client is created
    Object.defineProperty(tls, option, { enumerable: true, get: () => read(what, file) });
  }
  return tls;
}

/** ioredis options for `security`: TLS material and the ACL user. Throws TypeError on what cannot work. */
function securityOptions(security: DataClientSecurity | undefined, urls: readonly string[]): RedisOptions {
  if (!security) return {};
  const out: RedisOptions = {};
  if (security.tls) {
    checkClientCertificate('redis', security.tls);
    const plain = urls.find((u) => !u.startsWith('rediss://'));
    if (plain !== undefined) throw new TypeError(`redis.url: "${plain}" is not a rediss:// URL, and TLS is on: use rediss://`);
    out.tls = reloadingTls(security.tls);
  }
  if (Boolean(security.user) !== Boolean(security.passwordFile)) throw new TypeError('redis: a user needs a password file, and a password file a user');
  if (security.user && security.passwordFile) {
    out.username = security.user;
    try {
      out.password = readSecretLine('password file', security.passwordFile);
    } catch (err) {
      throw new TypeError(`redis: ${(err as Error).message}`);
    }
  }
  return out;
}

/** A client for the options, not connected yet (`connect()` it). Throws TypeError on a URL it cannot use (not `redis://` or `rediss://`). */
export function connectRedis(options: RedisConnectionOptions): RedisClient {
  const urls = options.url.split(',').map((u) => u.trim());
  const secure = securityOptions(options.security, urls);
  const base: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 2, socketTimeout: SILENT_SERVER_MS, connectionName: options.connectionName, ...options.redis, ...secure };
  if (!options.cluster) {
    if (urls.length > 1) throw new TypeError(`redis.url: several URLs ("${options.url}") name a cluster's seed nodes; set ${options.clusterSetting ?? 'the cluster option'}`);
    seedOf(options.url); // refuses what is not a redis:// or rediss:// URL, as for a cluster's seeds
    const client = new Redis(options.url, base);
    logOutages(client, options.connectionName, options.logger);
    return client;
  }
  const seeds = urls.map((u) => seedOf(u));
  const auth = seeds.find((s) => s.username || s.password);
  const nodeOptions: RedisOptions = {
    ...base,
    ...(auth?.username ? { username: auth.username } : {}),
    ...(auth?.password ? { password: auth.password } : {}),
    ...(seeds.some((s) => s.tls) ? { tls: {} } : {}),
    ...options.redis,
    ...secure,
  };
  // No auto-pipelining: it holds each command back a tick to batch it, which a lone read pays
  // for (reads of 100 actions 1.16-1.24× one Redis's with it, 1.02-1.19× without; npm run bench feature-server-cluster).
  const cluster = new Cluster(
    seeds.map(({ host, port }) => ({ host, port })),
    { lazyConnect: true, redisOptions: nodeOptions },
  );
  logOutages(cluster, options.connectionName, options.logger);
  return cluster;
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

/** What a connection presents, for a message: never a secret. */
export function describeRedisSecurity(security: DataClientSecurity | undefined): string {
  return `TLS ${tlsMode(security)}, user ${security?.user ?? 'from the URL or default'}`;
}

/**
 * Runs `contact` (the first command or the connection itself) on `client`; when it fails, the
 * error names the URL, what was presented and why: ioredis reports the cause (a refused
 * certificate, WRONGPASS) on its error event, while the command itself only says that the
 * connection closed or ran out of retries.
 */
export async function firstContact<T>(client: RedisClient, options: Pick<RedisConnectionOptions, 'url' | 'security'>, contact: () => Promise<T>): Promise<T> {
  const reasons: string[] = [];
  const onError = (err: Error): void => void (reasons.includes(err.message) || reasons.push(err.message));
  client.on('error', onError);
  try {
    return await contact();
  } catch (err) {
    // OpenSSL's messages end with a newline: one line per reason.
    let cause = [...reasons, (err as Error).message].map((m) => m.trim().replace(/\s*\n\s*/g, ' ')).join('; ');
    if (/ECONNRESET|socket hang up|alert certificate required/.test(cause)) {
      cause += options.security?.tls
        ? ' (a TLS server resets a client whose certificate it refuses: none presented, or not signed by a CA it trusts)'
        : ' (a TLS-only server resets a plaintext client: use a rediss:// URL)';
    }
    throw new Error(`redis: cannot connect to ${options.url} (${describeRedisSecurity(options.security)}): ${cause}`, { cause: err });
  } finally {
    client.off('error', onError);
  }
}

/** Connects `client` through {@link firstContact}; on failure it is disconnected, so no client is left retrying. */
export async function connectChecked(client: RedisClient, options: Pick<RedisConnectionOptions, 'url' | 'security'>): Promise<void> {
  try {
    await firstContact(client, options, () => client.connect());
  } catch (err) {
    client.disconnect();
    throw err;
  }
}

/** The nodes that hold keys: the one Redis, or the cluster's masters. Throws when a cluster knows none yet. */
export function keyNodes(client: RedisClient): Redis[] {
  if (!(client instanceof Cluster)) return [client];
  const masters = client.nodes('master');
  if (masters.length === 0) throw new Error('redis: the cluster has no master nodes known yet');
  return masters;
}

/** A second client to the same Redis or cluster, under another client name. */
export function duplicateNamed(client: RedisClient, connectionName: string, logger?: OutageLogger): RedisClient {
  const copy = client instanceof Cluster ? client.duplicate([], { redisOptions: { ...client.options.redisOptions, connectionName } }) : client.duplicate({ connectionName });
  logOutages(copy, connectionName, logger);
  return copy;
}

/** Replies a cluster node gives for a key it does not serve (now): the command did not run, and can be sent again. */
const REROUTE = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * Runs `count` commands (`call` issues the i-th on the client it is given; `keyOf` names its
 * first key) and returns their replies in order, throwing the first error. On one Redis they
 * go out as one pipeline; on a cluster as one pipeline per node, grouped by the node that
 * serves each key's slot. A command a node refuses because its slot has moved (resharding,
 * failover) is sent again on its own, through the cluster client, which follows the redirect.
 */
export async function inBatch<C extends RedisClient, T>(client: C, count: number, keyOf: (i: number) => string, call: (on: C, i: number) => unknown): Promise<T[]> {
  if (!(client instanceof Cluster)) return pipelined<T>(client.pipeline(), Array.from({ length: count }, (_, i) => i), (p, i) => call(p as unknown as C, i));
  const byNode = new Map<string, number[]>();
  for (let i = 0; i < count; i++) {
    const node = client.slots[calculateSlot(keyOf(i))]?.[0] ?? '';
    const group = byNode.get(node);
    if (group) group.push(i);
    else byNode.set(node, [i]);
  }
  const out = new Array<T>(count);
  await Promise.all(
    [...byNode.values()].map(async (group) => {
      let replies: Array<T | Error>;
      try {
        replies = await pipelined<T | Error>(client.pipeline(), group, (p, i) => call(p as unknown as C, i), (err) => (REROUTE.test(err.message) ? err : undefined));
      } catch (err) {
        // Refused before anything was sent: the client's own grouping of slots disagrees with the
        // map read above (it changed meanwhile). Each on its own. (A command that ran must not run
        // twice, an append would then report its actions as duplicates: redirects are kept above.)
        if (!(err instanceof Error) || !err.message.includes('same slots allocation group')) throw err;
        replies = group.map(() => err);
      }
      for (const [j, reply] of replies.entries()) {
        const i = group[j] as number;
        out[i] = reply instanceof Error ? ((await call(client, i)) as T) : reply;
      }
    }),
  );
  return out;
}

/**
 * Issues the commands `indices` on `pipeline`, runs it, and returns the replies in order. An
 * error reply throws, unless `keep` returns it to be kept in its place.
 */
async function pipelined<T>(pipeline: ChainableCommander, indices: readonly number[], call: (on: ChainableCommander, i: number) => unknown, keep?: (err: Error) => Error | undefined): Promise<T[]> {
  for (const i of indices) call(pipeline, i);
  const results = (await pipeline.exec()) ?? [];
  if (results.length !== indices.length) throw new Error(`redis: ${results.length} pipeline replies for ${indices.length} commands`);
  return results.map(([err, value]) => {
    if (err) {
      const kept = keep?.(err);
      if (kept) return kept as T;
      throw err;
    }
    return value as T;
  });
}
