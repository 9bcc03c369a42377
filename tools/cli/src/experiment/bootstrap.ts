import { Rng } from '@pinrank/sim';

/** A point estimate with a percentile-bootstrap confidence interval; `null` where undefined (e.g. nothing to divide by). */
export interface Estimate {
  value: number | null;
  lo: number | null;
  hi: number | null;
}

/** Options of a bootstrap. */
export interface BootstrapOptions {
  /** Resamples (default 1000). */
  resamples?: number;
  /** Seed of the resampling; the same seed and data give the same interval. */
  seed: number;
  /** Confidence level (default 0.95). */
  level?: number;
}

/** A statistic over a resample: `indices` picks units (with repetition) out of `units`. */
export type Statistic<T> = (units: readonly T[], indices: ArrayLike<number>) => number;

/** Σ num / Σ den over the picked units: a ratio metric with the user as unit (NaN when Σ den is 0). */
export function ratioOf<T>(num: (u: T) => number, den: (u: T) => number): Statistic<T> {
  return (units, indices) => {
    let n = 0;
    let d = 0;
    for (let k = 0; k < indices.length; k++) {
      const u = units[indices[k] as number] as T;
      n += num(u);
      d += den(u);
    }
    return d > 0 ? n / d : NaN;
  };
}

/** Mean of a per-unit value over the picked units, skipping units where it is NaN (NaN when none is left). */
export function meanOf<T>(value: (u: T) => number): Statistic<T> {
  return (units, indices) => {
    let s = 0;
    let n = 0;
    for (let k = 0; k < indices.length; k++) {
      const v = value(units[indices[k] as number] as T);
      if (Number.isNaN(v)) continue;
      s += v;
      n++;
    }
    return n > 0 ? s / n : NaN;
  };
}

/** Every index 0..n-1 once: the statistic on the data itself. */
function identity(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}

function resampleInto(out: Uint32Array, n: number, rng: Rng): void {
  for (let k = 0; k < out.length; k++) out[k] = rng.int(n);
}

/** The q-quantile (0..1) of sorted finite values, linearly interpolated. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function interval(value: number, draws: number[], level: number): Estimate {
  const finite = draws.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { value: finiteOrNull(value), lo: finiteOrNull(quantile(finite, alpha)), hi: finiteOrNull(quantile(finite, 1 - alpha)) };
}

function settings(o: BootstrapOptions): { resamples: number; level: number } {
  const resamples = o.resamples ?? 1000;
  const level = o.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrap resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  return { resamples, level };
}

/**
 * A statistic of `units` with a percentile-bootstrap interval: `resamples`
 * times, draw as many units as there are with replacement (seeded, so the
 * interval is reproducible) and take the statistic; the interval is the
 * central `level` share of the finite draws. With no units every figure is null.
 */
export function bootstrap<T>(units: readonly T[], statistic: Statistic<T>, o: BootstrapOptions): Estimate {
  const { resamples, level } = settings(o);
  const n = units.length;
  if (n === 0) return { value: null, lo: null, hi: null };
  const rng = new Rng(o.seed);
  const idx = new Uint32Array(n);
  const draws: number[] = [];
  for (let r = 0; r < resamples; r++) {
    resampleInto(idx, n, rng);
    draws.push(statistic(units, idx));
  }
  return interval(statistic(units, identity(n)), draws, level);
}

/**
 * Relative difference (treatment − control) / control of a statistic
 * between two independent groups of units, with a percentile-bootstrap
 * interval (each group resampled on its own, as randomisation assigned
 * units to groups independently). Null where the control's statistic is 0 or
 * a group is empty.
 */
export function bootstrapRelativeDifference<T>(control: readonly T[], treatment: readonly T[], statistic: Statistic<T>, o: BootstrapOptions): Estimate {
  const { resamples, level } = settings(o);
  if (control.length === 0 || treatment.length === 0) return { value: null, lo: null, hi: null };
  const rel = (c: number, t: number): number => (c !== 0 && Number.isFinite(c) && Number.isFinite(t) ? (t - c) / c : NaN);
  const rng = new Rng(o.seed);
  const ic = new Uint32Array(control.length);
  const it = new Uint32Array(treatment.length);
  const draws: number[] = [];
  for (let r = 0; r < resamples; r++) {
    resampleInto(ic, control.length, rng);
    resampleInto(it, treatment.length, rng);
    draws.push(rel(statistic(control, ic), statistic(treatment, it)));
  }
  const value = rel(statistic(control, identity(control.length)), statistic(treatment, identity(treatment.length)));
  return interval(value, draws, level);
}

/** Shannon entropy in bits of a distribution given by counts (0 for an empty one). */
export function entropyBits(counts: Iterable<number>): number {
  let total = 0;
  const xs: number[] = [];
  for (const c of counts) {
    if (c > 0) {
      xs.push(c);
      total += c;
    }
  }
  let h = 0;
  for (const c of xs) {
    const p = c / total;
    h -= p * Math.log2(p);
  }
  return h === 0 ? 0 : h;
}
