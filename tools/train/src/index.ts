export { initTraining, type InitTrainingOptions } from './init-training';
export {
  fastWasmKernelsRegistered,
  registerFastWasmKernels,
  unregisterFastWasmKernels,
} from './wasm-kernels/register';
export { logSumExp } from './wasm-kernels/log-sum-exp';

// PinnerFormer training, example building and evaluation.
export { loadTrainingWorld, type LoadWorldOptions, type PositiveAction, type TrainingWorld } from './data/world-data';
export { sequenceAt } from './data/sequences';
export { ExampleSource, OBJECTIVES, type ExampleBatch, type ExampleOptions, type Objective, type Target } from './data/examples';
export { NEGATIVE_MODES, buildLogitBias, sampledSoftmaxLoss, type LogitBiasInput, type NegativeMode } from './pinnerformer/loss';
export { defaultWindowDays, resolveTrainOptions, type ResolvedTrainOptions, type TrainOptions } from './pinnerformer/options';
export { trainPinnerformer, type TrainedPinnerformer } from './pinnerformer/trainer';
export { initModelTraining } from './pinnerformer/init-backend';
export { runPinnerformer, runSummary, summarise, type RunPinnerformerOptions, type RunPinnerformerResult, type RunSummary } from './pinnerformer/run-pinnerformer';
export { type CurveRow } from './pinnerformer/learning-curve';
export { buildCutoffCases, buildEvalCases, randomIndex, type CutoffCaseOptions, type EvalCase, type EvalCaseOptions } from './eval/eval-cases';
export {
  evaluateRetrieval,
  evaluateRetrievalScorer,
  meanContentMethod,
  pinnerformerMethod,
  popularityMethod,
  queryTime,
  type CaseScorer,
  type GroupRecall,
  type InferenceMode,
  type ItemGrouping,
  type RetrievalMethod,
  type RetrievalMetrics,
} from './eval/retrieval-eval';
export {
  SESSION_GROUPS,
  evaluatePinnerformer,
  resolveEvalOptions,
  sessionContinuation,
  withHeldOut,
  type CutoffMetrics,
  type PinnerformerEvalOptions,
  type PinnerformerEvaluation,
} from './eval/pinnerformer-report';
export { worldCheck, type WorldCheck, type WorldCheckOptions } from './eval/world-check';
export { expectedRank, meanAndStdError, meanOverRuns, meanStd, p90Coverage, pairedDifference, topK } from './eval/metrics';

// TransAct ranker training (transact_encoder + ranking_heads), ablations, evaluation and export.
export { COMPRESSIONS, resolveRankerOptions, type Compression, type RankerTrainOptions, type RankerVariant, type ResolvedRankerOptions } from './ranker/options';
export { DEFAULT_LABEL_WEIGHTS, HEADS, OUTCOMES, RANKING_HEAD_WEIGHTS, headTargets, targetsAndWeights, weightedBce, type Head, type LabelWeights } from './ranker/loss';
export { applyTimeWindowMask, drawTimeWindow } from './ranker/time-window';
export { loadRankerData, type RankRequest, type RankerData, type RankerDataOptions } from './ranker/ranker-data';
export { PfSnapshots } from './ranker/pf-snapshots';
export { buildRankerBatch, type BatchOptions, type RankerBatch } from './ranker/batch';
export { rankerForward, rankerSpecs, type RankerModel } from './ranker/ranker-model';
export { loadRankerInputs, trainRanker, type TrainedRanker } from './ranker/trainer';
export { exportRanker, saveRankerWeights, type ExportRankerOptions } from './ranker/export-ranker';
export { runRanker, type RunRankerOptions, type RunRankerResult } from './ranker/run-ranker';
export { evaluateScorer, evaluationRequests, oracleScorer, trainedScorer, type EvalSelection, type RankerEvaluation, type RequestScorer } from './ranker-eval/evaluate-ranker';
export { checkOnnxParity, type ParityResult } from './ranker-eval/onnx-parity';
export { openOnnxRanker, type OnnxRanker } from './ranker-eval/onnx-scorer';
export { ProbeWorldTooSmall, realtimeProbe, type BatchScorer, type BurstResponse, type RealtimeProbeOptions, type RealtimeProbeResult } from './ranker-eval/realtime-probe';
export { probeExportedRanker, type ProbeExportedOptions } from './ranker-eval/probe-exported';
export { encoderAgreement, type EncoderAgreement, type EncoderAgreementOptions } from './ranker-eval/encoder-agreement';
export { entropyBits, hitsAtK, meanAndSpread, rocAuc, topIndices } from './ranker-eval/ranking-metrics';
export { reportSvg, reportTable, summariseRankerRuns, type ReportRow } from './ranker-eval/ranker-report';
export { evaluatePinnerformerRun, loadPinnerformerRun, loadRepositoryPinnerformer, type EvaluateRunOptions, type LoadedRun } from './eval/evaluate-run';
export {
  compareGroups,
  compareTable,
  comparisonTable,
  cutoffRecallSvg,
  readRuns,
  summariseGroup,
  validationCurveSvg,
  type ComparedRun,
  type Comparison,
  type GroupSummary,
  type Spread,
} from './eval/pinnerformer-compare';
