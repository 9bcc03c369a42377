// Model repository, lifecycle, ONNX Runtime sessions, dynamic batching and the Open Inference Protocol server.
export {
  OIP_DATATYPES,
  BYTES_PER_ELEMENT,
  allocateData,
  dtypeFromOip,
  elementCount,
  hostTensor,
  type HostTensor,
  type TensorData,
  type TensorMap,
} from './host-tensor';
export { decodeInferInputs, encodeInferOutputs, type DecodedInputs, type EncodedOutputs } from './tensor-codec';
export {
  checkInputsAgainstConfig,
  resolveRequestedOutputs,
  sessionContractProblems,
  type SessionSignature,
  type SessionTensorInfo,
} from './contract-check';
export {
  concatAxis0,
  requestRows,
  splitOutputs,
  stackInputs,
  stackKey,
  type StackingLayout,
  type StackingMode,
} from './batch-stacking';
export {
  DynamicBatcher,
  type BatchWork,
  type BatchCompute,
  type BatchInfo,
  type BatcherLimits,
  type BatchObserver,
  type DynamicBatcherOptions,
  type RejectReason,
  type ScheduleOptions,
  type Scheduler,
} from './dynamic-batcher';
export { computeIsolated, type GroupRun, type IsolatedResult, type RequestOutcome } from './batch-isolation';
export { RequestLimits, type RequestLimitsSource } from './request-limits';
export { gatherTables, resolveValueDomains, type EffectiveDomain, type GatherTable } from './value-domain';
export { OrtModelSession, cudaUnavailableReason, type OrtSessionOptions, type ProviderFallback } from './ort-backend';
export { warmupInputs } from './warmup';
export {
  CONFIG_FILE,
  MODEL_FILE,
  ModelRepository,
  compareVersions,
  selectVersions,
  type VersionOnDisk,
  type VersionPolicy,
} from './model-repository';
export { loadInstance, unloadInstance, type InstanceOptions, type ModelInstance } from './model-instance';
export {
  ModelLifecycle,
  type InferResult,
  type ModelLifecycleOptions,
  type ModelState,
  type ModelStatus,
  type VersionPlan,
} from './model-lifecycle';
export { ModelRepositoryManager, type ModelRepositoryManagerOptions } from './model-repository-manager';
export { RepositoryWatcher, type RepositoryWatcherOptions, type WatchMode } from './repository-watcher';
export { InferenceMetrics, type VersionState } from './inference-metrics';
export { ModelStatisticsRecorder } from './model-statistics';
export { tritonModelConfig, type ServedModel } from './triton-model-config';
export { STREAM_MAX_INFLIGHT } from './stream-infer';
export { inferenceService, platformWithProvider, type InferenceServiceOptions } from './oip-server';
export { startInferenceWorker, type InferenceWorker, type InferenceWorkerOptions } from './inference-worker';
