// `@pinrank/inference/internal`: the pieces the worker is built from, for other
// libraries' benchmarks and tests (batch stacking, the scheduler, the ONNX
// Runtime session), off the front page (src/index.ts) that apps and tools use.
export { concatAxis0, requestRows, splitOutputs, stackInputs, stackKey, type StackingLayout, type StackingMode } from './batch-stacking';
export { DynamicBatcher, type BatchCompute, type DynamicBatcherOptions } from './dynamic-batcher';
export { OrtModelSession, ortSessionOptions, type OrtSessionOptions } from './ort-backend';
