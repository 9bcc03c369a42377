import { resolve } from 'node:path';
import { actionStreamPartitions, MAX_ACTION_PARTITIONS } from '@pinrank/contracts';
import { natsSecurityFromConfig, natsSecurityVars, type NatsSecurity } from '@pinrank/nats';
import { redisSecurityFromConfig, redisSecurityVars } from '@pinrank/redis';
import { ConfigError, readConfig, serverVars, vars, type ConfigOf, type DataClientSecurity } from '@pinrank/service-kit';
import { REDIS_LAYOUT_CHOICES } from './store/redis-action-store';

/** The feature-server's configuration variables (each also a --kebab-case flag). */
export const featureServerVars = {
  ...serverVars('FEATURE_SERVER', { address: '127.0.0.1:50051', metricsAddress: '127.0.0.1:51051' }),
  backend: vars.oneOf('FEATURE_SERVER_BACKEND', ['lmdb', 'redis'], 'lmdb'),
  lmdbPath: vars.string('FEATURE_SERVER_LMDB_PATH', 'data/feature-server/lmdb'),
  redisUrl: vars.string('FEATURE_SERVER_REDIS_URL', 'redis://127.0.0.1:6379'),
  redisCluster: vars.bool('FEATURE_SERVER_REDIS_CLUSTER', false),
  redisKeyPrefix: vars.string('FEATURE_SERVER_REDIS_PREFIX', 'pinrank:fs:'),
  redisLayout: vars.oneOf('FEATURE_SERVER_REDIS_LAYOUT', REDIS_LAYOUT_CHOICES, 'auto'),
  redisSweepKeysPerSecond: vars.int('FEATURE_SERVER_REDIS_SWEEP_KEYS_PER_S', 20_000, { min: 0, max: 10_000_000 }),
  ...redisSecurityVars('FEATURE_SERVER'),
  embeddingStoreAddress: vars.hostPort('FEATURE_SERVER_EMBEDDING_STORE_ADDR', '127.0.0.1:50052'),
  embeddingDeadlineMs: vars.int('FEATURE_SERVER_EMBEDDING_DEADLINE_MS', 2000, { min: 1, max: 60_000 }),
  contentCacheSize: vars.int('FEATURE_SERVER_CONTENT_CACHE_SIZE', 100_000, { min: 1, max: 100_000_000 }),
  readFastPath: vars.bool('FEATURE_SERVER_READ_FAST_PATH', true),
  maxSequenceActions: vars.int('FEATURE_SERVER_MAX_SEQUENCE_ACTIONS', 256, { min: 1, max: 100_000 }),
  maxOtherActions: vars.int('FEATURE_SERVER_MAX_OTHER_ACTIONS', 64, { min: 1, max: 100_000 }),
  maxFutureSkewMs: vars.int('FEATURE_SERVER_MAX_FUTURE_SKEW_MS', 300_000, { min: 0, max: 86_400_000 }),
  natsUrl: vars.optional(vars.string('FEATURE_SERVER_NATS_URL')),
  natsStream: vars.string('FEATURE_SERVER_NATS_STREAM', 'PINRANK_ACTIONS'),
  natsSubject: vars.string('FEATURE_SERVER_NATS_SUBJECT', 'pinrank.actions'),
  natsDurable: vars.string('FEATURE_SERVER_NATS_DURABLE', 'feature-server'),
  natsPartitions: vars.int('FEATURE_SERVER_NATS_PARTITIONS', 1, { min: 1, max: MAX_ACTION_PARTITIONS }),
  natsReplicas: vars.int('FEATURE_SERVER_NATS_REPLICAS', 1, { min: 1, max: 5 }),
  ...natsSecurityVars('FEATURE_SERVER'),
};

/** The feature-server's validated configuration. */
export type FeatureServerConfig = ConfigOf<typeof featureServerVars> & { protoRoot: string; natsSecurity: NatsSecurity; redisSecurity: DataClientSecurity };

/** Reads and validates the configuration at the app's edge; throws ConfigError naming each bad variable. */
export function readFeatureServerConfig(env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): FeatureServerConfig {
  const c = readConfig(featureServerVars, env, argv);
  try {
    actionStreamPartitions(c.natsStream, c.natsSubject, c.natsPartitions);
  } catch (err) {
    throw new ConfigError([`FEATURE_SERVER_NATS_SUBJECT="${c.natsSubject}" with FEATURE_SERVER_NATS_PARTITIONS=${c.natsPartitions}: ${(err as Error).message}`]);
  }
  // src/ (tsx) and dist/apps/<app>/ (bundle) are both three levels below the repository root.
  const natsSecurity = natsSecurityFromConfig('FEATURE_SERVER', c, c);
  const redisSecurity = redisSecurityFromConfig('FEATURE_SERVER', c, c, { FEATURE_SERVER_REDIS_URL: c.backend === 'redis' ? c.redisUrl.split(',') : [] });
  return { ...c, natsSecurity, redisSecurity, protoRoot: c.protoDir ?? resolve(__dirname, '../../../proto') };
}
