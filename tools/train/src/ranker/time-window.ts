import { type SeededRandom } from '@pinrank/models';

/**
 * The random time-window mask of training: rows whose age is below `windowS`
 * (actions in (t_req − T, t_req)) get age −1, which the encoder treats as
 * masked (excluded from keys, pooling and the first-K rows). Returns a new
 * array; padding stays −1. Never applied at evaluation or serving.
 */
export function applyTimeWindowMask(agesS: Float32Array, windowS: number): Float32Array {
  const out = Float32Array.from(agesS);
  if (!(windowS > 0)) return out;
  for (let i = 0; i < out.length; i++) {
    const a = out[i] as number;
    if (a >= 0 && a < windowS) out[i] = -1;
  }
  return out;
}

/** Draws one batch's window: 0 (no mask) with probability 1 − `prob`, else T uniform in (0, `maxS`]. */
export function drawTimeWindow(rng: SeededRandom, prob: number, maxS: number): number {
  if (rng.next() >= prob) return 0;
  return maxS * (1 - rng.next());
}
