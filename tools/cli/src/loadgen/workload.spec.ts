import { Workload, zipfWeights } from './workload';

const ids = (p: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${p}${i}`);

describe('Workload', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const spec = { users: ids('u', 50), items: ids('i', 100), candidates: 10 };
    const a = new Workload({ ...spec, seed: 7 });
    const b = new Workload({ ...spec, seed: 7 });
    const c = new Workload({ ...spec, seed: 8 });
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
  });

  it('draws the same users for a seed whatever the candidate count', () => {
    const users = ids('u', 50);
    const a = new Workload({ users, items: ids('i', 100), candidates: 10, seed: 4 });
    const b = new Workload({ users, items: [], candidates: 0, seed: 4 });
    const ra = Array.from({ length: 8 }, () => a.next());
    const rb = Array.from({ length: 8 }, () => b.next());
    expect(rb.map((r) => r.userId)).toEqual(ra.map((r) => r.userId));
    expect(rb.every((r) => r.itemIds.length === 0)).toBe(true);
  });

  it('draws distinct candidates, even all of the catalog under a skewed weighting', () => {
    const items = ids('i', 20);
    const weights = items.map((_, i) => (i === 0 ? 1e6 : 1));
    const w = new Workload({ users: ['u1'], items, itemWeights: weights, candidates: 20, seed: 1 });
    const r = w.next();
    expect(r.itemIds).toHaveLength(20);
    expect(new Set(r.itemIds).size).toBe(20);
  });

  it('draws heavier items and users more often', () => {
    const items = ids('i', 100);
    const itemWeights = items.map((_, i) => (i < 10 ? 50 : 1));
    const users = ids('u', 4);
    const w = new Workload({ users, userWeights: [97, 1, 1, 1], items, itemWeights, candidates: 5, seed: 3 });
    let heavyItems = 0;
    let heavyUser = 0;
    for (let k = 0; k < 400; k++) {
      const r = w.next();
      heavyItems += r.itemIds.filter((id) => Number(id.slice(1)) < 10).length;
      if (r.userId === 'u0') heavyUser++;
    }
    // The 10 heavy items hold 500/590 of the weight; uniform draws would give 10 %.
    expect(heavyItems / 2000).toBeGreaterThan(0.6);
    expect(heavyUser / 400).toBeGreaterThan(0.9);
  });

  it('rejects no users, too many candidates and bad weights', () => {
    expect(() => new Workload({ users: [], items: ['i0'], candidates: 1, seed: 1 })).toThrow(RangeError);
    expect(() => new Workload({ users: ['u0'], items: ['i0'], candidates: 2, seed: 1 })).toThrow(RangeError);
    expect(() => new Workload({ users: ['u0'], items: ['i0', 'i1'], itemWeights: [1], candidates: 1, seed: 1 })).toThrow(RangeError);
    expect(() => new Workload({ users: ['u0'], items: ['i0'], itemWeights: [0], candidates: 1, seed: 1 })).toThrow(RangeError);
  });
});

describe('zipfWeights', () => {
  it('assigns (rank+1)^-s to a permutation of the indices', () => {
    const w = zipfWeights(100, 1, 5);
    const sorted = [...w].sort((a, b) => b - a);
    expect(sorted[0]).toBe(1);
    expect(sorted[1]).toBeCloseTo(0.5);
    expect(sorted[99]).toBeCloseTo(0.01);
    // Not the identity: the hottest user is not simply u0..u9 in order.
    expect([...w].slice(0, 10)).not.toEqual(sorted.slice(0, 10));
    expect(zipfWeights(100, 1, 5)).toEqual(w);
  });
});
