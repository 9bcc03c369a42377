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
  type BatchCompute,
  type BatchObserver,
  type DynamicBatcherOptions,
  type RejectReason,
  type ScheduleOptions,
  type Scheduler,
} from './dynamic-batcher';
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
export { perUserCompute } from './user-row-chunks';
export { DEFAULT_CPU_USER_ROW_CHUNK, ModelManager, type InferResult, type ModelManagerOptions, type ModelState, type ModelStatus } from './model-lifecycle';
export { RepositoryWatcher, type RepositoryWatcherOptions, type WatchMode } from './repository-watcher';
export { InferenceMetrics } from './inference-metrics';
export { inferenceService, platformWithProvider, type InferenceServiceOptions } from './oip-server';
export { startInferenceWorker, type InferenceWorker, type InferenceWorkerOptions } from './inference-worker';
