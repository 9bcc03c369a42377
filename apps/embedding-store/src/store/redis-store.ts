import Redis from 'ioredis';
import { checkStoredSize, vectorBytes, type VectorStore } from './vector-store';

/** Options of {@link RedisVectorStore}. */
export interface RedisStoreOptions {
  /** URL of the primary (all writes go here). Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** URLs of read replicas, used round-robin for vector reads. Default: none (reads go to the primary). */
  readUrls?: string[];
  /** Prefix of every key this store touches, so several stores can share one Redis. Default `pinrank:es:`. */
  keyPrefix?: string;
  /** Keys per MGET / pipeline / SCAN page. Default 1000. */
  chunk?: number;
}

type Filled = Required<RedisStoreOptions>;

function withDefaults(options: RedisStoreOptions): Filled {
  const filled: Filled = {
    url: options.url ?? 'redis://127.0.0.1:6379',
    readUrls: options.readUrls ?? [],
    keyPrefix: options.keyPrefix ?? 'pinrank:es:',
    chunk: options.chunk ?? 1000,
  };
  if (!filled.keyPrefix) throw new TypeError('RedisVectorStore: keyPrefix must not be empty (it isolates this store in a shared Redis)');
  if (!Number.isInteger(filled.chunk) || filled.chunk < 1) throw new TypeError('RedisVectorStore: chunk must be an integer >= 1');
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
  private readonly primary: Redis;
  private readonly readers: Redis[];
  private nextReader = 0;

  constructor(options: RedisStoreOptions = {}) {
    this.options = withDefaults(options);
    const connect = (url: string): Redis => new Redis(url, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
    this.primary = connect(this.options.url);
    this.readers = this.options.readUrls.length > 0 ? this.options.readUrls.map(connect) : [this.primary];
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
        reader.mgetBuffer(...page).then((values) => {
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
      const pipeline = this.primary.pipeline();
      for (const [key, vector] of entries.slice(start, start + chunk)) pipeline.set(keyPrefix + key, vectorBytes(vector));
      await execOrThrow(pipeline);
    }
  }

  async remove(keys: readonly string[]): Promise<number> {
    let removed = 0;
    const { chunk, keyPrefix } = this.options;
    for (let start = 0; start < keys.length; start += chunk) {
      removed += await this.primary.unlink(...keys.slice(start, start + chunk).map((k) => keyPrefix + k));
    }
    return removed;
  }

  async removePrefix(prefix: string): Promise<number> {
    let removed = 0;
    for await (const keys of this.scanKeys(prefix)) {
      if (keys.length > 0) removed += await this.primary.unlink(...keys);
    }
    return removed;
  }

  async *scan(prefix: string, batchSize: number): AsyncIterable<Array<[string, Float32Array]>> {
    const strip = this.options.keyPrefix.length + prefix.length;
    let batch: Array<[string, Float32Array]> = [];
    for await (const keys of this.scanKeys(prefix)) {
      if (keys.length === 0) continue;
      const values = await this.primary.mgetBuffer(...keys);
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
      const values = await this.primary.mget(...keys);
      values.forEach((value, j) => {
        if (value !== null) out.push([(keys[j] as string).slice(strip), value]);
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

  private reader(): Redis {
    const reader = this.readers[this.nextReader % this.readers.length] as Redis;
    this.nextReader++;
    return reader;
  }

  private async *scanKeys(prefix: string): AsyncIterable<string[]> {
    const match = globEscape(this.options.keyPrefix + prefix) + '*';
    let cursor = '0';
    do {
      const [next, keys] = await this.primary.scan(cursor, 'MATCH', match, 'COUNT', this.options.chunk);
      cursor = next;
      yield keys;
    } while (cursor !== '0');
  }
}

async function execOrThrow(pipeline: ReturnType<Redis['pipeline']>): Promise<void> {
  const results = (await pipeline.exec()) ?? [];
  for (const [err] of results) if (err) throw err;
}
