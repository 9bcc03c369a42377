import { LatencyRecorder } from './recorder';

describe('LatencyRecorder', () => {
  it('reports percentiles of successes within the histogram precision', () => {
    const r = new LatencyRecorder();
    for (let ms = 1; ms <= 1000; ms++) r.ok(ms);
    const s = r.okLatency();
    expect(s.count).toBe(1000);
    expect(s.p50).toBeCloseTo(500, -0.5);
    expect(s.p90).toBeCloseTo(900, -0.5);
    expect(s.p99).toBeCloseTo(990, -0.5);
    expect(s.p999).toBeCloseTo(999, -0.5);
    expect(s.max).toBeCloseTo(1000, -0.5);
    expect(s.mean).toBeCloseTo(500.5, 0);
    expect(r.okP99()).toBeCloseTo(990, -0.5);
  });

  it('keeps failures out of the success histogram and counts them by status', () => {
    const r = new LatencyRecorder();
    r.ok(10);
    r.error('RESOURCE_EXHAUSTED', 0.2);
    r.error('RESOURCE_EXHAUSTED', 0.3);
    r.error('DEADLINE_EXCEEDED', 1000);
    r.sent(true);
    r.sent(false);
    r.dropped();
    expect(r.okLatency().count).toBe(1);
    expect(r.okLatency().max).toBeCloseTo(10, 1);
    expect(r.errorLatency().count).toBe(3);
    expect(r.snapshot()).toEqual({ sent: 1, ok: 1, errors: 3, errorsByStatus: { RESOURCE_EXHAUSTED: 2, DEADLINE_EXCEEDED: 1 }, dropped: 1, warmupSent: 1 });
  });

  it('reports zeros before anything is recorded', () => {
    expect(new LatencyRecorder().okLatency()).toEqual({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
  });
});
