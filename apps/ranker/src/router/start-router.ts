import { startServer, type RunningServer } from '@pinrank/service-kit';
import { RpcMetrics } from '@pinrank/telemetry';
import { loadModelSet, type ModelSet } from './model-set';
import { Popularity } from './popularity';
import { ArmMetrics } from './experiments/arm-metrics';
import { type PlanContext } from './experiments/compile-plan';
import { ExperimentStore } from './experiments/experiment-store';
import { experimentsService } from './experiments/experiments-service';
import { openRequestLog, type RequestLog } from './request-log';
import { AdmissionController } from './admission';
import { FallbackPolicy } from './fallback-policy';
import { PoolInference } from './infer-client';
import { mayChainOnCpuGpuPool } from './rank-request';
import { rankerService } from './ranker-service';
import { RouterMetrics } from './router-metrics';
import { withRouterDefaults, type ResolvedRouterOptions, type RouterOptions } from './router-options';
import { GrpcUpstreams } from './upstreams';
import { VectorCache } from './vector-cache';
import { createWorkerPool, type WorkerPool } from './worker-pool';

/** A running router: the Ranker gRPC server and what it resolved at start-up. */
export interface RunningRouter {
  /** The bound port of the Ranker API. */
  readonly port: number;
  /** The underlying service-kit server (health, metrics, logger). */
  readonly server: RunningServer;
  /** The options with defaults filled in. */
  readonly options: ResolvedRouterOptions;
  /** The models and versions the router routes to, with their placement. */
  readonly models: ModelSet;
  /** The experiment configuration serving now, its counters and reloads. */
  readonly experiments: ExperimentStore;
  /** The worker pools by name. */
  readonly pools: Readonly<Record<'gpu' | 'cpu', WorkerPool>>;
  /** Resolves once the router has shut down. */
  readonly closed: Promise<void>;
  /** Graceful stop: drains the server, then closes pools, clients and the request log. */
  shutdown(): Promise<void>;
}

/**
 * Starts the router role: reads the model configs (placement, heads,
 * PinnerFormer version), the popularity catalog, opens the worker pools, the
 * upstream clients and the request log, and serves the Ranker API.
 * Thrown by: invalid options (TypeError), a missing or invalid model config or catalog.
 */
export async function startRouter(options: RouterOptions): Promise<RunningRouter> {
  const o = withRouterDefaults(options);
  const models = await loadModelSet(o);
  for (const head of Object.keys(o.headWeights)) {
    if (!models.heads.headNames.includes(head)) {
      throw new TypeError(`router: headWeights names head "${head}"; ${models.heads.name}/${models.heads.version} has ${models.heads.headNames.join(', ')}`);
    }
  }
  const popularity = o.catalogPath ? await Popularity.fromCatalog(o.catalogPath, o.popularityListSize) : Popularity.empty();
  let logger = o.logger;
  const metrics = new RpcMetrics();
  const connect = { ...o.clients, metrics };
  const [gpu, cpu] = await Promise.all([
    createWorkerPool('gpu', o.gpuWorkers, o.startupHealthWaitMs, { ...connect, inferStreams: o.inferStreams, ...(logger ? { logger } : {}) }),
    createWorkerPool('cpu', o.cpuWorkers, o.startupHealthWaitMs, { ...connect, inferStreams: o.inferStreams, ...(logger ? { logger } : {}) }),
  ]);
  const pools = { gpu, cpu };
  const upstreams = new GrpcUpstreams(o.featureServer, o.embeddingStore, connect, { lookupStreams: o.lookupStreams });
  const vectorCache = o.vectorCacheItems > 0 ? new VectorCache({ items: o.vectorCacheItems, users: o.vectorCacheUsers }) : undefined;
  let experiments: ExperimentStore | undefined;
  let requestLog: RequestLog | undefined;
  const closeAll = async (): Promise<void> => {
    try {
      experiments?.close();
      pools.gpu.close();
      pools.cpu.close();
      upstreams.close();
      await requestLog?.close();
    } finally {
      await o.onShutdown?.();
    }
  };
  let server: RunningServer;
  try {
    const defaults = { models, headWeights: o.headWeights };
    const planContext = async (): Promise<PlanContext> => ({ options: o, defaults, snapshots: await upstreams.snapshotVersions(2000) });
    experiments = await ExperimentStore.open(o.experiments, defaults, planContext, new ArmMetrics(metrics.registry), () => logger);
    const admission = o.admission === false ? undefined : new AdmissionController(o.admission);
    const routerMetrics = new RouterMetrics(metrics.registry, admission, vectorCache);
    requestLog = await openRequestLog(
      o.requestLog,
      (err) => logger?.warn({ err }, 'request log write failed'),
      () => routerMetrics.requestLogDropped.inc(),
    );
    const fallback = new FallbackPolicy({
      mode: o.gpuFallback,
      liteModelName: o.models.lite,
      hasHealthyWorker: (pool) => pools[pool].pick() !== undefined,
      healthyWorkers: (pool) => pools[pool].healthyCount(),
      fallbackChunksPerWorker: o.fallbackChunksPerWorker,
    });
    const inference = new PoolInference(pools, o.maxInferAttempts);
    // Ask the GPU pool's workers now whether they compute on a CPU with the heads loaded (autoChain), so
    // the first requests need not go split while the answers are on their way.
    if (mayChainOnCpuGpuPool(o, models)) inference.computesOnCpuWith('gpu', models.encoder, models.heads);
    const service = rankerService({ options: o, upstreams, inference, fallback, popularity, vectorCache, requestLog, experiments, routerMetrics, ...(admission ? { admission } : {}) });
    server = await startServer({
      name: 'ranker-router',
      address: o.address,
      services: [service, experimentsService(experiments)],
      metrics,
      ...o.server,
      ...(o.logger ? { logger: o.logger } : {}),
      onShutdown: closeAll,
    });
  } catch (err) {
    await closeAll();
    throw err;
  }
  logger ??= server.logger;
  server.logger.info(
    {
      encoder: `${models.encoder.name}/${models.encoder.version}@${models.encoder.placement}`,
      heads: `${models.heads.name}/${models.heads.version}@${models.heads.placement}`,
      lite: models.lite ? `${models.lite.name}/${models.lite.version}@${models.lite.placement}` : 'none',
      pinnerformerVersion: models.pinnerformerVersion,
      gpuWorkers: o.gpuWorkers,
      cpuWorkers: o.cpuWorkers,
      experiments: experiments.current.source ? `${experiments.current.source} (version "${experiments.current.version}", ${experiments.current.arms.length} arms)` : 'none',
    },
    'router ready',
  );
  return { port: server.port, server, options: o, models, pools, experiments, closed: server.closed, shutdown: () => server.shutdown() };
}
