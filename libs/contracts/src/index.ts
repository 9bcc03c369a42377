// The shared formats as validated schemas: model config, vector files, experiments. Low-level
// format plumbing other libraries build readers from is on `@pinrank/contracts/internal`.
export { ContractError } from './contract-error';
export { actionPartition, actionStreamPartitions, actionSubject, MAX_ACTION_PARTITIONS, type ActionStreamPartition } from './action-partitions';
export { RowCache } from './row-cache';
export {
  EXECUTION_PROVIDERS,
  TENSOR_DTYPES,
  loadModelConfig,
  parseModelConfig,
  type BatchingConfig,
  type ExecutionProvider,
  type ModelConfig,
  type TensorDType,
  type TensorSpec,
  type ValueDomain,
  type RequestLimitsConfig,
} from './model-config';
export {
  MAX_ID_BYTES,
  VECTOR_FILE_KINDS,
  type VectorFileHeader,
  type VectorFileHeaderInput,
  type VectorFileKind,
  type VectorRecord,
} from './vector-file-format';
export { VectorFileWriter } from './vector-file-writer';
export { readVectorFile, readVectorFileHeader } from './vector-file-reader';
export {
  ARM_PARAMETERS,
  armTrafficShare,
  EXPERIMENT_SCORERS,
  loadExperimentsConfig,
  parseExperimentsConfig,
  parseExperimentsJson,
  type ExperimentArmConfig,
  type ExperimentConfig,
  type ExperimentLayerConfig,
  type ExperimentScorer,
  type ExperimentsConfig,
} from './experiment-config';
export { SERVICE_IDENTITIES, type ServiceIdentity } from './service-identities';
