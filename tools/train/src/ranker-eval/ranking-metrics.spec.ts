import { entropyBits, hitsAtK, meanAndSpread, rocAuc, topIndices } from './ranking-metrics';

describe('ranking metrics', () => {
  it('computes ROC AUC with ties as one half', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 10);
    expect(rocAuc([1, 2, 3], [0, 1, 1])).toBe(1);
    expect(rocAuc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(rocAuc([1, 2], [1, 1])).toBeNaN();
  });

  it('counts positives in the top k', () => {
    expect(topIndices([0.2, 0.9, 0.5, 0.9], 3)).toEqual([1, 3, 2]);
    expect(hitsAtK([0.2, 0.9, 0.5, 0.1], [1, 0, 1, 1], 3)).toBe(2);
  });

  it('measures topic entropy in bits', () => {
    expect(entropyBits([1, 1, 1, 1])).toBe(0);
    expect(entropyBits([1, 2, 3, 4])).toBeCloseTo(2, 10);
    expect(meanAndSpread([1, 3])).toEqual({ mean: 2, std: Math.SQRT2 });
  });
});
