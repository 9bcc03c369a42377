import { type Ops } from '../ops/ops';

/** Activation functions the blocks use. */
export type Activation = 'relu' | 'gelu' | 'none';

/** y = x·W + b with W [inDim, outDim] (`<prefix>.weight`) and b [outDim] (`<prefix>.bias`); x is [..., inDim]. */
export function linear<T>(ops: Ops<T>, prefix: string, x: T, inDim: number, outDim: number, bias = true): T {
  const y = ops.matmul(x, ops.param(`${prefix}.weight`, [inDim, outDim], { kind: 'glorot' }));
  return bias ? ops.add(y, ops.param(`${prefix}.bias`, [outDim], { kind: 'zeros' })) : y;
}

/** Rows of a learned table `<prefix>.table` [vocab, dim] picked by integer ids. */
export function embedding<T>(ops: Ops<T>, prefix: string, ids: T, vocab: number, dim: number): T {
  return ops.gather(ops.param(`${prefix}.table`, [vocab, dim], { kind: 'normal', std: 0.1 }), ids);
}

/** Layer normalisation over the last axis with learned `<prefix>.gamma` and `<prefix>.beta`. */
export function layerNorm<T>(ops: Ops<T>, prefix: string, x: T, dim: number, eps = 1e-5): T {
  return ops.layerNorm(
    x,
    ops.param(`${prefix}.gamma`, [dim], { kind: 'ones' }),
    ops.param(`${prefix}.beta`, [dim], { kind: 'zeros' }),
    eps,
  );
}

/** GELU, exact form: 0.5·x·(1 + erf(x/√2)). */
export function gelu<T>(ops: Ops<T>, x: T): T {
  const inner = ops.add(ops.scalar(1), ops.erf(ops.mul(x, ops.scalar(Math.SQRT1_2))));
  return ops.mul(ops.mul(x, ops.scalar(0.5)), inner);
}

/** Applies an activation by name. */
export function activate<T>(ops: Ops<T>, x: T, activation: Activation): T {
  if (activation === 'relu') return ops.relu(x);
  if (activation === 'gelu') return gelu(ops, x);
  return x;
}

/**
 * A stack of linear layers `<prefix>.<i>` with `dims = [in, hidden..., out]`;
 * `activation` follows every layer but the last, which gets `lastActivation`.
 */
export function mlp<T>(
  ops: Ops<T>,
  prefix: string,
  x: T,
  dims: readonly number[],
  activation: Activation = 'relu',
  lastActivation: Activation = 'none',
): T {
  if (dims.length < 2) throw new TypeError(`mlp ${prefix}: dims needs at least [in, out], got [${dims.join(',')}]`);
  let h = x;
  for (let i = 0; i + 1 < dims.length; i++) {
    h = linear(ops, `${prefix}.${i}`, h, dims[i]!, dims[i + 1]!);
    h = activate(ops, h, i + 2 === dims.length ? lastActivation : activation);
  }
  return h;
}

/** x / sqrt(Σx² + eps) over the last axis; a zero vector stays zero. */
export function l2Normalize<T>(ops: Ops<T>, x: T, eps = 1e-12): T {
  return ops.div(x, ops.sqrt(ops.add(ops.reduceSum(ops.mul(x, x), -1, true), ops.scalar(eps))));
}

/** Cosine similarity over the last axis, [..., 1]; 0 when either vector is zero. */
export function cosine<T>(ops: Ops<T>, a: T, b: T, eps = 1e-6): T {
  const dot = ops.reduceSum(ops.mul(a, b), -1, true);
  const na = ops.sqrt(ops.reduceSum(ops.mul(a, a), -1, true));
  const nb = ops.sqrt(ops.reduceSum(ops.mul(b, b), -1, true));
  return ops.div(dot, ops.add(ops.mul(na, nb), ops.scalar(eps)));
}
