import { type Ops } from '../ops/ops';

/**
 * One DCN v2 cross layer: x_{l+1} = x0 ⊙ (W·x_l + b) + x_l. With `rank` the
 * matrix is low-rank, W = U·V (`<prefix>.u` [dim, rank], `<prefix>.v`
 * [rank, dim]); without it, W is full (`<prefix>.weight` [dim, dim]).
 */
export function crossLayer<T>(ops: Ops<T>, prefix: string, x0: T, x: T, dim: number, rank?: number): T {
  const projected =
    rank === undefined
      ? ops.matmul(x, ops.param(`${prefix}.weight`, [dim, dim], { kind: 'glorot' }))
      : ops.matmul(
          ops.matmul(x, ops.param(`${prefix}.u`, [dim, rank], { kind: 'glorot' })),
          ops.param(`${prefix}.v`, [rank, dim], { kind: 'glorot' }),
        );
  const withBias = ops.add(projected, ops.param(`${prefix}.bias`, [dim], { kind: 'zeros' }));
  return ops.add(ops.mul(x0, withBias), x);
}

/** `layers` DCN v2 cross layers `<prefix>.<i>` over x0 [N, dim]. */
export function crossNetwork<T>(ops: Ops<T>, prefix: string, x0: T, dim: number, layers: number, rank?: number): T {
  let x = x0;
  for (let i = 0; i < layers; i++) x = crossLayer(ops, `${prefix}.${i}`, x0, x, dim, rank);
  return x;
}
