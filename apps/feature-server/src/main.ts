// feature-server entry point: reads configuration at the edge, starts tracing,
// the store, JetStream ingest (when configured) and the gRPC server, and drains
// on SIGTERM/SIGINT.
import { describeNatsSecurity } from '@pinrank/nats';
import { clientTlsFromConfig, runMain, serverOptionsFromConfig } from '@pinrank/service-kit';
import { createLogger, startTracing, tracingOptionsFromEnv } from '@pinrank/telemetry';
import { startFeatureServer } from './app';
import { FEATURE_SERVER_POLICY } from './authz-policy';
import { readFeatureServerConfig } from './config';
import { version } from '../package.json';

const NAME = 'feature-server';

async function main(): Promise<void> {
  const config = readFeatureServerConfig(process.env, process.argv.slice(2));
  const tracing = startTracing(tracingOptionsFromEnv(process.env, NAME, version));
  const logger = createLogger({ name: NAME, level: config.logLevel });

  const server = serverOptionsFromConfig(config);
  const tls = clientTlsFromConfig(config);
  const running: { stop?: () => Promise<void> } = {};
  const app = await startFeatureServer({
    server: {
      ...server,
      authz: { ...server.authz, policies: [FEATURE_SERVER_POLICY] },
      reflection: { protoRoot: config.protoRoot },
      logger,
      tracer: tracing.tracer,
      onShutdown: () => tracing.shutdown(),
    },
    backend:
      config.backend === 'lmdb'
        ? { kind: 'lmdb', path: config.lmdbPath }
        : {
            kind: 'redis',
            url: config.redisUrl,
            cluster: config.redisCluster,
            keyPrefix: config.redisKeyPrefix,
            layout: config.redisLayout,
            takeoverSweep: { keysPerSecond: config.redisSweepKeysPerSecond },
            security: config.redisSecurity,
          },
    content: { address: config.embeddingStoreAddress, deadlineMs: config.embeddingDeadlineMs, ...(tls ? { connect: { tls } } : {}) },
    cacheCapacity: config.contentCacheSize,
    readFastPath: config.readFastPath,
    retention: { maxSequenceActions: config.maxSequenceActions, maxOtherActions: config.maxOtherActions },
    limits: { maxFutureSkewMs: config.maxFutureSkewMs },
    nats: config.natsUrl
      ? { servers: config.natsUrl, security: config.natsSecurity, stream: config.natsStream, subject: config.natsSubject, durable: config.natsDurable, partitions: config.natsPartitions, replicas: config.natsReplicas }
      : undefined,
    // Nothing is consumed any more: drain, and exit non-zero so the process is restarted.
    onIngestLost: () => {
      logger.fatal('jetstream ingest lost for good; stopping so the process is restarted');
      void (running.stop?.() ?? Promise.resolve()).finally(() => process.exit(1));
    },
  });
  running.stop = app.stop;
  logger.info(
    {
      port: app.port,
      metricsPort: app.server.metricsPort,
      backend: config.backend,
      nats: Boolean(config.natsUrl),
      ...(config.natsUrl ? { natsPartitions: config.natsPartitions, natsReplicas: config.natsReplicas, natsConnection: describeNatsSecurity(config.natsSecurity) } : {}),
    },
    'feature-server ready',
  );
}

runMain(main);
