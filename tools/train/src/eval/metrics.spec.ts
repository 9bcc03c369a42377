import { expectedRank, meanStd, p90Coverage, topK } from './metrics';

describe('retrieval metrics', () => {
  it('expectedRank counts greater scores and half the ties, skipping excluded entries', () => {
    expect(expectedRank(0.5, [0.9, 0.1, 0.5, 0.7])).toBe(2.5);
    expect(expectedRank(0.5, [0.9, 0.1, 0.5, 0.7], (i) => i === 0)).toBe(1.5);
    expect(expectedRank(1, [0.2, 0.3])).toBe(0);
  });

  it('topK returns the best indices first', () => {
    expect(topK([0.1, 0.9, 0.5, 0.9], 3)).toEqual([1, 3, 2]);
  });

  it('p90Coverage is the share of the index holding 90 % of the top-k slots', () => {
    // Everyone retrieves the same 2 items: 2 of 100 index items cover everything.
    expect(p90Coverage([[1, 2], [1, 2], [2, 1]], 100)).toBeCloseTo(0.02);
    // All distinct: 90 % of 10 slots needs 9 items.
    expect(p90Coverage([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]], 10)).toBeCloseTo(0.9);
    expect(p90Coverage([], 10)).toBe(0);
  });

  it('meanStd', () => {
    expect(meanStd([1, 3])).toEqual({ mean: 2, std: Math.SQRT2 });
  });
});
