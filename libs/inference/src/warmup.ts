import { type ModelConfig } from '@pinrank/contracts';
import { allocateData, elementCount, type TensorMap } from './host-tensor';

/**
 * Zero-filled inputs that satisfy the model's config, used to warm a session
 * before it reports ready: dynamic axis 0 takes `batchSize` rows (user inputs
 * of a user_rows model take one user row, and the index names row 0), other
 * dynamic axes take 1.
 */
export function warmupInputs(config: ModelConfig, batchSize: number): TensorMap {
  const users = new Set(config.batching.mode === 'user_rows' ? config.batching.userInputs : []);
  const inputs: TensorMap = {};
  for (const spec of config.inputs) {
    const dims = spec.shape.map((d, axis) => {
      if (d !== -1) return d;
      if (axis === 0) return users.has(spec.name) ? 1 : batchSize;
      return 1;
    });
    inputs[spec.name] = { dtype: spec.dtype, dims, data: allocateData(spec.dtype, elementCount(dims)) };
  }
  return inputs;
}

/**
 * The batch sizes a version is warmed at: `override` (the worker's
 * RANKER_WARMUP_BATCH_SIZES) or the config's `warmup.batchSizes`, else its
 * `warmup.batchSize`; each capped at `maxBatchSize`, without repeats.
 */
export function warmupBatchSizes(config: ModelConfig, maxBatchSize: number, override?: readonly number[]): number[] {
  const sizes = override && override.length > 0 ? override : (config.warmup.batchSizes ?? [config.warmup.batchSize]);
  return [...new Set(sizes.map((n) => Math.max(1, Math.min(n, maxBatchSize))))];
}
