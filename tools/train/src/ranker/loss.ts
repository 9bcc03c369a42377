import type * as TF from '@tensorflow/tfjs';

/** Heads of the ranker, in the model's output order (the ranking heads' default `heads`). */
export const HEADS = ['save', 'click', 'hide'] as const;
/** One of `HEADS`. */
export type Head = (typeof HEADS)[number];
/** The router's default ranking score weights (apps/ranker DEFAULT_HEAD_WEIGHTS): what evaluation ranks by. */
export const RANKING_HEAD_WEIGHTS: Readonly<Record<Head, number>> = Object.freeze({ save: 1, click: 0.3, hide: -2 });
/** Outcomes of an impression (proto ActionType 1..5), the rows of the label-weight matrix. */
export const OUTCOMES = ['impression', 'click', 'save', 'closeup', 'hide'] as const;
/** `labelWeights[outcome row][head column]`: the loss weight of each head for an example with that outcome. */
export type LabelWeights = ReadonlyArray<ReadonlyArray<number>>;

/**
 * Default label-weight matrix: every head weighs 1, except that a hide
 * doubles the weight of the save and click heads (a hidden item is a strong
 * negative for them), the published example of such a matrix.
 */
export const DEFAULT_LABEL_WEIGHTS: LabelWeights = [
  [1, 1, 1], // impression only
  [1, 1, 1], // click
  [1, 1, 1], // save
  [1, 1, 1], // close-up
  [2, 2, 1], // hide
];

/**
 * Head targets of one impression from its outcome (proto ActionType):
 * save ← save; click ← click or close-up (both open the pin); hide ← hide.
 * Thrown by: an outcome outside 1..5 (RangeError).
 */
export function headTargets(outcome: number): [number, number, number] {
  if (!Number.isInteger(outcome) || outcome < 1 || outcome > 5) throw new RangeError(`outcome must be a proto ActionType in 1..5, got ${outcome}`);
  return [outcome === 3 ? 1 : 0, outcome === 2 || outcome === 4 ? 1 : 0, outcome === 5 ? 1 : 0];
}

/** Targets and per-head weights `[N, HEADS]` (row-major) of a batch of outcomes, from the label-weight matrix. */
export function targetsAndWeights(outcomes: ArrayLike<number>, labelWeights: LabelWeights): { targets: Float32Array; weights: Float32Array } {
  const H = HEADS.length;
  const targets = new Float32Array(outcomes.length * H);
  const weights = new Float32Array(outcomes.length * H);
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i] as number;
    targets.set(headTargets(o), i * H);
    const row = labelWeights[o - 1];
    if (!row) throw new RangeError(`no label-weight row for outcome ${o}`);
    for (let h = 0; h < H; h++) weights[i * H + h] = row[h] ?? 0;
  }
  return { targets, weights };
}

/** Probabilities are clipped away from 0 and 1 so the logarithms stay finite. */
export const PROB_EPS = 1e-7;

/**
 * Weighted multi-task binary cross-entropy on sigmoid outputs:
 * Σ_examples Σ_heads −w·[y log p + (1−y) log(1−p)] divided by the number of
 * examples (user weights, when used, are folded into `weights`).
 */
export function weightedBce(tf: typeof TF, probs: TF.Tensor, targets: TF.Tensor, weights: TF.Tensor): TF.Scalar {
  const p = tf.clipByValue(probs, PROB_EPS, 1 - PROB_EPS);
  const ll = tf.add(tf.mul(targets, tf.log(p)), tf.mul(tf.sub(1, targets), tf.log(tf.sub(1, p))));
  return tf.div(tf.neg(tf.sum(tf.mul(weights, ll))), probs.shape[0] ?? 1) as TF.Scalar;
}
