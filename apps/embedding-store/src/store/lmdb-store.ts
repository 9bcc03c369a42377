import { open, type Database, type RootDatabase } from 'lmdb';
import { checkStoredSize, vectorBytes, type VectorStore } from './vector-store';

/** Options of {@link LmdbVectorStore}. */
export interface LmdbStoreOptions {
  /** Directory of the LMDB environment (created when missing). Required. */
  path: string;
  /** Keys removed or written per write transaction. Default 10000. */
  writeChunk?: number;
}

/**
 * The default backend: an embedded LMDB environment. Reads copy straight from
 * the memory map into the caller's buffer (`getBinaryFast`, no intermediate
 * allocation); writes go through batched write transactions.
 */
export class LmdbVectorStore implements VectorStore {
  readonly backend = 'lmdb' as const;
  private readonly root: RootDatabase;
  private readonly vectors: Database<Buffer, string>;
  private readonly meta: Database<string, string>;
  private readonly writeChunk: number;

  constructor(options: LmdbStoreOptions) {
    if (!options.path) throw new TypeError('LmdbVectorStore: options.path is required');
    this.writeChunk = options.writeChunk ?? 10_000;
    if (!Number.isInteger(this.writeChunk) || this.writeChunk < 1) throw new TypeError('LmdbVectorStore: writeChunk must be an integer >= 1');
    this.root = open({ path: options.path, maxDbs: 4 });
    this.vectors = this.root.openDB<Buffer, string>({ name: 'vectors', encoding: 'binary' });
    this.meta = this.root.openDB<string, string>({ name: 'meta', encoding: 'string' });
  }

  async readRows(keys: readonly string[], dimension: number, out: Float32Array): Promise<boolean[]> {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    const rowBytes = dimension * 4;
    const found = new Array<boolean>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      // getBinaryFast returns a buffer reused by the next read: copy it out at once.
      const value = this.vectors.getBinaryFast(key);
      if (value === undefined) {
        found[i] = false;
        continue;
      }
      // Its `length` is the value's size; `byteLength` is the whole shared buffer.
      checkStoredSize(value.length, dimension, key);
      bytes.set(new Uint8Array(value.buffer, value.byteOffset, rowBytes), i * rowBytes);
      found[i] = true;
    }
    return found;
  }

  async writeVectors(entries: ReadonlyArray<readonly [string, Float32Array]>): Promise<void> {
    for (let start = 0; start < entries.length; start += this.writeChunk) {
      const chunk = entries.slice(start, start + this.writeChunk);
      await this.vectors.transaction(() => {
        for (const [key, vector] of chunk) this.vectors.putSync(key, vectorBytes(vector));
      });
    }
  }

  async remove(keys: readonly string[]): Promise<number> {
    let removed = 0;
    await this.vectors.transaction(() => {
      for (const key of keys) if (this.vectors.removeSync(key)) removed++;
    });
    return removed;
  }

  async removePrefix(prefix: string): Promise<number> {
    let removed = 0;
    for (;;) {
      const keys = this.keysWithPrefix(prefix, this.writeChunk);
      if (keys.length === 0) return removed;
      removed += await this.remove(keys);
    }
  }

  async *scan(prefix: string, batchSize: number): AsyncIterable<Array<[string, Float32Array]>> {
    let batch: Array<[string, Float32Array]> = [];
    for (const { key, value } of this.vectors.getRange({ start: prefix })) {
      if (!key.startsWith(prefix)) break;
      const vector = new Float32Array(value.byteLength / 4);
      new Uint8Array(vector.buffer).set(value);
      batch.push([key.slice(prefix.length), vector]);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async getMeta(name: string): Promise<string | undefined> {
    return this.meta.get(name);
  }

  async setMeta(name: string, value: string): Promise<void> {
    await this.meta.put(name, value);
  }

  async deleteMeta(name: string): Promise<void> {
    await this.meta.remove(name);
  }

  async listMeta(prefix: string): Promise<Array<[string, string]>> {
    const out: Array<[string, string]> = [];
    for (const { key, value } of this.meta.getRange({ start: prefix })) {
      if (!key.startsWith(prefix)) break;
      out.push([key, value]);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.root.close();
  }

  private keysWithPrefix(prefix: string, limit: number): string[] {
    const keys: string[] = [];
    for (const key of this.vectors.getKeys({ start: prefix, limit })) {
      if (!key.startsWith(prefix)) break;
      keys.push(key);
    }
    return keys;
  }
}
