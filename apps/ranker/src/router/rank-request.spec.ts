import { DegradedFlag, RankRequest, VectorKind } from '@pinrank/proto';
import { ExperimentPlan } from './experiments/experiment-plan';
import { rankCandidates, rankRequest, type RankInput } from './rank-request';
import { pipelineFixture, type PipelineFixture } from './testing/in-process';
import { S } from './testing/router-harness';
import { reference } from './testing/fake-worker';

// The stages of rank-request.ts over in-process fakes (the same fake data and
// models as the gRPC fakes), with the order of calls observed directly.

let f: PipelineFixture;
beforeEach(async () => {
  f = await pipelineFixture();
});
afterEach(async () => {
  await f.close();
});

const input = (candidates: string[], extra: Partial<RankInput> = {}): RankInput => ({
  userId: 'u1',
  candidates,
  requestTimeMs: 1_700_000_000_000,
  topK: 0,
  weights: { save: 1, click: 0.3, hide: -2 },
  models: f.models,
  scorer: 'full',
  ...extra,
});

/** Lets pending promise callbacks run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('stage 2: fetch', () => {
  it('starts the content and the tower lookups together, before either answers', async () => {
    const releaseContent = f.upstreams.hold('content');
    const releaseTower = f.upstreams.hold('tower');
    const ranking = rankCandidates(input(['i4', 'i6']), f.context(), f.deps);
    await settle();
    expect(f.upstreams.events).toEqual(expect.arrayContaining(['sequence:start', 'content:start', 'tower:start']));
    expect(f.upstreams.events).not.toContain('content:end');
    expect(f.upstreams.events).not.toContain('tower:end');
    releaseTower();
    releaseContent();
    const out = await ranking;
    expect(out.items).toHaveLength(2);
  });

  it('reports content and tower as overlapping stages (controlled clock)', async () => {
    let now = 0;
    const ctx = f.context(() => now);
    const releaseContent = f.upstreams.hold('content');
    const releaseTower = f.upstreams.hold('tower');
    const ranking = rankCandidates(input(['i4', 'i6']), ctx, f.deps);
    await settle();
    now = 5;
    releaseContent();
    await settle();
    now = 9;
    releaseTower();
    await ranking;
    const timings = Object.fromEntries(ctx.clock.timings().map((t) => [t.stage, t]));
    expect(timings['content']).toMatchObject({ startMs: 0, ms: 5 });
    expect(timings['tower']).toMatchObject({ startMs: 0, ms: 9 });
    expect(timings['features']).toMatchObject({ startMs: 0 });
  });

  it('pins the tower lookup, never the content lookup, and reports the version the tower lookup names', async () => {
    const pinned = await rankCandidates(input(['i4'], { snapshotVersion: 'snap-7' }), f.context(), f.deps);
    const active = await rankCandidates(input(['i4']), f.context(), f.deps);
    const byKind = (kind: VectorKind) => f.upstreams.embeddingRequests.filter((r) => r.kind === kind).map((r) => r.snapshotVersion);
    expect(byKind(VectorKind.VECTOR_KIND_CONTENT)).toEqual(['', '']);
    expect(byKind(VectorKind.VECTOR_KIND_TOWER)).toEqual(['snap-7', '']);
    expect(pinned.snapshotVersion).toBe('snap-7');
    expect(active.snapshotVersion).toBe('snap-7');
  });

  it('fails NOT_FOUND when the pinned snapshot is gone', async () => {
    await expect(rankCandidates(input(['i4'], { snapshotVersion: 'snap-1' }), f.context(), f.deps)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('ranks with an empty sequence, flagged, when the feature-server failed', async () => {
    f.upstreams.sequenceFailure = 'feature-server: UNAVAILABLE: down';
    const ctx = f.context();
    await rankCandidates(input(['i4']), ctx, f.deps);
    expect(ctx.degraded()).toEqual([DegradedFlag.DEGRADED_FLAG_SEQUENCE_UNAVAILABLE]);
    expect(f.inference.calls[0]?.shapes['seq_action_types']).toEqual([1, S]);
  });

  it('drops candidates without a content or a tower vector, content ones first, flagged', async () => {
    f.upstreams.store.tower.delete('i6');
    const ctx = f.context();
    const out = await rankCandidates(input(['i4', 'nope', 'i6']), ctx, f.deps);
    expect(out.items.map((i) => i.itemId)).toEqual(['i4']);
    expect(out.unknownItemIds).toEqual(['nope', 'i6']);
    expect(ctx.degraded()).toEqual([DegradedFlag.DEGRADED_FLAG_UNKNOWN_CANDIDATES_DROPPED]);
  });

  it('refuses unknown candidates when configured to', async () => {
    const strict = await pipelineFixture({ unknownCandidates: 'refuse' });
    try {
      await expect(rankCandidates({ ...input(['i4', 'nope']), models: strict.models }, strict.context(), strict.deps)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/1 unknown item\(s\): nope/),
      });
    } finally {
      await strict.close();
    }
  });
});

describe('stages 3-4: encoder and heads per chunk', () => {
  it('sends the sequence once per chunk, encoder on its placement pool, heads on theirs', async () => {
    await rankCandidates(input(Array.from({ length: 20 }, (_, i) => `i${i}`)), f.context(), f.deps);
    const encoder = f.inference.calls.filter((c) => c.model === 'transact_encoder');
    expect(encoder.map((c) => c.shapes['cand_vectors']?.[0]).sort()).toEqual([4, 8, 8]);
    expect(encoder.every((c) => c.pool === 'gpu' && c.shapes['seq_action_types']?.join() === `1,${S}`)).toBe(true);
    // The encoder has a fallback (cpu_encoder), so its first pool is not a last resort; the heads have none.
    expect(encoder.every((c) => !c.lastResort)).toBe(true);
    expect(f.inference.calls.filter((c) => c.model === 'ranking_heads').every((c) => c.pool === 'cpu' && c.lastResort)).toBe(true);
  });

  it('moves the encoder to the CPU pool when its pool is gone, flagged, with the same scores', async () => {
    const healthy = await rankCandidates(input(['i4', 'i7']), f.context(), f.deps);
    f.inference.down.add('gpu');
    const ctx = f.context();
    const out = await rankCandidates(input(['i4', 'i7']), ctx, f.deps);
    expect(ctx.degraded()).toEqual([DegradedFlag.DEGRADED_FLAG_ENCODER_ON_CPU]);
    expect(f.inference.calls.filter((c) => c.model === 'transact_encoder' && c.pool === 'cpu')).toEqual([expect.objectContaining({ lastResort: true })]);
    expect(out.items).toEqual(healthy.items);
  });

  it('scores with the lite heads when the encoder pool is gone and the fallback is lite, flagged', async () => {
    const lite = await pipelineFixture({ gpuFallback: 'lite' });
    try {
      lite.inference.down.add('gpu');
      const ctx = lite.context();
      const out = await rankCandidates({ ...input(['i4']), models: lite.models }, ctx, lite.deps);
      expect(ctx.degraded()).toEqual([DegradedFlag.DEGRADED_FLAG_LITE_MODEL]);
      expect(lite.inference.calls.map((c) => c.model)).toEqual(['ranking_heads_lite']);
      expect(out.modelVersions).toEqual({ ranking_heads_lite: '1' });
    } finally {
      await lite.close();
    }
  });

  it('answers UNAVAILABLE without a fallback, and when the heads pool is gone', async () => {
    const none = await pipelineFixture({ gpuFallback: 'none' });
    try {
      none.inference.down.add('gpu');
      await expect(rankCandidates({ ...input(['i4']), models: none.models }, none.context(), none.deps)).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        message: 'gpu pool: no healthy worker for transact_encoder; no fallback configured',
      });
    } finally {
      await none.close();
    }
    f.inference.down.add('cpu');
    await expect(rankCandidates(input(['i4']), f.context(), f.deps)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'cpu pool: no healthy worker for ranking_heads' });
  });
});

describe('stages 5-6: utility and response', () => {
  it('orders by the weighted heads, keeps top_k, and answers with versions, timings and the request id', async () => {
    const plan = ExperimentPlan.none({ models: f.models, headWeights: { save: 1, click: 0.3, hide: -2 } });
    const ctx = f.context();
    const served = await rankRequest(RankRequest.fromPartial({ userId: 'u1', candidateItemIds: ['i5', 'i9', 'i0', 'i17'], topK: 2, headWeights: { hide: 1 } }), plan.treatmentOf('u1'), ctx, f.deps);
    const res = served.response;
    const hide = (id: string): number => reference.heads(new Float32Array(1056), new Float32Array(64), new Float32Array(64), Math.fround(Math.log1p(40 - Number(id.slice(1)))))[2] ?? NaN;
    const want = ['i5', 'i9', 'i0', 'i17'].sort((a, b) => hide(b) - hide(a)).slice(0, 2);
    expect(res.items.map((i) => i.itemId)).toEqual(want);
    expect(res.items[0]?.score).toBeCloseTo(hide(want[0] ?? ''), 5);
    expect(res.modelVersions).toEqual({ transact_encoder: '1', ranking_heads: '1' });
    expect(res.requestId).toBe('test-request');
    expect(res.timings.map((t) => t.stage).sort()).toEqual(['content', 'encoder', 'features', 'heads', 'total', 'tower']);
    expect(served).toMatchObject({ candidates: 4, unknownItemIds: [] });
  });

  it('validates first, before any upstream call', async () => {
    const plan = ExperimentPlan.none({ models: f.models, headWeights: {} });
    await expect(rankRequest(RankRequest.fromPartial({ userId: 'u1', candidateItemIds: ['i1', 'i1'] }), plan.treatmentOf('u1'), f.context(), f.deps)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(f.upstreams.events).toEqual([]);
  });
});
