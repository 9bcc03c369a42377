import { RowCache } from '@pinrank/contracts';
import { type VectorStore } from './vector-store';

/** Widths cached at once; reads of further widths (an unusual run of snapshot dimensions) go straight to the store. */
const MAX_WIDTHS = 4;

/** What a {@link CachedVectorStore} has done since it started. */
export interface VectorCacheStats {
  /** Keys answered from memory. */
  hits: number;
  /** Keys read from the store beneath (found or not). */
  misses: number;
  /** Rows held now, every width together. */
  rows: number;
}

/**
 * A bounded copy in memory of the vectors a store has served, in front of it.
 * LMDB answers a key in about a microsecond (a B-tree walk through the memory
 * map); a `GetEmbeddings` of 500 candidates reads 500 of them, most of them
 * the same popular items again and again. Rows live in one preallocated ring
 * per vector width (`RowCache`, FIFO), `rowsPerWidth` each.
 *
 * Only for a store this process alone writes (the LMDB backend: one
 * environment per replica). Every write, removal and prefix removal goes
 * through here and forgets what it touched once it is done; a read that
 * overlapped a write keeps nothing (a generation count), so a row read before
 * a write never outlives it. Missing keys are never cached.
 */
export class CachedVectorStore implements VectorStore {
  readonly backend: VectorStore['backend'];
  private readonly rings = new Map<number, RowCache>();
  private generation = 0;
  private readonly counts = { hits: 0, misses: 0 };

  constructor(
    private readonly inner: VectorStore,
    private readonly rowsPerWidth: number,
  ) {
    if (!Number.isInteger(rowsPerWidth) || rowsPerWidth < 1) throw new RangeError(`CachedVectorStore: rowsPerWidth must be an integer >= 1, got ${rowsPerWidth}`);
    this.backend = inner.backend;
  }

  /** Hits, misses and rows held (for metrics). */
  get stats(): VectorCacheStats {
    let rows = 0;
    for (const ring of this.rings.values()) rows += ring.size;
    return { ...this.counts, rows };
  }

  async readRows(keys: readonly string[], dimension: number, out: Float32Array): Promise<boolean[]> {
    const ring = this.ring(dimension);
    if (!ring) return this.inner.readRows(keys, dimension, out);
    const found = new Array<boolean>(keys.length);
    const missed: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      if (ring.copyTo(keys[i] as string, out, i * dimension)) found[i] = true;
      else missed.push(i);
    }
    this.counts.hits += keys.length - missed.length;
    this.counts.misses += missed.length;
    if (missed.length === 0) return found;
    const generation = this.generation;
    const rows = new Float32Array(missed.length * dimension);
    const got = await this.inner.readRows(
      missed.map((i) => keys[i] as string),
      dimension,
      rows,
    );
    // A write finished while this read was out: what it read may be older than the write.
    const keep = generation === this.generation;
    missed.forEach((i, j) => {
      found[i] = got[j] === true;
      if (!found[i]) return;
      out.set(rows.subarray(j * dimension, (j + 1) * dimension), i * dimension);
      if (keep) ring.put(keys[i] as string, rows, j * dimension);
    });
    return found;
  }

  async writeVectors(entries: ReadonlyArray<readonly [key: string, vector: Float32Array]>): Promise<void> {
    try {
      await this.inner.writeVectors(entries);
    } finally {
      this.forget(entries.map(([key]) => key));
    }
  }

  async remove(keys: readonly string[]): Promise<number> {
    try {
      return await this.inner.remove(keys);
    } finally {
      this.forget(keys);
    }
  }

  async removePrefix(prefix: string): Promise<number> {
    try {
      return await this.inner.removePrefix(prefix);
    } finally {
      // Rare (a snapshot version dropped): simpler to start over than to find the prefix's rows.
      this.generation++;
      for (const ring of this.rings.values()) ring.clear();
    }
  }

  scan(prefix: string, batchSize: number): AsyncIterable<Array<[suffix: string, vector: Float32Array]>> {
    return this.inner.scan(prefix, batchSize);
  }

  getMeta(name: string): Promise<string | undefined> {
    return this.inner.getMeta(name);
  }

  setMeta(name: string, value: string): Promise<void> {
    return this.inner.setMeta(name, value);
  }

  deleteMeta(name: string): Promise<void> {
    return this.inner.deleteMeta(name);
  }

  listMeta(prefix: string): Promise<Array<[name: string, value: string]>> {
    return this.inner.listMeta(prefix);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private ring(dimension: number): RowCache | undefined {
    let ring = this.rings.get(dimension);
    if (!ring && this.rings.size < MAX_WIDTHS && Number.isInteger(dimension) && dimension >= 1) {
      this.rings.set(dimension, (ring = new RowCache(dimension, this.rowsPerWidth)));
    }
    return ring;
  }

  private forget(keys: readonly string[]): void {
    this.generation++;
    for (const ring of this.rings.values()) for (const key of keys) ring.delete(key);
  }
}
