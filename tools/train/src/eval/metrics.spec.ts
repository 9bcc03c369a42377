import { expectedRank, meanAndStdError, meanOverRuns, meanStd, p90Coverage, pairedDifference, topK } from './metrics';

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

describe('standard errors and paired differences', () => {
  it('meanAndStdError is the sample std over √n', () => {
    const s = meanAndStdError([1, 2, 3, 4]);
    expect(s.mean).toBe(2.5);
    expect(s.stdError).toBeCloseTo(Math.sqrt(5 / 3) / 2, 12);
    expect(meanAndStdError([1]).stdError).toBeNaN();
  });

  it('pairedDifference works on per-user differences and skips users missing on either side', () => {
    // A constant shift has zero paired error even though each side varies a lot.
    const a = [0.9, 0.1, 0.5, 0.3];
    const b = a.map((x) => x - 0.05);
    const d = pairedDifference(a, b);
    expect(d.mean).toBeCloseTo(0.05, 12);
    expect(d.stdError).toBeCloseTo(0, 12);
    expect(pairedDifference([1, null, 0], [0, 1, null])).toMatchObject({ mean: 1, n: 1 });
    expect(() => pairedDifference([1], [1, 2])).toThrow(RangeError);
  });

  it('meanOverRuns averages runs per user', () => {
    expect(meanOverRuns([[1, 0, null], [0, 0, 1]])).toEqual([0.5, 0, null]);
    expect(() => meanOverRuns([[1], [1, 2]])).toThrow(RangeError);
  });
});
