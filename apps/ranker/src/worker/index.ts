// The worker role of the ranker (--role gpu|cpu): configuration and start-up.
export { startWorker, type WorkerStartOptions } from './start-worker';
export {
  WORKER_ROLE_DEFAULTS,
  parseVersionPolicy,
  readWorkerConfig,
  workerModelOptions,
  workerVars,
  type WorkerConfig,
  type WorkerRole,
} from './worker-config';
