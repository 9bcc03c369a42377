import { type Logger } from 'pino';
import { RpcMetrics, createLogger } from '@pinrank/telemetry';
import { startServer, type RunningServer, type ServerOptions } from '@pinrank/service-kit';
import { InferenceMetrics } from './inference-metrics';
import { type ModelLifecycle } from './model-lifecycle';
import { ModelRepository, type VersionPolicy } from './model-repository';
import { ModelRepositoryManager, type ModelRepositoryManagerOptions } from './model-repository-manager';
import { inferenceService } from './oip-server';
import { RepositoryWatcher, type RepositoryWatcherOptions } from './repository-watcher';

/** Options of {@link startInferenceWorker}. */
export interface InferenceWorkerOptions {
  /** Service name in logs and metrics; default "inference-worker". */
  name?: string;
  /** The release reported by ServerMetadata; default "0.1.0". */
  version?: string;
  /** host:port of the gRPC server; port 0 picks a free port. */
  address: string;
  /** The model repository root (`<model>/<version>/{model.onnx,config.json}`). */
  repositoryRoot: string;
  /** What to serve and how (version policy, placements, providers, threads, batching). */
  models?: Omit<ModelRepositoryManagerOptions, 'repository' | 'metrics' | 'logger'>;
  /** Directory watching; default polling every 2 s with a 500 ms quiet period. */
  watch?: Pick<RepositoryWatcherOptions, 'mode' | 'pollIntervalMs' | 'debounceMs'>;
  /** Other server options (admin tokens, TLS, /metrics address, signals...). */
  server?: Omit<ServerOptions, 'name' | 'address' | 'services' | 'logger' | 'metrics' | 'onShutdown'>;
  logger?: Logger;
  /** Runs after the worker has drained calls and unloaded its models (e.g. flush telemetry). */
  onShutdown?: () => Promise<void> | void;
}

/** A running inference worker. */
export interface InferenceWorker {
  readonly server: RunningServer;
  /** What is served from the repository; load/unload/reconcile requests. */
  readonly repositoryManager: ModelRepositoryManager;
  /** The served versions' states (`index()`), ready instances and inference. */
  readonly lifecycle: ModelLifecycle;
  readonly watcher: RepositoryWatcher;
  /** Graceful stop: drain calls, stop watching, unload models. */
  close(): Promise<void>;
}

/**
 * Starts an inference worker: loads the repository, serves the Open
 * Inference Protocol (health NOT_SERVING until the first load finishes) and
 * watches the directory for new or replaced versions.
 */
export async function startInferenceWorker(options: InferenceWorkerOptions): Promise<InferenceWorker> {
  const name = options.name ?? 'inference-worker';
  const logger = options.logger ?? createLogger({ name });
  const rpcMetrics = new RpcMetrics();
  const repository = new ModelRepository(options.repositoryRoot);
  const metrics = new InferenceMetrics(rpcMetrics.registry);
  const repositoryManager = new ModelRepositoryManager({ ...options.models, repository, metrics, logger });
  const { lifecycle } = repositoryManager;
  metrics.trackStates(() => lifecycle.index());
  const defaultPolicy = options.models?.versionPolicy ?? { latest: 1 };
  const versionPolicy = (model: string): VersionPolicy => options.models?.versionPolicies?.[model] ?? defaultPolicy;
  const watcher = new RepositoryWatcher({ ...options.watch, repository, logger, onChange: (models) => repositoryManager.refresh(models) });
  let ready = false;
  const server = await startServer({
    ...options.server,
    name,
    address: options.address,
    services: [inferenceService({ repositoryManager, metrics, versionPolicy, isReady: () => ready, ...(options.version ? { serverVersion: options.version } : {}) })],
    logger,
    metrics: rpcMetrics,
    onShutdown: async () => {
      ready = false;
      await watcher.stop();
      await repositoryManager.close();
      await options.onShutdown?.();
    },
  });
  server.setServing(false);
  try {
    await watcher.start();
    await repositoryManager.loadAll();
  } catch (err) {
    await server.shutdown();
    throw err;
  }
  ready = true;
  server.setServing(true);
  logger.info({ models: lifecycle.index() }, 'inference worker ready');
  return { server, repositoryManager, lifecycle, watcher, close: () => server.shutdown() };
}
