import { bootstrap, bootstrapRelativeDifference, entropyBits, meanOf, quantile, ratioOf } from './bootstrap';

interface Unit {
  num: number;
  den: number;
}

const ratio = ratioOf<Unit>(
  (u) => u.num,
  (u) => u.den,
);
const meanNum = meanOf<Unit>((u) => u.num);

/** `n` users with `den` impressions each, a share `p` of whom had `num` = den (the others 0). */
function bernoulliUsers(n: number, p: number, den = 1): Unit[] {
  return Array.from({ length: n }, (_, i) => ({ num: i < Math.round(n * p) ? den : 0, den }));
}

describe('bootstrap', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const users = Array.from({ length: 50 }, (_, i) => ({ num: (i * 7) % 5, den: 4 + (i % 3) }));
    expect(bootstrap(users, ratio, { seed: 3 })).toEqual(bootstrap(users, ratio, { seed: 3 }));
    expect(bootstrap(users, ratio, { seed: 3 })).not.toEqual(bootstrap(users, ratio, { seed: 4 }));
  });

  it('takes ratio metrics as Σnum/Σden, not as a mean of per-user ratios', () => {
    const users = [
      { num: 1, den: 1 },
      { num: 0, den: 9 },
    ];
    expect(bootstrap(users, ratio, { seed: 1 }).value).toBeCloseTo(0.1, 12);
  });

  it('matches the normal approximation for a proportion (known answer)', () => {
    // p = 0.25, n = 400: standard error sqrt(p(1-p)/n) = 0.02165, so the 95% interval is about 0.25 ± 0.0424.
    const e = bootstrap(bernoulliUsers(400, 0.25), ratio, { seed: 11, resamples: 4000 });
    expect(e.value).toBeCloseTo(0.25, 12);
    expect(e.lo as number).toBeCloseTo(0.25 - 0.0424, 2);
    expect(e.hi as number).toBeCloseTo(0.25 + 0.0424, 2);
  });

  it('contains the point estimate and narrows with more users', () => {
    const width = (n: number): number => {
      const e = bootstrap(bernoulliUsers(n, 0.4), ratio, { seed: 5 });
      expect(e.lo as number).toBeLessThanOrEqual(e.value as number);
      expect(e.hi as number).toBeGreaterThanOrEqual(e.value as number);
      return (e.hi as number) - (e.lo as number);
    };
    const w100 = width(100);
    const w1600 = width(1600);
    // Four times narrower for sixteen times the users, within resampling noise.
    expect(w1600).toBeLessThan(w100 / 3);
    expect(w1600).toBeGreaterThan(w100 / 5);
  });

  it('gives a zero-width interval for constant data and nulls for no data', () => {
    expect(bootstrap(bernoulliUsers(20, 1, 3), ratio, { seed: 1 })).toEqual({ value: 1, lo: 1, hi: 1 });
    expect(bootstrap([], ratio, { seed: 1 })).toEqual({ value: null, lo: null, hi: null });
    expect(bootstrap([{ num: 0, den: 0 }], ratio, { seed: 1 })).toEqual({ value: null, lo: null, hi: null });
  });

  it('means skip units without a value', () => {
    const users = [{ num: 2, den: 1 }, { num: NaN, den: 0 }, { num: 4, den: 1 }];
    expect(bootstrap(users, meanNum, { seed: 1 }).value).toBe(3);
  });

  it('refuses nonsense settings', () => {
    expect(() => bootstrap([{ num: 1, den: 1 }], ratio, { seed: 1, resamples: 0 })).toThrow(/resamples/);
    expect(() => bootstrap([{ num: 1, den: 1 }], ratio, { seed: 1, level: 1 })).toThrow(/level/);
  });
});

describe('bootstrapRelativeDifference', () => {
  it('estimates (treatment − control) / control with an interval around it', () => {
    const control = bernoulliUsers(800, 0.2);
    const treatment = bernoulliUsers(800, 0.3);
    const e = bootstrapRelativeDifference(control, treatment, ratio, { seed: 9 });
    expect(e.value).toBeCloseTo(0.5, 12);
    expect(e.lo as number).toBeGreaterThan(0.2);
    expect(e.hi as number).toBeLessThan(0.8);
    expect(e.lo as number).toBeLessThan(0.5);
    expect(e.hi as number).toBeGreaterThan(0.5);
  });

  it('covers 0 for identical groups and is null when the control is 0', () => {
    const same = bootstrapRelativeDifference(bernoulliUsers(200, 0.3), bernoulliUsers(200, 0.3), ratio, { seed: 2 });
    expect(same.value).toBe(0);
    expect(same.lo as number).toBeLessThan(0);
    expect(same.hi as number).toBeGreaterThan(0);
    expect(bootstrapRelativeDifference(bernoulliUsers(10, 0), bernoulliUsers(10, 0.5), ratio, { seed: 2 }).value).toBeNull();
    expect(bootstrapRelativeDifference([], bernoulliUsers(10, 0.5), ratio, { seed: 2 }).value).toBeNull();
  });
});

describe('entropyBits and quantile', () => {
  it('known answers', () => {
    expect(entropyBits([])).toBe(0);
    expect(entropyBits([7])).toBe(0);
    expect(entropyBits([1, 1])).toBeCloseTo(1, 12);
    expect(entropyBits([2, 2, 2, 2, 0])).toBeCloseTo(2, 12);
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
