/**
 * Seeded pseudo-random numbers for the simulator. Every random draw in the
 * world comes from an `Rng` derived from (seed, stream name, index), so a
 * user's draws never depend on how many draws another user made and the same
 * seed reproduces the same world byte for byte. Math.random is never used.
 */

const TWO_POW_32 = 4294967296;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** 32-bit finaliser of MurmurHash3: spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hashes numbers and strings into one unsigned 32-bit value. Used to derive
 * independent streams (`hashParts(seed, 'sessions', userIndex)`) and per-event
 * draws that must not depend on call order (the responder).
 */
export function hashParts(...parts: Array<number | string>): number {
  let h = 0x9e3779b9;
  const mix = (word: number): void => {
    h ^= fmix32((word >>> 0) ^ 0x27d4eb2f);
    h = (Math.imul(rotl(h, 13), 5) + 0xe6546b64) >>> 0;
  };
  for (const part of parts) {
    if (typeof part === 'number') {
      // Safe integers use both 32-bit halves; other numbers hash their float bits.
      if (Number.isSafeInteger(part)) {
        mix(part % TWO_POW_32);
        mix(Math.floor(part / TWO_POW_32));
      } else {
        const view = new DataView(new ArrayBuffer(8));
        view.setFloat64(0, part);
        mix(view.getUint32(0));
        mix(view.getUint32(4));
      }
    } else {
      mix(part.length);
      for (let i = 0; i < part.length; i++) mix(part.charCodeAt(i));
    }
  }
  return fmix32(h);
}

/**
 * xoshiro128** generator seeded through splitmix32. Small, fast in plain
 * 32-bit integer arithmetic, and good enough statistically for simulation.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  /** Seeds the four state words from one 32-bit seed. */
  constructor(seed: number) {
    let state = seed >>> 0;
    const next = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      return fmix32(state);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator for one named stream of the world (see `hashParts`). */
  static stream(seed: number, name: string, index = 0): Rng {
    return new Rng(hashParts(seed, name, index));
  }

  /** The next unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** Uniform in (0, 1]: safe to take the log of. */
  nextOpen(): number {
    return (this.nextU32() + 1) / TWO_POW_32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(this.nextOpen()));
    const theta = 2 * Math.PI * this.next();
    this.spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(this.nextOpen()) * mean;
  }

  /** Log-normal with the given mean (not median) and log-space standard deviation. */
  logNormalMean(mean: number, sigma: number): number {
    return mean * Math.exp(sigma * this.normal() - (sigma * sigma) / 2);
  }

  /** Pareto (type I) with minimum `min` and tail index `alpha`: heavy-tailed, mean min·α/(α−1). */
  pareto(min: number, alpha: number): number {
    return min * Math.pow(this.nextOpen(), -1 / alpha);
  }

  /** Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 boosted). */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.nextOpen(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.nextOpen();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Dirichlet with a symmetric concentration over `k` components. */
  dirichlet(k: number, alpha: number): Float64Array {
    const out = new Float64Array(k);
    let sum = 0;
    for (let i = 0; i < k; i++) {
      out[i] = this.gamma(alpha) + 1e-12;
      sum += out[i] as number;
    }
    for (let i = 0; i < k; i++) out[i] = (out[i] as number) / sum;
    return out;
  }

  /** Index drawn with probability proportional to `weights` (linear scan; for short lists). */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i] as number;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }
}

/**
 * Index into a cumulative-weight array (`cum[i]` = sum of weights 0..i) for a
 * uniform draw `u` in [0, 1), restricted to [lo, hi). Binary search: for long lists.
 */
export function sampleCumulative(cum: Float64Array, u: number, lo = 0, hi = cum.length): number {
  const base = lo > 0 ? (cum[lo - 1] as number) : 0;
  const target = base + u * ((cum[hi - 1] as number) - base);
  let a = lo;
  let b = hi - 1;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if ((cum[mid] as number) > target) b = mid;
    else a = mid + 1;
  }
  return a;
}
