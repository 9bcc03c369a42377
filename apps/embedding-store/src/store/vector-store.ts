/**
 * The storage contract of the embedding store: raw float32 vectors under
 * string keys, plus small JSON metadata records. Two real backends implement
 * it (embedded LMDB, Redis); everything above this interface is backend-blind.
 *
 * Key layout (see keys.ts): `v:<version>:u:<id>` user vectors,
 * `v:<version>:t:<id>` item-tower vectors, `c:<id>` content vectors,
 * `m:<name>` metadata.
 */
export interface VectorStore {
  /** Backend name, for metrics and logs. */
  readonly backend: 'lmdb' | 'redis';
  /**
   * Copies the vector stored under `keys[i]` into `out` at row i (`dimension`
   * floats per row) and reports which keys were found. Rows of missing keys are
   * left untouched. Thrown by: a stored value whose size is not `dimension` floats.
   */
  readRows(keys: readonly string[], dimension: number, out: Float32Array): Promise<boolean[]>;
  /**
   * `readRows` of the keys `prefix + ids[i]`, for a store that can do better
   * than building each key (a cache keyed by id within the prefix); callers go
   * through {@link readRowsUnder}, which builds the keys for a store without it.
   */
  readRowsUnder?(prefix: string, ids: readonly string[], dimension: number, out: Float32Array): Promise<boolean[]>;
  /** Writes vectors (raw float32 bytes) under their keys, in one batch. */
  writeVectors(entries: ReadonlyArray<readonly [key: string, vector: Float32Array]>): Promise<void>;
  /** Removes keys; resolves to how many existed. */
  remove(keys: readonly string[]): Promise<number>;
  /** Removes every key starting with `prefix`; resolves to how many there were. */
  removePrefix(prefix: string): Promise<number>;
  /** Streams the vectors whose key starts with `prefix`, in batches, with the prefix stripped from the keys. */
  scan(prefix: string, batchSize: number): AsyncIterable<Array<[suffix: string, vector: Float32Array]>>;
  /** Reads a metadata record (JSON text). */
  getMeta(name: string): Promise<string | undefined>;
  /** Writes a metadata record (JSON text). */
  setMeta(name: string, value: string): Promise<void>;
  /** Removes a metadata record. */
  deleteMeta(name: string): Promise<void>;
  /** Lists metadata records whose name starts with `prefix`. */
  listMeta(prefix: string): Promise<Array<[name: string, value: string]>>;
  /** Releases connections and file handles. */
  close(): Promise<void>;
}

/** Reads the rows of the keys `prefix + ids[i]` (see VectorStore.readRows). */
export function readRowsUnder(store: VectorStore, prefix: string, ids: readonly string[], dimension: number, out: Float32Array): Promise<boolean[]> {
  return store.readRowsUnder
    ? store.readRowsUnder(prefix, ids, dimension, out)
    : store.readRows(
        ids.map((id) => prefix + id),
        dimension,
        out,
      );
}

/** Bytes of a float32 vector, viewed without copying. */
export function vectorBytes(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** Checks a stored value's size before it is copied into a response row. */
export function checkStoredSize(byteLength: number, dimension: number, key: string): void {
  if (byteLength !== dimension * 4) {
    throw new Error(`stored vector ${key} has ${byteLength} bytes, expected ${dimension * 4} (dimension ${dimension})`);
  }
}
