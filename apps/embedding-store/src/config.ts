import { resolve } from 'node:path';
import { redisSecurityFromConfig, redisSecurityVars } from '@pinrank/redis';
import { readConfig, serverVars, vars, type ConfigOf, type DataClientSecurity } from '@pinrank/service-kit';

/** The embedding-store's configuration variables (each also a --kebab-case flag). */
export const embeddingStoreVars = {
  ...serverVars('EMBEDDING_STORE', { address: '127.0.0.1:50052', metricsAddress: '127.0.0.1:51052' }),
  backend: vars.oneOf('EMBEDDING_STORE_BACKEND', ['lmdb', 'redis'], 'lmdb'),
  lmdbPath: vars.string('EMBEDDING_STORE_LMDB_PATH', 'data/embedding-store'),
  vectorCacheRows: vars.int('EMBEDDING_STORE_VECTOR_CACHE_ROWS', 50_000, { min: 0, max: 10_000_000 }),
  redisUrl: vars.string('EMBEDDING_STORE_REDIS_URL', 'redis://127.0.0.1:6379'),
  redisReadUrls: vars.list('EMBEDDING_STORE_REDIS_READ_URLS', []),
  redisCluster: vars.bool('EMBEDDING_STORE_REDIS_CLUSTER', false),
  redisPrefix: vars.string('EMBEDDING_STORE_REDIS_PREFIX', 'pinrank:es:'),
  ...redisSecurityVars('EMBEDDING_STORE'),
  refreshMs: vars.int('EMBEDDING_STORE_REFRESH_MS', 2000, { min: 0, max: 3_600_000 }),
  dimension: vars.int('EMBEDDING_STORE_DIMENSION', 64, { min: 0, max: 4096 }),
  contentDimension: vars.int('EMBEDDING_STORE_CONTENT_DIMENSION', 32, { min: 1, max: 4096 }),
  retain: vars.int('EMBEDDING_STORE_RETAIN', 3, { min: 1, max: 100 }),
  maxItems: vars.int('EMBEDDING_STORE_MAX_ITEMS', 10_000, { min: 1, max: 1_000_000 }),
  annConnectivity: vars.int('EMBEDDING_STORE_ANN_CONNECTIVITY', 16, { min: 2, max: 256 }),
  annExpansionAdd: vars.int('EMBEDDING_STORE_ANN_EXPANSION_ADD', 128, { min: 1, max: 4096 }),
  annExpansionSearch: vars.int('EMBEDDING_STORE_ANN_EXPANSION_SEARCH', 384, { min: 1, max: 4096 }),
  annQuantization: vars.oneOf('EMBEDDING_STORE_ANN_QUANTIZATION', ['f32', 'f16', 'i8'], 'f32'),
  annDir: vars.optional(vars.string('EMBEDDING_STORE_ANN_DIR')),
  modelRoot: vars.optional(vars.string('EMBEDDING_STORE_MODEL_ROOT')),
  catalogFile: vars.optional(vars.file('EMBEDDING_STORE_CATALOG_FILE')),
};

/** The embedding-store's validated configuration. */
export type EmbeddingStoreConfig = ConfigOf<typeof embeddingStoreVars> & { protoRoot: string; modelRoot: string; annIndexDir: string | undefined; redisSecurity: DataClientSecurity };

/** Reads and validates the configuration at the app's edge; throws ConfigError naming each bad variable. */
export function readEmbeddingStoreConfig(env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): EmbeddingStoreConfig {
  const c = readConfig(embeddingStoreVars, env, argv);
  // src/ (tsx) and dist/apps/<app>/ (bundle) are both three levels below the repository root.
  const root = resolve(__dirname, '../../..');
  // ANN graphs are saved on local disk: beside the LMDB file by default; with Redis only where a folder is given.
  const annIndexDir = c.annDir ?? (c.backend === 'lmdb' ? `${c.lmdbPath}-ann` : undefined);
  const redisUrls: Record<string, string[]> = c.backend === 'redis' ? { EMBEDDING_STORE_REDIS_URL: c.redisUrl.split(','), EMBEDDING_STORE_REDIS_READ_URLS: c.redisReadUrls } : {};
  const redisSecurity = redisSecurityFromConfig('EMBEDDING_STORE', c, c, redisUrls);
  return { ...c, redisSecurity, protoRoot: c.protoDir ?? resolve(root, 'proto'), modelRoot: c.modelRoot ?? resolve(root, 'models'), annIndexDir };
}
