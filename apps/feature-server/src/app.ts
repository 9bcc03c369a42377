import { DEFAULT_SEQUENCE_TYPES } from '@pinrank/features';
import { startServer, type DataClientSecurity, type RunningServer, type ServerOptions } from '@pinrank/service-kit';
import { RpcMetrics } from '@pinrank/telemetry';
import { Registry } from 'prom-client';
import { CachedContentSource, type ContentVectorSource } from './enrich/content-source';
import { GrpcContentSource, type GrpcContentSourceOptions } from './enrich/grpc-content-source';
import { Ingester } from './ingest/ingester';
import { NatsActionConsumer, type NatsConsumerOptions } from './ingest/nats-consumer';
import { DEFAULT_VALIDATION_LIMITS, type ValidationLimits } from './ingest/validate';
import { FeatureServerMetrics } from './metrics';
import { SequenceReader } from './read/sequence-reader';
import { featureServerService } from './service';
import { type ActionStore, type RetentionPolicy } from './store/action-store';
import { LmdbActionStore } from './store/lmdb-action-store';
import { RedisActionStore, type RedisLayoutChoice } from './store/redis-action-store';
import { type TakeoverSweep, type TakeoverSweepOptions } from './store/redis-takeover-sweep';

/** Everything the feature-server needs to run; `withAppDefaults` fills the optional parts. */
export interface FeatureServerAppOptions {
  /** gRPC server options (address, TLS, admin tokens, logger, ...); name, services and metrics are set here. */
  server: Omit<ServerOptions, 'name' | 'services' | 'metrics'>;
  /** Storage backend. */
  backend:
    | { kind: 'lmdb'; path: string }
    | { kind: 'redis'; url: string; cluster?: boolean; keyPrefix?: string; layout?: RedisLayoutChoice; takeoverSweep?: TakeoverSweepOptions; security?: DataClientSecurity };
  /** Content vector source: embedding-store address (and TLS of that client), or a source object (tests, tools). */
  content: Pick<GrpcContentSourceOptions, 'address' | 'deadlineMs' | 'connect'> | { source: ContentVectorSource };
  /** Content cache capacity (items). Default 100000. */
  cacheCapacity?: number;
  /** Sequence reads through the store's fast path where it has one (LMDB): SequenceReaderOptions.storeFastPath. Default true. */
  readFastPath?: boolean;
  /** Sequence action types kept up to `maxSequenceActions`; other types up to `maxOtherActions`. Defaults: clicks, saves, close-ups, hides; 256; 64. */
  retention?: Partial<RetentionPolicy>;
  /** Record limits. Default DEFAULT_VALIDATION_LIMITS. */
  limits?: Partial<ValidationLimits>;
  /** JetStream ingest; default off. */
  nats?: NatsConsumerOptions;
  /** Called once if the JetStream connection closes for good while the server runs (main exits, to be restarted). */
  onIngestLost?: (err: Error) => void;
}

/** A running feature-server. */
export interface FeatureServerApp {
  readonly server: RunningServer;
  readonly port: number;
  readonly store: ActionStore;
  readonly metrics: FeatureServerMetrics;
  /** Stops the gRPC server and the JetStream consumer, then closes the store. Idempotent. */
  stop(): Promise<void>;
}

/** Default retention: engagements and hides up to 256, impressions up to 64 per user. */
export const DEFAULT_RETENTION: RetentionPolicy = { sequenceTypes: DEFAULT_SEQUENCE_TYPES, maxSequenceActions: 256, maxOtherActions: 64 };

/** Opens the store, wires ingest and reads, starts gRPC (and JetStream when configured). */
export async function startFeatureServer(options: FeatureServerAppOptions): Promise<FeatureServerApp> {
  const retention: RetentionPolicy = { ...DEFAULT_RETENTION, ...options.retention };
  const limits: ValidationLimits = { ...DEFAULT_VALIDATION_LIMITS, ...options.limits };
  const registry = new Registry();
  const metrics = new FeatureServerMetrics(registry);
  const rpcMetrics = new RpcMetrics({ registry });

  const store: ActionStore =
    options.backend.kind === 'lmdb'
      ? LmdbActionStore.open({ path: options.backend.path, retention })
      : await RedisActionStore.open({
          url: options.backend.url,
          cluster: options.backend.cluster ?? false,
          keyPrefix: options.backend.keyPrefix,
          retention,
          ...(options.backend.layout ? { layout: options.backend.layout } : {}),
          ...(options.backend.security ? { security: options.backend.security } : {}),
          ...(options.server.logger ? { logger: options.server.logger } : {}),
        });
  const remote = 'source' in options.content ? options.content.source : new GrpcContentSource(options.content);
  const cache = new CachedContentSource(remote, { capacity: options.cacheCapacity ?? 100_000 });
  metrics.cacheStats = () => cache.stats;
  const ingester = new Ingester(store, cache, { limits, metrics });
  const reader = new SequenceReader(store, { includeTypes: retention.sequenceTypes, storeFastPath: options.readFastPath ?? true });

  let consumer: NatsActionConsumer | undefined;
  let sweep: TakeoverSweep | undefined;
  let server: RunningServer;
  try {
    server = await startServer({
      ...options.server,
      name: 'feature-server',
      services: [featureServerService({ ingester, reader, store })],
      metrics: rpcMetrics,
      onShutdown: async () => {
        await consumer?.stop();
        await sweep?.stop();
        await store.close();
        if (remote instanceof GrpcContentSource) remote.close();
        await options.server.onShutdown?.();
      },
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  if (store instanceof RedisActionStore) {
    metrics.redisLayoutMark = () => store.layoutMark;
    // A prefix taken over from the ids layout: move what is left, then drop the extra EXISTS per read.
    if (store.layoutMark === 'records+ids') {
      const tuning = options.backend.kind === 'redis' ? options.backend.takeoverSweep : undefined;
      try {
        sweep = store.startTakeoverSweep({ logger: server.logger, onMoved: (n) => metrics.redisUsersMoved.inc(n), ...tuning });
      } catch (err) {
        await server.shutdown();
        throw err;
      }
    }
  }
  if (options.nats) {
    try {
      consumer = await NatsActionConsumer.start(ingester, options.nats, { metrics, logger: server.logger, ...(options.onIngestLost ? { onLost: options.onIngestLost } : {}) });
    } catch (err) {
      await server.shutdown();
      throw err;
    }
  }
  const running = server;
  return { server: running, port: running.port, store, metrics, stop: () => running.shutdown() };
}
