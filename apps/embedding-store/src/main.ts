// embedding-store entry point: reads configuration at the edge, opens the
// configured backend, starts tracing and the gRPC server, and drains on SIGTERM/SIGINT.
import { type Logger } from 'pino';
import { PinrankError, runMain, serverOptionsFromConfig, startServer } from '@pinrank/service-kit';
import { RpcMetrics, createLogger, startTracing, tracingOptionsFromEnv } from '@pinrank/telemetry';
import { createEmbeddingStore } from './app';
import { EMBEDDING_STORE_POLICY } from './authz-policy';
import { loadCatalog } from './catalog';
import { readEmbeddingStoreConfig, type EmbeddingStoreConfig } from './config';
import { onnxItemTowerProvider } from './onnx-item-tower';
import { CachedVectorStore } from './store/cached-store';
import { LmdbVectorStore } from './store/lmdb-store';
import { RedisVectorStore } from './store/redis-store';
import { type VectorStore } from './store/vector-store';
import { version } from '../package.json';

const NAME = 'embedding-store';

function openStore(config: EmbeddingStoreConfig, logger: Logger): VectorStore {
  if (config.backend === 'redis') {
    return new RedisVectorStore({ url: config.redisUrl, readUrls: config.redisReadUrls, cluster: config.redisCluster, keyPrefix: config.redisPrefix, security: config.redisSecurity, logger });
  }
  const lmdb = new LmdbVectorStore({ path: config.lmdbPath });
  // Only this process writes its LMDB environment, so a copy in memory sees every change (not so for a Redis shared by replicas).
  return config.vectorCacheRows > 0 ? new CachedVectorStore(lmdb, config.vectorCacheRows) : lmdb;
}

async function main(): Promise<void> {
  const config = readEmbeddingStoreConfig(process.env, process.argv.slice(2));
  const tracing = startTracing(tracingOptionsFromEnv(process.env, NAME, version));
  const logger = createLogger({ name: NAME, level: config.logLevel });
  const metrics = new RpcMetrics();

  const store = openStore(config, logger);
  // A Redis that cannot be reached fails the start-up with its reason, rather than serving errors.
  if (store instanceof RedisVectorStore) await store.checkConnection();
  const app = await createEmbeddingStore({
    store,
    itemTower: onnxItemTowerProvider(config.modelRoot, logger),
    snapshots: {
      dimension: config.dimension,
      retain: config.retain,
      ann: {
        connectivity: config.annConnectivity,
        expansionAdd: config.annExpansionAdd,
        expansionSearch: config.annExpansionSearch,
        quantization: config.annQuantization,
      },
      ...(config.annIndexDir ? { indexDir: config.annIndexDir } : {}),
    },
    lookups: { contentDimension: config.contentDimension, maxItems: config.maxItems },
    // Replicas sharing Redis pick up each other's loads and activations.
    refreshIntervalMs: config.backend === 'redis' ? config.refreshMs : 0,
    registry: metrics.registry,
    logger,
  });
  if (config.catalogFile) {
    try {
      const { added, replaced } = await loadCatalog(store, config.catalogFile, config.contentDimension);
      logger.info({ path: config.catalogFile, added, replaced }, 'item catalog loaded');
    } catch (err) {
      throw err instanceof PinrankError ? new Error(`EMBEDDING_STORE_CATALOG_FILE: ${err.message}`) : err;
    }
  }
  const active = app.snapshots.activeRecord();
  app.snapshots.warmActiveIndex();
  logger.info({ backend: store.backend, active: active?.version ?? null, annIndexDir: config.annIndexDir ?? null }, 'embedding store ready');

  const server = serverOptionsFromConfig(config);
  await startServer({
    name: NAME,
    services: [app.registration],
    ...server,
    authz: { ...server.authz, policies: [EMBEDDING_STORE_POLICY] },
    reflection: { protoRoot: config.protoRoot },
    logger,
    metrics,
    tracer: tracing.tracer,
    onShutdown: async () => {
      await app.close();
      await tracing.shutdown();
    },
  });
}

runMain(main);
