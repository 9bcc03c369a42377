import { RowCache } from '@pinrank/contracts';
import { readRowsUnder, type VectorStore } from './vector-store';

/** Key spaces cached at once (content vectors, and the tower vectors of the versions in use); the least recently read one makes room. */
const MAX_SPACES = 4;

/** What a {@link CachedVectorStore} has done since it started. */
export interface VectorCacheStats {
  /** Keys answered from memory. */
  hits: number;
  /** Keys read from the store beneath (found or not). */
  misses: number;
  /** Rows held now, every key space together. */
  rows: number;
}

/** One key prefix's cached rows. */
interface KeySpace {
  rows: RowCache;
  lastRead: number;
}

/**
 * A bounded copy in memory of the vectors a store has served, in front of it.
 * LMDB answers a key in about a microsecond (a B-tree walk through the memory
 * map); a `GetEmbeddings` of 500 candidates reads 500 of them, most of them
 * the same popular items again and again.
 *
 * What is cached: the reads made through `readRowsUnder`, the lookups' batch
 * reads, per key space (a prefix: content vectors, one version's tower
 * vectors), keyed by the ids as the request carried them, so a hit builds no
 * key string. Each space is one preallocated FIFO ring of `rowsPerSpace` rows
 * (`RowCache`); at most {@link MAX_SPACES} spaces. Single-key reads
 * (`readRows`: a user's vector, the write paths' checks) go to the store.
 *
 * Only for a store this process alone writes (the LMDB backend: one
 * environment per replica). Every write, removal and prefix removal goes
 * through here and forgets what it touched once it is done; a read that
 * overlapped a write keeps nothing (a generation count), so a row read before
 * a write never outlives it. Missing keys are never cached.
 */
export class CachedVectorStore implements VectorStore {
  readonly backend: VectorStore['backend'];
  private readonly spaces = new Map<string, KeySpace>();
  private generation = 0;
  private reads = 0;
  private readonly counts = { hits: 0, misses: 0 };

  constructor(
    private readonly inner: VectorStore,
    private readonly rowsPerSpace: number,
  ) {
    if (!Number.isInteger(rowsPerSpace) || rowsPerSpace < 1) throw new RangeError(`CachedVectorStore: rowsPerSpace must be an integer >= 1, got ${rowsPerSpace}`);
    this.backend = inner.backend;
  }

  /** Hits, misses and rows held (for metrics). */
  get stats(): VectorCacheStats {
    let rows = 0;
    for (const space of this.spaces.values()) rows += space.rows.size;
    return { ...this.counts, rows };
  }

  readRows(keys: readonly string[], dimension: number, out: Float32Array): Promise<boolean[]> {
    return this.inner.readRows(keys, dimension, out);
  }

  async readRowsUnder(prefix: string, ids: readonly string[], dimension: number, out: Float32Array): Promise<boolean[]> {
    const rows = this.space(prefix, dimension);
    if (!rows) return readRowsUnder(this.inner, prefix, ids, dimension, out);
    const found = new Array<boolean>(ids.length);
    const missed: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (rows.copyTo(ids[i] as string, out, i * dimension)) found[i] = true;
      else missed.push(i);
    }
    this.counts.hits += ids.length - missed.length;
    this.counts.misses += missed.length;
    if (missed.length === 0) return found;
    const generation = this.generation;
    const read = new Float32Array(missed.length * dimension);
    const got = await readRowsUnder(
      this.inner,
      prefix,
      missed.map((i) => ids[i] as string),
      dimension,
      read,
    );
    // A write finished while this read was out: what it read may be older than the write.
    const keep = generation === this.generation && this.spaces.get(prefix)?.rows === rows;
    missed.forEach((i, j) => {
      found[i] = got[j] === true;
      if (!found[i]) return;
      out.set(read.subarray(j * dimension, (j + 1) * dimension), i * dimension);
      if (keep) rows.put(ids[i] as string, read, j * dimension);
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
      this.spaces.clear();
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

  /** The rows of `prefix`, made (evicting the least recently read space when full) on first use; none for a width other than its own. */
  private space(prefix: string, dimension: number): RowCache | undefined {
    let space = this.spaces.get(prefix);
    if (!space) {
      if (!Number.isInteger(dimension) || dimension < 1) return undefined;
      if (this.spaces.size >= MAX_SPACES) {
        let oldest: [string, KeySpace] | undefined;
        for (const entry of this.spaces) if (!oldest || entry[1].lastRead < oldest[1].lastRead) oldest = entry;
        if (oldest) this.spaces.delete(oldest[0]);
      }
      space = { rows: new RowCache(dimension, this.rowsPerSpace), lastRead: 0 };
      this.spaces.set(prefix, space);
    }
    space.lastRead = ++this.reads;
    return space.rows.width === dimension ? space.rows : undefined;
  }

  private forget(keys: readonly string[]): void {
    this.generation++;
    for (const [prefix, space] of this.spaces) {
      for (const key of keys) if (key.startsWith(prefix)) space.rows.delete(key.slice(prefix.length));
    }
  }
}
