import { LruCache } from './lru-cache';

/** Where items' content vectors come from. Unknown items are absent from the result. */
export interface ContentVectorSource {
  /** Vectors of the known items among `itemIds` (distinct ids). Rejects when the source is unreachable. */
  get(itemIds: readonly string[]): Promise<Map<string, Float32Array>>;
}

/** Options of the caching wrapper. */
export interface CachedContentSourceOptions {
  /** Maximum cached known items. Default 100000. */
  capacity?: number;
  /** Maximum cached unknown items (negative entries). Default 10000. */
  unknownCapacity?: number;
  /** How long an item stays "unknown" before the source is asked again, in ms. Default 60000. */
  unknownTtlMs?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

/** Cache counters, read by metrics. */
export interface CacheStats {
  hits: number;
  misses: number;
  unknownHits: number;
}

/**
 * A bounded LRU in front of a ContentVectorSource. Misses of one call go to the source in
 * one batch. Unknown items are remembered for a short TTL so a catalog gap does not turn
 * every ingest into a remote call, yet items added to the catalog later are picked up.
 */
export class CachedContentSource implements ContentVectorSource {
  readonly stats: CacheStats = { hits: 0, misses: 0, unknownHits: 0 };
  private readonly known: LruCache<string, Float32Array>;
  private readonly unknown: LruCache<string, number>;
  private readonly unknownTtlMs: number;
  private readonly now: () => number;

  /** Throws TypeError on invalid options. */
  constructor(
    private readonly source: ContentVectorSource,
    options: CachedContentSourceOptions = {},
  ) {
    this.known = new LruCache(options.capacity ?? 100_000);
    this.unknown = new LruCache(options.unknownCapacity ?? 10_000);
    this.unknownTtlMs = options.unknownTtlMs ?? 60_000;
    if (!(this.unknownTtlMs >= 0)) throw new TypeError(`unknownTtlMs: must be >= 0, got ${options.unknownTtlMs}`);
    this.now = options.now ?? Date.now;
  }

  async get(itemIds: readonly string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    const missing: string[] = [];
    const now = this.now();
    for (const id of new Set(itemIds)) {
      const v = this.known.get(id);
      if (v) {
        this.stats.hits++;
        out.set(id, v);
        continue;
      }
      const until = this.unknown.get(id);
      if (until !== undefined && until > now) {
        this.stats.unknownHits++;
        continue;
      }
      this.stats.misses++;
      missing.push(id);
    }
    if (missing.length === 0) return out;
    const fetched = await this.source.get(missing);
    for (const id of missing) {
      const v = fetched.get(id);
      if (v) {
        this.known.set(id, v);
        out.set(id, v);
      } else {
        this.unknown.set(id, now + this.unknownTtlMs);
      }
    }
    return out;
  }
}
