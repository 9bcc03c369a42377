// The models (PinnerFormer, the TransAct ranker), their weights, ONNX export and the model
// repository entry: what training and the CLI call. The op interface's ONNX emitter, the
// blocks models are written with and the spec helpers are on `@pinrank/models/internal`.
export { type GatherCombineOp, type Ops, type ParamInit } from './ops/ops';
export { TfOps, type TfOpsOptions } from './ops/tf-ops';
export { initTfBackend, tfjs } from './ops/tf-runtime';
export {
  MODEL_NAMES,
  PINNERFORMER_CONSUMERS,
  type ConfigOptions,
  type FeedTensor,
  type Feeds,
  type GraphSpec,
  type ModelName,
  type ModelSpec,
  type SampleSize,
} from './models/model-definition';
export {
  pinnerformer,
  pinnerformerFeatureDim,
  pinnerformerHyperparams,
  pinnerformerItem,
  pinnerformerItemHyperparams,
  pinnerformerSequence,
  type PinnerformerHyperparams,
} from './models/pinnerformer';
export {
  transactEncoder,
  transactEncoderHyperparams,
  transactModelDim,
  type TransactEncoderHyperparams,
} from './models/transact-encoder';
export {
  rankingHeads,
  rankingHeadsHyperparams,
  rankingHeadsInputDim,
  rankingHeadsLite,
  type RankingHeadsHyperparams,
} from './models/ranking-heads';
export { createModel, isModelName } from './models/model-registry';
export { PINNERFORMER_ACTION_TYPES, pinnerformerFeeds, transactFeeds, type TransactCandidates } from './models/feeds';
export { SeededRandom, deriveSeed } from './weights/seeded-random';
export { WeightStore, type WeightTensor } from './weights/weight-store';
export {
  WEIGHTS_FORMAT,
  WEIGHTS_MAGIC,
  decodeWeights,
  encodeWeights,
  loadWeights,
  saveWeights,
  type WeightsFile,
  type WeightsHeader,
} from './weights/weight-file';
export { exportOnnx, type ExportOnnxOptions } from './run/onnx-export';
export { createCpuSession, runOnnx } from './run/onnx-run';
export { quantizeDynamic, type QuantizeDynamicOptions, type QuantizedModel } from './run/quantize-dynamic';
export { feedToTf, runTfForward, type HostTensor } from './run/tf-forward';
export { refreshModelConfig, type RefreshedConfig } from './repository/refresh-config';
export {
  DEFAULT_SEED,
  buildModelRepositoryEntry,
  sha256,
  verifyModel,
  type BuildModelEntryOptions,
  type BuiltModelEntry,
  type ManifestFile,
  type ModelManifest,
} from './repository/build-entry';
export { weightsFromOnnx } from './weights/onnx-weights';
