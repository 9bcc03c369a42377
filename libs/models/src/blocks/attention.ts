import { MASK_NEGATIVE, type Ops } from '../ops/ops';
import { linear } from './basic';

export { MASK_NEGATIVE };

/** Shape of a multi-head attention layer. */
export interface AttentionOptions {
  dModel: number;
  heads: number;
  /** Dropout on attention weights while training. Default 0. */
  dropout?: number;
}

/** Additive attention bias [B, 1, 1, S] from a key mask [B, S] of 0/1 floats (1 = the key may be attended). */
export function keyMaskBias<T>(ops: Ops<T>, keyMask: T): T {
  const bias = ops.mul(ops.sub(keyMask, ops.scalar(1)), ops.scalar(-MASK_NEGATIVE));
  return ops.reshape(bias, [0, 1, 1, -1]);
}

/**
 * Causal bias [S, S] for sequences stored newest first: the query at position
 * i may attend keys j >= i (itself and older actions), never newer ones.
 */
export function causalBiasNewestFirst<T>(ops: Ops<T>, length: number): T {
  const values = new Float32Array(length * length);
  for (let i = 0; i < length; i++) for (let j = 0; j < i; j++) values[i * length + j] = MASK_NEGATIVE;
  return ops.constant(values, [length, length]);
}

/** The fused query/key/value projection `<prefix>.qkv`: [..., d] → [..., 3d]. */
export function qkvProjection<T>(ops: Ops<T>, prefix: string, x: T, dModel: number): T {
  return linear(ops, `${prefix}.qkv`, x, dModel, 3 * dModel);
}

/**
 * Scaled dot-product multi-head attention from an already projected qkv
 * [B, S, 3d], with an additive `bias` broadcastable to [B, heads, S, S], and
 * the output projection `<prefix>.out`. Returns [B, S, d].
 */
export function attentionFromQkv<T>(ops: Ops<T>, prefix: string, qkv: T, bias: T, options: AttentionOptions): T {
  const { dModel: d, heads } = options;
  if (d % heads !== 0) throw new TypeError(`attention ${prefix}: dModel ${d} is not divisible by heads ${heads}`);
  const dh = d / heads;
  const split = (start: number): T => ops.reshape(ops.slice(qkv, -1, start, start + d), [0, 0, heads, dh]);
  const q = ops.transpose(split(0), [0, 2, 1, 3]);
  const k = ops.transpose(split(d), [0, 2, 3, 1]);
  const v = ops.transpose(split(2 * d), [0, 2, 1, 3]);
  const scores = ops.add(ops.mul(ops.matmul(q, k), ops.scalar(1 / Math.sqrt(dh))), bias);
  const weights = ops.dropout(ops.softmax(scores), options.dropout ?? 0);
  const mixed = ops.reshape(ops.transpose(ops.matmul(weights, v), [0, 2, 1, 3]), [0, 0, d]);
  return linear(ops, `${prefix}.out`, mixed, d, d);
}

/** Multi-head self-attention over x [B, S, d]; pass `qkv` to supply the projection computed another way. */
export function multiHeadAttention<T>(ops: Ops<T>, prefix: string, x: T, bias: T, options: AttentionOptions, qkv?: T): T {
  return attentionFromQkv(ops, prefix, qkv ?? qkvProjection(ops, prefix, x, options.dModel), bias, options);
}
