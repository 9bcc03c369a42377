import { Rng, hashParts, sampleCumulative } from './prng';

describe('Rng', () => {
  it('reproduces the same sequence from the same seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const seqA = Array.from({ length: 100 }, () => a.nextU32());
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(seqA);
    expect(Array.from({ length: 100 }, () => c.nextU32())).not.toEqual(seqA);
  });

  it('derives independent named streams', () => {
    expect(Rng.stream(1, 'actions', 0).nextU32()).not.toBe(Rng.stream(1, 'actions', 1).nextU32());
    expect(Rng.stream(1, 'actions', 0).nextU32()).not.toBe(Rng.stream(1, 'sessions', 0).nextU32());
    expect(Rng.stream(1, 'actions', 5).nextU32()).toBe(Rng.stream(1, 'actions', 5).nextU32());
  });

  it('draws from the documented distributions', () => {
    const rng = new Rng(7);
    const n = 50_000;
    let u = 0;
    let z = 0;
    let z2 = 0;
    let e = 0;
    let ln = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = rng.next();
      min = Math.min(min, x);
      max = Math.max(max, x);
      u += x;
      const g = rng.normal();
      z += g;
      z2 += g * g;
      e += rng.exponential(3);
      ln += rng.logNormalMean(2, 0.8);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(u / n).toBeCloseTo(0.5, 2);
    expect(z / n).toBeCloseTo(0, 1);
    expect(z2 / n).toBeCloseTo(1, 1);
    expect(e / n).toBeCloseTo(3, 1);
    expect(ln / n).toBeCloseTo(2, 1);
    const d = rng.dirichlet(5, 1);
    expect(d.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
  });

  it('samples cumulative tables in proportion to the weights', () => {
    const cum = Float64Array.from([1, 3, 6]); // weights 1, 2, 3
    const rng = new Rng(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[sampleCumulative(cum, rng.next())]!++;
    expect(counts[0]! / 30_000).toBeCloseTo(1 / 6, 1);
    expect(counts[2]! / 30_000).toBeCloseTo(1 / 2, 1);
  });

  it('hashes parts order-sensitively', () => {
    expect(hashParts(1, 'a', 2)).toBe(hashParts(1, 'a', 2));
    expect(hashParts(1, 'a', 2)).not.toBe(hashParts(2, 'a', 1));
    expect(hashParts(2 ** 40)).not.toBe(hashParts(0));
  });
});
