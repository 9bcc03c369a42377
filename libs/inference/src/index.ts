// @pinrank/inference, front page. Two audiences:
//  - the inference contract shared by workers and their clients (the router,
//    the model build): host tensors and their OIP / pinrank.v1.Tensor
//    encodings, the model repository on disk ("newest version" has one meaning),
//    and the one model-vs-config check;
//  - the inference worker: start one, read its lifecycle states.
// Its parts (batch stacking, the dynamic batcher, model instances, the ONNX
// Runtime backend, metrics, warm-up) are internals, imported inside the lib only.

// Inference contract.
export { OIP_DATATYPES, hostTensor, type HostTensor, type TensorData, type TensorMap } from './host-tensor';
export {
  decodeInferInputs,
  decodeInferOutput,
  encodeInferInputs,
  encodeInferOutputs,
  type DecodedInputs,
  type EncodedInputs,
  type EncodedOutputs,
} from './tensor-codec';
export { float16Bits, float16Value, fromFloat16, toFloat16 } from './float16';
export { decodeTensorMessage, encodeTensorMessage, type MessageDType, type MessageTensor } from './tensor-message';
export {
  checkSessionAgainstConfig,
  sessionContractProblems,
  sessionSignature,
  type ContractCheckOptions,
  type SessionSignature,
  type SessionTensorInfo,
} from './contract-check';
export {
  CONFIG_FILE,
  MODEL_FILE,
  ModelRepository,
  compareVersions,
  selectVersions,
  type VersionOnDisk,
  type VersionPolicy,
} from './model-repository';

// The inference worker.
export {
  DEFAULT_CPU_USER_ROW_CHUNK,
  ModelLifecycle,
  type InferResult,
  type ModelLifecycleOptions,
  type ModelState,
  type ModelStatus,
  type VersionPlan,
} from './model-lifecycle';
export { ModelRepositoryManager, type ModelRepositoryManagerOptions } from './model-repository-manager';
export { perUserCompute } from './user-row-chunks';
export { RepositoryWatcher, type RepositoryWatcherOptions, type WatchMode } from './repository-watcher';
export { inferenceService, platformWithProvider, type InferenceServiceOptions } from './oip-server';
export { FIRST_VERSION_PARAM, THEN_MODEL_PARAM, THEN_VERSION_PARAM } from './chained-infer';
export { CANCEL_PARAM, isCancelMessage, MAX_TIMEOUT_US, requestDeadline, requestTimeoutMs, TIMEOUT_PARAM, TRACEPARENT_PARAM } from './request-params';
export { StreamCancels, type TrackedRequest } from './stream-cancels';
export { RunSlots } from './run-slots';
export { STREAM_MAX_INFLIGHT, STREAM_READ_AHEAD } from './stream-infer';
export { inferStreamClient, type InferStream, type InferStreamOptions } from './stream-infer-client';
export { startInferenceWorker, type InferenceWorker, type InferenceWorkerOptions } from './inference-worker';
