import { rankByUtility } from './scoring';

describe('rankByUtility', () => {
  const heads = ['save', 'click', 'hide'];
  const scored = [
    { itemId: 'b', probs: new Float32Array([0.5, 0.5, 0.1]) },
    { itemId: 'a', probs: new Float32Array([0.5, 0.5, 0.1]) },
    { itemId: 'c', probs: new Float32Array([0.9, 0.0, 0.6]) },
  ];

  it('sorts by Σ w·p, ties by item id, with every head score', () => {
    const items = rankByUtility(scored, heads, { save: 1, click: 0.3, hide: -2 }, 0);
    expect(items.map((i) => i.itemId)).toEqual(['a', 'b', 'c']);
    expect(items[0]?.score).toBeCloseTo(0.5 + 0.15 - 0.2, 6);
    expect(items[2]?.headScores).toEqual({ save: expect.closeTo(0.9, 6), click: 0, hide: expect.closeTo(0.6, 6) });
  });

  it('weighs heads the weights do not name as 0 and keeps the first top_k', () => {
    const items = rankByUtility(scored, heads, { hide: 1 }, 1);
    expect(items.map((i) => [i.itemId, i.score])).toEqual([['c', expect.closeTo(0.6, 6)]]);
  });
});
