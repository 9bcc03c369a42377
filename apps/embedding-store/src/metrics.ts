import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type SnapshotRecord } from './snapshots/snapshot-record';
import { type VectorCacheStats } from './store/cached-store';

/** Latency buckets (seconds) for store lookups: 50 µs .. 1 s. */
const LOOKUP_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** The embedding store's own metrics: active snapshot age and version, lookup latency, unknown ids. */
export class EmbeddingStoreMetrics {
  private readonly lookup: Histogram<'method' | 'backend'>;
  private readonly unknown: Counter<'kind'>;
  private readonly computed: Counter;

  /** Registers the metrics in `registry`; `active` and `vectorCache` (when the store has a cache) are read at scrape time. */
  constructor(registry: Registry, active: () => SnapshotRecord | undefined, now: () => number = Date.now, vectorCache?: () => VectorCacheStats) {
    this.lookup = new Histogram({
      name: 'embedding_store_lookup_duration_seconds',
      help: 'Time to answer a lookup from the store, by method and backend.',
      labelNames: ['method', 'backend'],
      buckets: LOOKUP_BUCKETS,
      registers: [registry],
    });
    this.unknown = new Counter({
      name: 'embedding_store_unknown_ids_total',
      help: 'Requested ids with no vector, by kind (user, content, tower).',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.computed = new Counter({
      name: 'embedding_store_computed_item_vectors_total',
      help: 'Item-tower vectors computed on the fly for catalog items not yet in a snapshot.',
      registers: [registry],
    });
    if (vectorCache) {
      new Counter({
        name: 'embedding_store_vector_cache_reads_total',
        help: 'Vector reads since start by result: hit (answered from the in-memory copy) or miss (read from the store).',
        labelNames: ['result'],
        registers: [registry],
        // The cache counts; a scrape copies its totals.
        collect() {
          const s = vectorCache();
          this.reset();
          this.inc({ result: 'hit' }, s.hits);
          this.inc({ result: 'miss' }, s.misses);
        },
      });
      new Gauge({
        name: 'embedding_store_vector_cache_rows',
        help: 'Vectors held in the in-memory copy (EMBEDDING_STORE_VECTOR_CACHE_ROWS per key space, at most 4 spaces).',
        registers: [registry],
        collect() {
          this.set(vectorCache().rows);
        },
      });
    }
    new Gauge({
      name: 'embedding_store_active_snapshot_age_seconds',
      help: 'Seconds since the active snapshot was created (from its header); 0 when none is active.',
      registers: [registry],
      collect() {
        this.reset();
        const record = active();
        if (record) this.set((now() - record.createdAtMs) / 1000);
      },
    });
    new Gauge({
      name: 'embedding_store_active_snapshot_info',
      help: 'Always 1, labelled with the active snapshot version and the model version that produced it.',
      labelNames: ['version', 'producer_model_version'],
      registers: [registry],
      collect() {
        this.reset();
        const record = active();
        if (record) this.set({ version: record.version, producer_model_version: record.producerModelVersion }, 1);
      },
    });
  }

  /** Records one lookup's latency. */
  observeLookup(method: string, backend: string, seconds: number): void {
    this.lookup.observe({ method, backend }, seconds);
  }

  /** Counts ids that had no vector. */
  countUnknown(kind: 'user' | 'content' | 'tower', n: number): void {
    if (n > 0) this.unknown.inc({ kind }, n);
  }

  /** Counts vectors computed on the fly. */
  countComputed(n: number): void {
    if (n > 0) this.computed.inc(n);
  }
}
