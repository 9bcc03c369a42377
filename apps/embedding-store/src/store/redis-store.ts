import { type DataClientSecurity } from '@pinrank/service-kit';
import { connectRedis, firstContact, inBatch, keyNodes, type OutageLogger, type RedisClient } from '@pinrank/redis';
import { checkStoredSize, vectorBytes, type VectorStore } from './vector-store';

/** Options of {@link RedisVectorStore}. */
export interface RedisStoreOptions {
  /** URL of the primary (all writes go here). Default `redis://127.0.0.1:6379`. With `cluster`, seed nodes' URLs, comma-separated. */
  url?: string;
  /** URLs of read replicas, used round-robin for vector reads. Default: none (reads go to the primary). Not with `cluster`. */
  readUrls?: string[];
  /**
   * A Redis Cluster: every key on the node serving its slot. A batch goes out as one pipeline
   * per node of single-key commands (a multi-key MGET or UNLINK needs all its keys in one slot,
   * and an item's keys spread over all of them). Default false.
   */
  cluster?: boolean;
  /** Prefix of every key this store touches, so several stores can share one Redis. Default `pinrank:es:`. */
  keyPrefix?: string;
  /** Keys per MGET / pipeline / SCAN page. Default 1000. */
  chunk?: number;
  /** TLS (private CA, client certificate) and ACL user of every connection, primary and replicas (`connectRedis`). Default: none. */
  security?: DataClientSecurity;
  /** Where the connections' outages are reported, once each (`logOutages`). Default: not reported. */
  logger?: OutageLogger;
}

type Filled = Required<Omit<RedisStoreOptions, 'security' | 'logger'>> & Pick<RedisStoreOptions, 'security' | 'logger'>;

function withDefaults(options: RedisStoreOptions): Filled {
  const filled: Filled = {
    url: options.url ?? 'redis://127.0.0.1:6379',
    readUrls: options.readUrls ?? [],
    cluster: options.cluster ?? false,
    keyPrefix: options.keyPrefix ?? 'pinrank:es:',
    chunk: options.chunk ?? 1000,
    ...(options.security ? { security: options.security } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  };
  if (!filled.keyPrefix) throw new TypeError('RedisVectorStore: keyPrefix must not be empty (it isolates this store in a shared Redis)');
  if (!Number.isInteger(filled.chunk) || filled.chunk < 1) throw new TypeError('RedisVectorStore: chunk must be an integer >= 1');
  if (filled.cluster && filled.readUrls.length > 0) throw new TypeError('RedisVectorStore: read replica URLs (EMBEDDING_STORE_REDIS_READ_URLS) do not apply to a cluster; its nodes are found through the seed URLs');
  return filled;
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * The scale-out backend: vectors as raw float32 strings in Redis, shared by
 * every replica of the service. Writes go to the primary; reads are spread
 * over the configured read replicas (or the primary).
 */
export class RedisVectorStore implements VectorStore {
  readonly backend = 'redis' as const;
  private readonly options: Filled;
  private readonly primary: RedisClient;
  private readonly readers: RedisClient[];
  private nextReader = 0;

  constructor(options: RedisStoreOptions = {}) {
    this.options = withDefaults(options);
    const { url, cluster, readUrls, security, logger } = this.options;
    const secured = { ...(security ? { security } : {}), ...(logger ? { logger } : {}) };
    const clusterSetting = 'EMBEDDING_STORE_REDIS_CLUSTER=true';
    // Read replicas first, unconnected until their first read: a URL refused here leaves no connection open.
    const replicas = readUrls.map((u) => connectRedis({ url: u, connectionName: 'pinrank-es-read', clusterSetting, redis: { enableAutoPipelining: true }, ...secured }));
    this.primary = connectRedis({
      url,
      cluster,
      connectionName: 'pinrank-es',
      clusterSetting,
      ...secured,
      // One Redis: connected at once, and concurrent MGET pages batched (a cluster batches per node itself).
      ...(cluster ? {} : { redis: { lazyConnect: false, enableAutoPipelining: true } }),
    });
    this.readers = replicas.length > 0 ? replicas : [this.primary];
  }

  /**
   * Resolves once the primary answers a PING; rejects with the reason when it cannot (a refused
   * certificate, a wrong password, nobody listening), after the client's own retries. The
   * server calls it before it starts serving.
   */
  async checkConnection(): Promise<void> {
    const { url, security } = this.options;
    await firstContact(this.primary, { url, ...(security ? { security } : {}) }, () => this.primary.ping());
  }

  async readRows(keys: readonly string[], dimension: number, out: Float32Array): Promise<boolean[]> {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    const rowBytes = dimension * 4;
    const found = new Array<boolean>(keys.length).fill(false);
    const reader = this.reader();
    const { chunk, keyPrefix } = this.options;
    const pages: Array<Promise<void>> = [];
    for (let start = 0; start < keys.length; start += chunk) {
      const page = keys.slice(start, start + chunk).map((k) => keyPrefix + k);
      pages.push(
        this.getAll(reader, page).then((values) => {
          values.forEach((value, j) => {
            if (value === null) return;
            const i = start + j;
            checkStoredSize(value.byteLength, dimension, keys[i] as string);
            bytes.set(value, i * rowBytes);
            found[i] = true;
          });
        }),
      );
    }
    await Promise.all(pages);
    return found;
  }

  async writeVectors(entries: ReadonlyArray<readonly [string, Float32Array]>): Promise<void> {
    const { chunk, keyPrefix } = this.options;
    for (let start = 0; start < entries.length; start += chunk) {
      const page = entries.slice(start, start + chunk);
      await inBatch(this.primary, page.length, (i) => keyPrefix + (page[i] as readonly [string, Float32Array])[0], (on, i) => {
        const [key, vector] = page[i] as readonly [string, Float32Array];
        return on.set(keyPrefix + key, vectorBytes(vector));
      });
    }
  }

  async remove(keys: readonly string[]): Promise<number> {
    let removed = 0;
    const { chunk, keyPrefix } = this.options;
    for (let start = 0; start < keys.length; start += chunk) removed += await this.unlinkAll(keys.slice(start, start + chunk).map((k) => keyPrefix + k));
    return removed;
  }

  async removePrefix(prefix: string): Promise<number> {
    let removed = 0;
    for await (const keys of this.scanKeys(prefix)) {
      if (keys.length > 0) removed += await this.unlinkAll(keys);
    }
    return removed;
  }

  async *scan(prefix: string, batchSize: number): AsyncIterable<Array<[string, Float32Array]>> {
    const strip = this.options.keyPrefix.length + prefix.length;
    let batch: Array<[string, Float32Array]> = [];
    for await (const keys of this.scanKeys(prefix)) {
      if (keys.length === 0) continue;
      const values = await this.getAll(this.primary, keys);
      values.forEach((value, j) => {
        if (value === null) return; // removed between SCAN and MGET
        const vector = new Float32Array(value.byteLength / 4);
        new Uint8Array(vector.buffer).set(value);
        batch.push([(keys[j] as string).slice(strip), vector]);
      });
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async getMeta(name: string): Promise<string | undefined> {
    return (await this.primary.get(this.metaKey(name))) ?? undefined;
  }

  async setMeta(name: string, value: string): Promise<void> {
    await this.primary.set(this.metaKey(name), value);
  }

  async deleteMeta(name: string): Promise<void> {
    await this.primary.del(this.metaKey(name));
  }

  async listMeta(prefix: string): Promise<Array<[string, string]>> {
    const out: Array<[string, string]> = [];
    const strip = this.metaKey('').length;
    for await (const keys of this.scanKeys(`m:${prefix}`)) {
      if (keys.length === 0) continue;
      const values = await this.getAll(this.primary, keys);
      values.forEach((value, j) => {
        if (value !== null) out.push([(keys[j] as string).slice(strip), value.toString('utf8')]);
      });
    }
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  async close(): Promise<void> {
    const clients = new Set([this.primary, ...this.readers]);
    await Promise.all([...clients].map((c) => c.quit().catch(() => c.disconnect())));
  }

  private metaKey(name: string): string {
    return `${this.options.keyPrefix}m:${name}`;
  }

  private reader(): RedisClient {
    const reader = this.readers[this.nextReader % this.readers.length] as RedisClient;
    this.nextReader++;
    return reader;
  }

  /** The values of `keys` (null where missing): one MGET on one Redis; on a cluster one pipeline of GETs per node. */
  private getAll(on: RedisClient, keys: readonly string[]): Promise<Array<Buffer | null>> {
    if (!this.options.cluster) return on.mgetBuffer(...keys);
    return inBatch<RedisClient, Buffer | null>(on, keys.length, (i) => keys[i] as string, (c, i) => c.getBuffer(keys[i] as string));
  }

  /** UNLINKs `keys`; how many existed. One command on one Redis; on a cluster one per key, pipelined per node. */
  private async unlinkAll(keys: readonly string[]): Promise<number> {
    if (!this.options.cluster) return this.primary.unlink(...keys);
    const counts = await inBatch<RedisClient, number>(this.primary, keys.length, (i) => keys[i] as string, (c, i) => c.unlink(keys[i] as string));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** The keys under `prefix`, a SCAN page at a time, from every node of a cluster. */
  private async *scanKeys(prefix: string): AsyncIterable<string[]> {
    const match = globEscape(this.options.keyPrefix + prefix) + '*';
    // A cluster knows its nodes once connected.
    if (this.options.cluster && this.primary.status !== 'ready') await this.primary.ping();
    for (const node of keyNodes(this.primary)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', this.options.chunk);
        cursor = next;
        yield keys;
      } while (cursor !== '0');
    }
  }
}
