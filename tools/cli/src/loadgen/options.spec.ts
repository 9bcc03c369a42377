import { parseDuration, resolveLoadOptions } from './options';

describe('resolveLoadOptions', () => {
  it('fills defaults and picks open mode when a qps is given', () => {
    expect(resolveLoadOptions({})).toMatchObject({ mode: 'closed', concurrency: 4, durationMs: 30_000, warmupMs: 2000, deadlineMs: 1000, maxOutstanding: 1024 });
    expect(resolveLoadOptions({ qps: 50 })).toMatchObject({ mode: 'open', qps: 50 });
  });

  it('runs unbounded in time only when a request count bounds it', () => {
    expect(resolveLoadOptions({ requests: 10 }).durationMs).toBe(Infinity);
    expect(resolveLoadOptions({ requests: 10, durationMs: 5000 }).durationMs).toBe(5000);
  });

  it('rejects conflicting and out-of-range options', () => {
    expect(() => resolveLoadOptions({ mode: 'open' })).toThrow(TypeError);
    expect(() => resolveLoadOptions({ mode: 'closed', qps: 5 })).toThrow(TypeError);
    expect(() => resolveLoadOptions({ qps: 5, concurrency: 2 })).toThrow(TypeError);
    expect(() => resolveLoadOptions({ qps: -1 })).toThrow(RangeError);
    expect(() => resolveLoadOptions({ concurrency: 1.5 })).toThrow(RangeError);
    expect(() => resolveLoadOptions({ warmupMs: -1 })).toThrow(RangeError);
  });
});

describe('parseDuration', () => {
  it('reads ms, s, m, h and bare seconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('3')).toBe(3000);
    expect(() => parseDuration('soon')).toThrow(RangeError);
  });
});
