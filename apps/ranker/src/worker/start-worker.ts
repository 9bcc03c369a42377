import { type Tracer } from '@opentelemetry/api';
import { startInferenceWorker, type InferenceWorker } from '@pinrank/inference';
import { type ReflectionSource, type ServerOptions } from '@pinrank/service-kit';
import { type Logger } from 'pino';
import { workerModelOptions, type WorkerConfig, type WorkerRole } from './worker-config';

/** What the entry point hands the worker role besides its own configuration. */
export interface WorkerStartOptions {
  role: WorkerRole;
  config: WorkerConfig;
  /** Server options from the shared server variables (address, TLS, admin, drain...). */
  server: Omit<ServerOptions, 'name' | 'services' | 'logger' | 'metrics' | 'onShutdown'> & { address: string };
  logger: Logger;
  tracer?: Tracer;
  reflection?: ReflectionSource;
  /** Runs after the worker has drained and unloaded its models (flush telemetry). */
  onShutdown?: () => Promise<void> | void;
  /** Base for a relative RANKER_MODEL_REPOSITORY; default the working directory. */
  cwd?: string;
  /** The release ServerMetadata reports. */
  version?: string;
}

/** Starts an inference worker for a role: the Open Inference Protocol over the model repository. */
export function startWorker(o: WorkerStartOptions): Promise<InferenceWorker> {
  const { address, ...server } = o.server;
  return startInferenceWorker({
    name: `ranker-worker-${o.role}`,
    ...(o.version ? { version: o.version } : {}),
    address,
    ...workerModelOptions(o.config, o.cwd ?? process.cwd()),
    server: { ...server, ...(o.tracer ? { tracer: o.tracer } : {}), ...(o.reflection ? { reflection: o.reflection } : {}) },
    logger: o.logger,
    ...(o.onShutdown ? { onShutdown: o.onShutdown } : {}),
  });
}
