import { type ServiceRegistration } from '@pinrank/service-kit';
import { type Logger } from 'pino';
import { type Registry } from 'prom-client';
import { type ItemTowerProvider } from './item-tower';
import { Lookups, type LookupsOptions } from './lookups';
import { EmbeddingStoreMetrics } from './metrics';
import { embeddingStoreService } from './service';
import { SnapshotManager, type SnapshotManagerOptions } from './snapshots/snapshot-manager';
import { CachedVectorStore, type VectorCacheStats } from './store/cached-store';
import { type VectorStore } from './store/vector-store';

/** Options of {@link createEmbeddingStore}. */
export interface EmbeddingStoreOptions {
  /** The storage backend (the app owns it from here and closes it). Required. */
  store: VectorStore;
  /** Item-tower model by PinnerFormer version. Required. */
  itemTower: ItemTowerProvider;
  /** Snapshot settings (dimension, retention, ANN tuning...). Defaults: see {@link SnapshotManagerOptions}. */
  snapshots?: Omit<SnapshotManagerOptions, 'store' | 'logger'>;
  /** Lookup limits and content dimension. Defaults: see {@link LookupsOptions}. */
  lookups?: Pick<LookupsOptions, 'contentDimension' | 'maxItems' | 'maxK' | 'maxExclude'>;
  /** Re-read versions persisted by other replicas this often (ms); 0 = never. Default 0. */
  refreshIntervalMs?: number;
  /** Registry for the store's metrics; default none. */
  registry?: Registry;
  /** Log sink; default silent. */
  logger?: Logger;
}

/** A wired embedding store: the gRPC service plus the parts tests and the entry point need. */
export interface EmbeddingStore {
  /** The EmbeddingStore service, for `startServer`. */
  registration: ServiceRegistration;
  /** Snapshot versions. */
  snapshots: SnapshotManager;
  /** GetEmbeddings and Retrieve. */
  lookups: Lookups;
  /** Stops refreshing and background loads, then closes the store. */
  close(): Promise<void>;
}

/** Opens the snapshot registry over the store and binds the service handlers. */
export async function createEmbeddingStore(options: EmbeddingStoreOptions): Promise<EmbeddingStore> {
  const refreshIntervalMs = options.refreshIntervalMs ?? 0;
  if (!Number.isInteger(refreshIntervalMs) || refreshIntervalMs < 0) throw new TypeError('refreshIntervalMs must be an integer >= 0');
  const { store, logger } = options;
  const snapshots = await SnapshotManager.open({ ...options.snapshots, store, ...(logger ? { logger } : {}) });
  const cacheStats = store instanceof CachedVectorStore ? (): VectorCacheStats => store.stats : undefined;
  const metrics = options.registry ? new EmbeddingStoreMetrics(options.registry, () => snapshots.activeRecord(), Date.now, cacheStats) : undefined;
  const lookups = new Lookups({
    ...options.lookups,
    store,
    snapshots,
    itemTower: options.itemTower,
    ...(metrics ? { metrics } : {}),
    ...(logger ? { logger } : {}),
  });
  const contentDimension = options.lookups?.contentDimension ?? 32;
  const registration = embeddingStoreService({ store, snapshots, lookups, contentDimension });
  let refreshing = false;
  const timer =
    refreshIntervalMs > 0
      ? setInterval(() => {
          if (refreshing) return;
          refreshing = true;
          snapshots
            .refresh()
            .catch((err: unknown) => logger?.warn({ err }, 'snapshot registry refresh failed'))
            .finally(() => (refreshing = false));
        }, refreshIntervalMs).unref()
      : undefined;
  return {
    registration,
    snapshots,
    lookups,
    close: async () => {
      if (timer) clearInterval(timer);
      await snapshots.close();
      await store.close();
    },
  };
}
