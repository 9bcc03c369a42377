import { ModelStatisticsRecorder } from './model-statistics';

const batch = (o: Partial<Parameters<ModelStatisticsRecorder['batch']>[2]> = {}) => ({
  size: 4,
  requests: 2,
  queueMs: [1, 3],
  computeMs: 10,
  inputMs: 1,
  inferMs: 8,
  outputMs: 1,
  newestFirst: false,
  ok: true,
  ...o,
});

describe('ModelStatisticsRecorder', () => {
  it('adds a successful batch as one execution, its rows, and per-request durations', () => {
    let now = 1_000;
    const r = new ModelStatisticsRecorder(() => now);
    r.batch('m', '1', batch());
    now = 2_000;
    r.batch('m', '1', batch({ size: 1, requests: 1, queueMs: [0.5], computeMs: 2, inputMs: 0.25, inferMs: 1.5, outputMs: 0.25 }));
    const s = r.snapshot('m', '1');
    expect(s).toMatchObject({ name: 'm', version: '1', lastInference: 2_000, inferenceCount: 5, executionCount: 2 });
    expect(s.inferenceStats).toEqual({
      success: { count: 3, ns: (1 + 10 + 3 + 10 + 0.5 + 2) * 1e6 },
      fail: { count: 0, ns: 0 },
      queue: { count: 3, ns: 4.5e6 },
      computeInput: { count: 3, ns: 2.25e6 },
      computeInfer: { count: 3, ns: 17.5e6 },
      computeOutput: { count: 3, ns: 2.25e6 },
      cacheHit: { count: 0, ns: 0 },
      cacheMiss: { count: 0, ns: 0 },
    });
    expect(s.batchStats).toEqual([
      { batchSize: 1, computeInput: { count: 1, ns: 0.25e6 }, computeInfer: { count: 1, ns: 1.5e6 }, computeOutput: { count: 1, ns: 0.25e6 } },
      { batchSize: 4, computeInput: { count: 1, ns: 1e6 }, computeInfer: { count: 1, ns: 8e6 }, computeOutput: { count: 1, ns: 1e6 } },
    ]);
  });

  it('counts a failed batch and refused requests as failures only', () => {
    const r = new ModelStatisticsRecorder(() => 5);
    r.batch('m', '1', batch({ ok: false }));
    r.rejected('m', '1', 'queue_full');
    const s = r.snapshot('m', '1');
    expect(s).toMatchObject({ inferenceCount: 0, executionCount: 0, lastInference: 5, batchStats: [] });
    expect(s.inferenceStats?.fail).toEqual({ count: 3, ns: 24e6 });
    expect(s.inferenceStats?.success).toEqual({ count: 0, ns: 0 });
  });

  it('keeps versions apart and reports zeros for a version with no traffic', () => {
    const r = new ModelStatisticsRecorder(() => 1);
    r.batch('m', '1', batch());
    expect(r.snapshot('m', '2')).toMatchObject({ name: 'm', version: '2', inferenceCount: 0, executionCount: 0, lastInference: 0, batchStats: [] });
    expect(r.snapshot('other', '1').inferenceCount).toBe(0);
  });
});
