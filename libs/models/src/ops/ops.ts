/** Added to the score of a masked key: finite, so a row whose keys are all masked stays finite (uniform weights). */
export const MASK_NEGATIVE = -1e9;

/** The binary ops `Ops.gatherCombine` applies. */
export type GatherCombineOp = 'matmul' | 'add' | 'mul';

/** How a parameter is initialised when the weights do not hold it (seeded initialisation). */
export type ParamInit =
  | { kind: 'glorot' }
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; low: number; high: number };

/**
 * The one op interface every block and model is written against. `T` is the
 * backend's tensor handle: a TensorFlow.js tensor (training) or the name of a
 * value in an ONNX graph being emitted (serving). Code written against `Ops`
 * never reads concrete shapes, so the same code serves dynamic batch axes.
 *
 * Conventions shared by both backends:
 * - float tensors are float32; integer inputs are ids (int64 in ONNX, int32 in tfjs);
 * - binary ops broadcast numpy-style;
 * - axes may be negative (counted from the end);
 * - comparison ops return float32 0/1 masks, not booleans.
 */
export interface Ops<T> {
  /** Which backend this is (blocks never branch on it; it is for diagnostics). */
  readonly backend: 'tfjs' | 'onnx';
  /** A named, trainable parameter of the given shape, read from the weight store. */
  param(name: string, shape: readonly number[], init: ParamInit): T;
  /** A float32 constant. */
  constant(values: readonly number[] | Float32Array, shape: readonly number[]): T;
  /** A float32 scalar constant. */
  scalar(value: number): T;

  /** Batched matrix product with numpy broadcasting of the leading axes (`[..., m, k] x [k, n]` included). */
  matmul(a: T, b: T): T;
  /** a·b + c for 2-D a [M,K] and b [K,N]; c broadcasts to [M,N] (a bias, or a residual of the product's shape). */
  matmulAdd(a: T, b: T, c: T): T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;

  relu(x: T): T;
  sigmoid(x: T): T;
  tanh(x: T): T;
  exp(x: T): T;
  log(x: T): T;
  sqrt(x: T): T;
  sin(x: T): T;
  cos(x: T): T;
  erf(x: T): T;

  /** Rows of `table` (axis 0) picked by integer `indices`; result shape = indices.shape + table.shape[1:]. */
  gather(table: T, indices: T): T;
  /** Softmax over the last axis. */
  softmax(x: T): T;
  /** Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta (biased variance). */
  layerNorm(x: T, gamma: T, beta: T, eps: number): T;
  /** Concatenation along `axis`; every other axis must already match (no broadcasting). */
  concat(xs: readonly T[], axis: number): T;
  reduceMax(x: T, axis: number, keepDims: boolean): T;
  reduceSum(x: T, axis: number, keepDims: boolean): T;
  reduceMean(x: T, axis: number, keepDims: boolean): T;
  /** Reshape to the shape of `like` (same element count). */
  reshapeLike(x: T, like: T): T;
  /** Reshape; an entry 0 copies the input's dimension at that position, -1 is inferred (ONNX Reshape semantics). */
  reshape(x: T, shape: readonly number[]): T;
  transpose(x: T, perm: readonly number[]): T;
  /** Elements `start` (inclusive) to `end` (exclusive) along one axis; `start` must lie within the axis, `end` is clamped to its length. */
  slice(x: T, axis: number, start: number, end: number): T;
  /** Inserts an axis of size 1 at `axis`. */
  expandDims(x: T, axis: number): T;
  /** Broadcasts `x` to the shape of `like` on every axis except the last, which keeps x's size. */
  broadcastLike(x: T, like: T): T;
  /** Integer ids → float32 values. */
  toFloat(x: T): T;
  /** 1 where a > b, else 0 (float32). */
  greater(a: T, b: T): T;
  /** 1 where a >= b, else 0 (float32). */
  greaterOrEqual(a: T, b: T): T;
  /**
   * `op(gather(table, indices), b)` for op = matmul, add or mul (broadcasting
   * as those ops do): row n of `b` (axis 0) meets `table[indices[n]]`. A
   * backend may skip the gather when `table` has one row (every index is then
   * 0), broadcasting it instead of copying it once per row of `b`.
   */
  gatherCombine(op: GatherCombineOp, table: T, indices: T, b: T): T;
  /**
   * Multi-head scaled dot-product self-attention without projections:
   * `q`, `k`, `v` [B,S,d] plus `bias` [3d] (added to q, k and v in that order),
   * split into `heads`, scores scaled by 1/√(d/heads), keys whose `keyMask`
   * [B,S] (0/1 floats) is 0 get MASK_NEGATIVE. Returns the heads concatenated, [B,S,d].
   */
  attention(q: T, k: T, v: T, bias: T, keyMask: T, heads: number): T;
  /**
   * Cuts trailing padding: slices each of `xs` (which share axis 1 with
   * `keep` [B,S]) along axis 1 to the shortest prefix that holds every
   * nonzero of `keep` in any row (at least one position).
   */
  trimPadding(xs: readonly T[], keep: T): T[];
  /** Dropout at `rate` while training; identity when serving (the ONNX backend emits nothing). */
  dropout(x: T, rate: number): T;
}
