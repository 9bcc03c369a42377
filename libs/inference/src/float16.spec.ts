import { float16Bits, float16Value, fromFloat16, toFloat16 } from './float16';

describe('FP16 conversion', () => {
  it('exact values and the reference bit patterns', () => {
    expect(float16Bits(1)).toBe(0x3c00);
    expect(float16Bits(-2)).toBe(0xc000);
    expect(float16Bits(65504)).toBe(0x7bff);
    expect(float16Bits(0.5)).toBe(0x3800);
    expect(float16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float16Bits(70000)).toBe(0x7c00); // overflow to Infinity
    expect(float16Bits(-0)).toBe(0x8000);
    expect(Number.isNaN(float16Value(float16Bits(NaN)))).toBe(true);
    expect(float16Value(0x3555)).toBeCloseTo(0.33325195, 7);
  });

  it('rounds to nearest, ties to even', () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(float16Bits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
    expect(float16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('round trip error stays within half a unit in the last place', () => {
    const xs = Float32Array.from({ length: 10_000 }, (_, i) => Math.sin(i * 12.9898) * 8);
    const back = fromFloat16(toFloat16(xs));
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i] as number;
      const ulp = 2 ** (Math.floor(Math.log2(Math.abs(x) || 2 ** -14)) - 10);
      expect(Math.abs((back[i] as number) - x)).toBeLessThanOrEqual(ulp / 2 + 1e-12);
    }
  });
});
