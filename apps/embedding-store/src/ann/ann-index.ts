import { setImmediate as nextTurn } from 'node:timers/promises';
import { Index, MetricKind, ScalarKind } from 'usearch';

/** Tuning of {@link AnnIndex} (HNSW graph built by usearch). */
export interface AnnIndexOptions {
  /** Graph degree (HNSW M). Default 16. */
  connectivity?: number;
  /** Candidate list size while building (efConstruction). Default 128. */
  expansionAdd?: number;
  /** Candidate list size while searching (ef); raise for recall, lower for speed. Default 384 (recall@100 0.97 at 1M tower vectors, docs/benchmarks.md). */
  expansionSearch?: number;
  /** Native threads used for building and batch searches (0 = all cores). Default 0. */
  threads?: number;
  /** Vectors added per native call while building; the event loop runs between calls. Default 20000. */
  addChunk?: number;
  /** How the graph stores vectors: f32 (exact), f16 or i8 (smaller, faster scans, slightly lower recall). Default f32. */
  quantization?: AnnQuantization;
}

/** Vector storage of the graph. */
export const ANN_QUANTIZATIONS = ['f32', 'f16', 'i8'] as const;
/** One of {@link ANN_QUANTIZATIONS}. */
export type AnnQuantization = (typeof ANN_QUANTIZATIONS)[number];
const SCALAR_KIND: Record<AnnQuantization, ScalarKind> = { f32: ScalarKind.F32, f16: ScalarKind.F16, i8: ScalarKind.I8 };

/** {@link AnnIndexOptions} with every default filled in. */
export type FilledAnnIndexOptions = Required<AnnIndexOptions>;

/** Fills defaults and validates; the one place ANN defaults live. Thrown by: a non-integer or out-of-range value (TypeError). */
export function annIndexDefaults(options: AnnIndexOptions = {}): FilledAnnIndexOptions {
  const filled: FilledAnnIndexOptions = {
    connectivity: options.connectivity ?? 16,
    expansionAdd: options.expansionAdd ?? 128,
    expansionSearch: options.expansionSearch ?? 384,
    threads: options.threads ?? 0,
    addChunk: options.addChunk ?? 20_000,
    quantization: options.quantization ?? 'f32',
  };
  if (!ANN_QUANTIZATIONS.includes(filled.quantization))
    throw new TypeError(`ANN option quantization must be one of ${ANN_QUANTIZATIONS.join(', ')}, got ${String(filled.quantization)}`);
  const { quantization: _q, ...counts } = filled;
  for (const [name, value] of Object.entries(counts)) {
    const min = name === 'threads' ? 0 : 1;
    if (!Number.isInteger(value) || value < min) throw new TypeError(`ANN option ${name} must be an integer >= ${min}, got ${value}`);
  }
  return filled;
}

/** One retrieval hit. */
export interface ScoredId {
  /** Item id. */
  id: string;
  /** Cosine similarity to the query. */
  score: number;
}

/**
 * Approximate nearest neighbours over one snapshot version's tower vectors
 * (cosine, HNSW via usearch). Immutable once built, like the version it indexes.
 */
export class AnnIndex {
  private constructor(
    private readonly index: Index,
    private readonly ids: string[],
    /** Vector dimension. */
    readonly dimension: number,
    private readonly threads: number,
  ) {}

  /**
   * Builds the index from `ids` and their vectors (`vectors` holds
   * `ids.length × dimension` floats, row-major). Yields to the event loop
   * between chunks so a serving process stays responsive while it builds.
   */
  static async build(ids: string[], vectors: Float32Array, dimension: number, options: AnnIndexOptions = {}): Promise<AnnIndex> {
    const o = annIndexDefaults(options);
    if (vectors.length !== ids.length * dimension) {
      throw new TypeError(`AnnIndex.build: ${vectors.length} floats for ${ids.length} ids of dimension ${dimension}`);
    }
    const index = AnnIndex.emptyIndex(dimension, o);
    for (let start = 0; start < ids.length; start += o.addChunk) {
      const end = Math.min(ids.length, start + o.addChunk);
      const keys = new BigUint64Array(end - start);
      for (let i = start; i < end; i++) keys[i - start] = BigInt(i);
      index.add(keys, vectors.subarray(start * dimension, end * dimension), o.threads);
      if (end < ids.length) await nextTurn();
    }
    return new AnnIndex(index, ids, dimension, o.threads);
  }

  /** Writes the graph to `path` (ids are not saved; keep them with the file). */
  save(path: string): void {
    this.index.save(path);
  }

  /**
   * Opens a graph written by {@link AnnIndex.save} memory-mapped, with `ids`
   * in the order they were built and this call's search settings (so one build
   * can be searched with several `expansionSearch` values).
   */
  static view(path: string, ids: string[], dimension: number, options: AnnIndexOptions = {}): AnnIndex {
    const o = annIndexDefaults(options);
    const index = AnnIndex.emptyIndex(dimension, o);
    index.view(path);
    if (index.size() !== ids.length) throw new Error(`AnnIndex.view: ${path} holds ${index.size()} vectors, ${ids.length} ids given`);
    return new AnnIndex(index, ids, dimension, o.threads);
  }

  private static emptyIndex(dimension: number, o: FilledAnnIndexOptions): Index {
    return new Index({
      dimensions: dimension,
      metric: MetricKind.Cos,
      quantization: SCALAR_KIND[o.quantization],
      connectivity: o.connectivity,
      expansion_add: o.expansionAdd,
      expansion_search: o.expansionSearch,
      multi: false,
    });
  }

  /** Item ids in graph order (what {@link AnnIndex.view} needs beside a saved graph). */
  idsInOrder(): readonly string[] {
    return this.ids;
  }

  /** Number of indexed items. */
  get size(): number {
    return this.ids.length;
  }

  /** The k nearest items to `query`, best first, never returning an id in `exclude`. */
  search(query: Float32Array, k: number, exclude: ReadonlySet<string> = new Set()): ScoredId[] {
    if (query.length !== this.dimension) throw new TypeError(`AnnIndex.search: query has ${query.length} values, index dimension is ${this.dimension}`);
    if (this.ids.length === 0) return [];
    // At most exclude.size hits can be dropped, so asking for that many more always leaves k.
    const wanted = Math.min(this.ids.length, k + exclude.size);
    // One query cannot use more than one thread; asking for more only adds scheduling cost.
    const matches = this.index.search(query, wanted, 1);
    const out: ScoredId[] = [];
    for (let i = 0; i < matches.keys.length && out.length < k; i++) {
      const id = this.ids[Number(matches.keys[i])];
      if (id === undefined || exclude.has(id)) continue;
      out.push({ id, score: 1 - (matches.distances[i] as number) });
    }
    return out;
  }

  /** Batch search for benchmarks: row i of the result holds the ordinals of query i's k nearest items. */
  searchBatch(queries: Float32Array, k: number): BigUint64Array[] {
    const n = queries.length / this.dimension;
    const result = this.index.search(queries, k, this.threads);
    if (n === 1) return [result.keys];
    const out: BigUint64Array[] = [];
    for (let i = 0; i < n; i++) out.push(result.keys.subarray(i * k, (i + 1) * k));
    return out;
  }

  /** The id of an ordinal returned by {@link AnnIndex.searchBatch}. */
  idAt(ordinal: number): string | undefined {
    return this.ids[ordinal];
  }
}

/**
 * Exact cosine search by brute force (the reference ANN recall is measured
 * against). `vectors` holds `ids.length × dimension` floats.
 */
export function exactSearch(
  ids: readonly string[],
  vectors: Float32Array,
  dimension: number,
  query: Float32Array,
  k: number,
  exclude: ReadonlySet<string> = new Set(),
): ScoredId[] {
  let qn = 0;
  for (let j = 0; j < dimension; j++) qn += (query[j] as number) ** 2;
  qn = Math.sqrt(qn) || 1;
  const scored: ScoredId[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as string;
    if (exclude.has(id)) continue;
    let dot = 0;
    let vn = 0;
    for (let j = 0; j < dimension; j++) {
      const v = vectors[i * dimension + j] as number;
      dot += v * (query[j] as number);
      vn += v * v;
    }
    scored.push({ id, score: dot / (qn * (Math.sqrt(vn) || 1)) });
  }
  scored.sort((a, b) => b.score - a.score);
  return scored.slice(0, k);
}
