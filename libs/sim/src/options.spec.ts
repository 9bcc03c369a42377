import { DEFAULT_WORLD_OPTIONS, resolveWorldOptions } from './options';

describe('resolveWorldOptions', () => {
  it('fills the documented defaults', () => {
    const o = resolveWorldOptions({ seed: 9, affinity: { saveBias: -6 } });
    expect(o.seed).toBe(9);
    expect(o.users).toBe(20_000);
    expect(o.items).toBe(50_000);
    expect(o.topics).toBe(64);
    expect(o.dimension).toBe(32);
    expect(o.days).toBe(90);
    expect(o.startMs).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(o.affinity.saveBias).toBe(-6);
    expect(o.affinity.sessionWeight).toBe(DEFAULT_WORLD_OPTIONS.affinity.sessionWeight);
  });

  it('ignores undefined values (as command-line flags pass them)', () => {
    expect(resolveWorldOptions({ users: undefined }).users).toBe(20_000);
  });

  it('rejects unknown options and out-of-range values up front', () => {
    expect(() => resolveWorldOptions({ userz: 3 } as never)).toThrow(TypeError);
    expect(() => resolveWorldOptions({ users: 0 })).toThrow(/users/);
    expect(() => resolveWorldOptions({ seed: -1 })).toThrow(/seed/);
    expect(() => resolveWorldOptions({ feedIntentShare: 0.7, feedProfileShare: 0.5 })).toThrow(/feedProfileShare/);
    expect(() => resolveWorldOptions({ affinity: { saveBias: Number.NaN } })).toThrow(/affinity.saveBias/);
    expect(() => resolveWorldOptions({ topics: 4 })).toThrow(/topics/);
  });
});
