// The router role of the ranker: the public Ranker API over feature-server, embedding-store and the worker pools.
export { startRouter, type RunningRouter } from './start-router';
export { routerOptionsFromEnv, routerVars, type RouterVarsConfig } from './router-env';
export {
  withRouterDefaults,
  DEFAULT_HEAD_WEIGHTS,
  type RouterOptions,
  type ResolvedRouterOptions,
  type RouterModelNames,
  type GpuFallback,
  type SnapshotMismatchPolicy,
  type UnknownCandidatePolicy,
  type SequenceMode,
  type RequestLogOptions,
  type ExperimentsSource,
} from './router-options';
export { type RequestLogEntry } from './request-log';
