import { createSplits, filterSplit } from './splits';

const span = { seed: 4, users: 10_000, startMs: Date.UTC(2026, 0, 1), endMs: Date.UTC(2026, 0, 31) };

describe('createSplits', () => {
  it('cuts the last evalDays for evaluation and holds out a stable share of users', () => {
    const s = createSplits(span, { evalDays: 7, heldOutUserFraction: 0.2 });
    expect(s.cutoffMs).toBe(Date.UTC(2026, 0, 24));
    const held = s.heldOutUsers();
    expect(held.length / span.users).toBeGreaterThan(0.18);
    expect(held.length / span.users).toBeLessThan(0.22);
    expect(createSplits(span, { evalDays: 7, heldOutUserFraction: 0.2 }).heldOutUsers()).toEqual(held);
    expect(createSplits(span, { evalDays: 7, heldOutUserFraction: 0.2, salt: 1 }).heldOutUsers()).not.toEqual(held);
    const kept = [...Array(100).keys()].find((u) => !s.isHeldOutUser(u)) as number;
    expect(s.partOf(kept, s.cutoffMs - 1)).toBe('train');
    expect(s.partOf(kept, s.cutoffMs)).toBe('eval');
    expect(s.partOf(held[0] as number, span.startMs)).toBe('heldout');
  });

  it('rejects impossible options', () => {
    expect(() => createSplits(span, { evalDays: 30 })).toThrow(RangeError);
    expect(() => createSplits(span, { heldOutUserFraction: 1 })).toThrow(RangeError);
  });

  it('filters a record stream to one part', async () => {
    const s = createSplits(span, { evalDays: 10 });
    async function* source(): AsyncGenerator<{ userIndex: number; timestampMs: number }> {
      for (let u = 0; u < 200; u++) yield { userIndex: u, timestampMs: span.startMs + u * 3 * 3_600_000 };
    }
    const parts = { train: 0, eval: 0, heldout: 0 };
    for (const part of ['train', 'eval', 'heldout'] as const) {
      for await (const r of filterSplit(source(), s, part)) {
        expect(s.partOf(r.userIndex, r.timestampMs)).toBe(part);
        parts[part]++;
      }
    }
    expect(parts.train + parts.eval + parts.heldout).toBe(200);
    expect(parts.train).toBeGreaterThan(0);
    expect(parts.eval).toBeGreaterThan(0);
    expect(parts.heldout).toBeGreaterThan(0);
  });
});
