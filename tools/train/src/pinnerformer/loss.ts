import type * as TF from '@tensorflow/tfjs';
import { logSumExp } from '../wasm-kernels/log-sum-exp';

/** Negative pools of the sampled softmax. */
export const NEGATIVE_MODES = ['mixed', 'in-batch', 'random'] as const;
/** One of `NEGATIVE_MODES`. */
export type NegativeMode = (typeof NEGATIVE_MODES)[number];

/** Additive bias of a masked logit (finite, as in the models' attention masks). */
export const MASKED_LOGIT = -1e9;

/** What the logit bias of one batch is built from. */
export interface LogitBiasInput {
  /** Positive item of each target (T). Column t of the in-batch block is target t's positive. */
  targetItems: ArrayLike<number>;
  /** Row (sequence) of each target (T). */
  targetRows: ArrayLike<number>;
  /** Uniformly sampled random negatives (R; empty for in-batch only). */
  randomItems: ArrayLike<number>;
  /** Items each row's user engaged with: never negatives for that row. */
  ownPositives: readonly ReadonlySet<number>[];
  negatives: NegativeMode;
  /** Subtract log of each item's expected count in the negative pool. */
  logQ: boolean;
  /** Probability that an in-batch positive is this item (estimated from training counts). */
  itemProbability: (item: number) => number;
  /** Catalog size (the uniform pool's support). */
  numItems: number;
}

/**
 * The `[T, T+R]` additive bias of the sampled-softmax logits: `−log E[count of
 * item j among the sampled candidates]` when `logQ` is set (in-batch pool T·q_j,
 * uniform pool R/N, summed for the mixed pool; the same correction for the
 * positive column, so a uniform-only pool's correction cancels), and
 * `MASKED_LOGIT` for every candidate other than the target's own column that is
 * one of the row's own positives or the target's item (accidental hits), and
 * for the whole in-batch block but the diagonal when the pool is random only.
 */
export function buildLogitBias(input: LogitBiasInput): Float32Array {
  const T = input.targetItems.length;
  const R = input.randomItems.length;
  const C = T + R;
  if (input.targetRows.length !== T) throw new RangeError(`targetRows has ${input.targetRows.length} entries for ${T} targets`);
  if (input.negatives === 'in-batch' && R > 0) throw new RangeError('in-batch negatives take no random items');
  const inBatchWeight = input.negatives === 'random' ? 0 : T;
  const randomWeight = input.negatives === 'in-batch' ? 0 : R / input.numItems;
  const correction = (item: number): number =>
    input.logQ ? -Math.log(inBatchWeight * input.itemProbability(item) + randomWeight) : 0;
  const columnItem = (j: number): number => (j < T ? input.targetItems[j]! : input.randomItems[j - T]!);
  const columnCorrection = Float32Array.from({ length: C }, (_, j) => correction(columnItem(j)));
  const bias = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    const own = input.ownPositives[input.targetRows[t]!];
    if (!own) throw new RangeError(`target ${t}: no own-positive set for row ${input.targetRows[t]}`);
    const positive = input.targetItems[t]!;
    for (let j = 0; j < C; j++) {
      const item = columnItem(j);
      const masked = j !== t && ((j < T && input.negatives === 'random') || item === positive || own.has(item));
      bias[t * C + j] = masked ? MASKED_LOGIT : columnCorrection[j]!;
    }
  }
  return bias;
}

/**
 * Sampled softmax over cosine scores: logits = (users · candidatesᵀ) / τ + bias,
 * loss = mean over targets of logsumexp(row) − logit of the target's column
 * (column t). `users` [T,D] and `candidates` [T+R,D] are L2-normalised;
 * `inverseTemperature` is a scalar tensor (1/τ).
 */
export function sampledSoftmaxLoss(
  tf: typeof TF,
  users: TF.Tensor,
  candidates: TF.Tensor,
  inverseTemperature: TF.Tensor,
  bias: TF.Tensor,
): TF.Scalar {
  const T = users.shape[0] as number;
  const C = candidates.shape[0] as number;
  const logits = tf.add(tf.mul(tf.matMul(users, candidates, false, true), inverseTemperature), bias);
  const diagonal = new Float32Array(T * C);
  for (let t = 0; t < T; t++) diagonal[t * C + t] = 1;
  const positive = tf.sum(tf.mul(logits, tf.tensor2d(diagonal, [T, C])), -1);
  return tf.mean(tf.sub(logSumExp(logits, -1), positive)) as TF.Scalar;
}

/** Upper bound of 1/τ (τ ≥ 0.01). */
export const MAX_INVERSE_TEMPERATURE = 100;

/** 1/τ from its unconstrained parameter: 100·sigmoid(w), so τ ≥ 0.01. */
export function inverseTemperature(tf: typeof TF, w: TF.Tensor): TF.Tensor {
  return tf.mul(tf.sigmoid(w), MAX_INVERSE_TEMPERATURE);
}

/** The unconstrained parameter that gives temperature `tau` (inverse of `inverseTemperature`). */
export function temperatureParameter(tau: number): number {
  const s = 1 / tau / MAX_INVERSE_TEMPERATURE;
  return Math.log(s / (1 - s));
}
