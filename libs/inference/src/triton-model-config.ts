import {
  InferenceDataType,
  ModelInstanceGroup_Kind,
  ModelQueuePolicy_TimeoutAction,
  type ModelConfig as TritonModelConfig,
  type ModelVersionPolicy,
} from '@pinrank/proto';
import { type ModelConfig, type TensorDType, type TensorSpec } from '@pinrank/contracts';
import { type BatcherLimits } from './dynamic-batcher';
import { MODEL_FILE, type VersionPolicy } from './model-repository';

const TRITON_TYPES: Record<TensorDType, InferenceDataType> = {
  float32: InferenceDataType.TYPE_FP32,
  float64: InferenceDataType.TYPE_FP64,
  int32: InferenceDataType.TYPE_INT32,
  int64: InferenceDataType.TYPE_INT64,
  bool: InferenceDataType.TYPE_BOOL,
};

/** What ModelConfig describes: a loaded version's config and the limits and provider it runs with. */
export interface ServedModel {
  config: ModelConfig;
  /** The batcher's limits in force (after the worker's caps). */
  limits: BatcherLimits;
  /** The execution provider the version runs on. */
  provider: string;
  /** The worker's version policy for this model. */
  versionPolicy: VersionPolicy;
}

function versionPolicy(policy: VersionPolicy): ModelVersionPolicy | undefined {
  if ('latest' in policy) return { policyChoice: { $case: 'latest', value: { numVersions: policy.latest } } };
  // Triton lists versions as integers; a non-numeric list has no Triton form (reported as a parameter instead).
  if (!policy.versions.every((v) => /^\d{1,15}$/.test(v))) return undefined;
  return { policyChoice: { $case: 'specific', value: { versions: policy.versions.map(Number) } } };
}

/**
 * A served model version in Triton's ModelConfig form. Triton batches along an
 * implicit first axis shared by every input and output; pinrank's `concat`
 * batching is exactly that, so such models report `max_batch_size` (the
 * batcher's limit) and dims without that axis. `user_rows` models (user rows
 * and candidate rows have different first axes) and `none` models report
 * `max_batch_size` 0 and their full shapes: a Triton client sends whole
 * tensors, which is what they take. Dynamic batching is reported when the
 * batcher can stack more than one row; instance groups follow the config's
 * placement, with the batches computed at once as the count.
 */
export function tritonModelConfig(m: ServedModel): TritonModelConfig {
  const { config, limits } = m;
  const tensors = [...config.inputs, ...config.outputs];
  const implicitBatch = limits.mode === 'concat' && tensors.every((t) => t.shape[0] === -1);
  const dims = (t: TensorSpec): number[] => (implicitBatch ? t.shape.slice(1) : [...t.shape]);
  const policy = versionPolicy(m.versionPolicy);
  const parameters: Record<string, { stringValue: string }> = {
    'pinrank.placement': { stringValue: config.placement },
    'pinrank.execution_provider': { stringValue: m.provider },
    'pinrank.batching_mode': { stringValue: limits.mode },
    'pinrank.version': { stringValue: config.version },
  };
  if (!policy && 'versions' in m.versionPolicy) parameters['pinrank.version_policy'] = { stringValue: `versions: ${m.versionPolicy.versions.join(', ')}` };
  return {
    name: config.name,
    platform: config.platform,
    backend: 'onnxruntime',
    ...(policy ? { versionPolicy: policy } : {}),
    maxBatchSize: implicitBatch ? limits.maxBatchSize : 0,
    input: config.inputs.map((t) => ({ name: t.name, dataType: TRITON_TYPES[t.dtype], dims: dims(t) })),
    output: config.outputs.map((t) => ({ name: t.name, dataType: TRITON_TYPES[t.dtype], dims: dims(t) })),
    instanceGroup: [
      {
        name: `${config.name}_0`,
        kind: config.placement === 'gpu' ? ModelInstanceGroup_Kind.KIND_GPU : ModelInstanceGroup_Kind.KIND_CPU,
        count: limits.maxConcurrentBatches,
        gpus: [],
      },
    ],
    defaultModelFilename: MODEL_FILE,
    ...(limits.mode !== 'none' && limits.maxBatchSize > 1
      ? {
          schedulingChoice: {
            $case: 'dynamicBatching' as const,
            value: {
              preferredBatchSize: [limits.maxBatchSize],
              maxQueueDelayMicroseconds: Math.round(limits.maxQueueDelayMs * 1000),
              preserveOrdering: false,
              defaultQueuePolicy: {
                timeoutAction: ModelQueuePolicy_TimeoutAction.REJECT,
                defaultTimeoutMicroseconds: 0,
                allowTimeoutOverride: true,
                maxQueueSize: limits.queueLimit,
              },
            },
          },
        }
      : {}),
    parameters,
  };
}
