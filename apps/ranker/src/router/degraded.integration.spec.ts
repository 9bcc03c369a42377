import { DegradedFlag, type RankResponse } from '@pinrank/proto';
import { startDelayProxy } from '@pinrank/service-kit';
import { fakeStoreData, startFakeEmbeddingStore, startFakeFeatureServer } from './testing/fake-upstreams';
import { startFakeWorker } from './testing/fake-worker';
import { eventually, indexOf, PF_VERSION, SEQUENCES, startHarness, STORE_USERS, type Harness } from './testing/router-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const candidates = ['i4', 'i7', 'i12', 'i19', 'i25'];

describe('degraded paths', () => {
  it('skips a dead worker of a pool without degrading', async () => {
    const dead = await startFakeWorker('dead-gpu');
    const deadAddress = dead.address;
    await dead.server.shutdown();
    const api = await h.router({ gpuWorkers: [deadAddress, h.gpu.address], maxInferAttempts: 2 });
    for (let i = 0; i < 3; i++) {
      const res = await api.rank({ userId: 'u1', candidateItemIds: candidates });
      expect(res.degraded).toEqual([]);
      expect(res.modelVersions['transact_encoder']).toBe('1');
    }
  });

  it('still calls the only worker of a pool without fallback after one failed call skipped it', async () => {
    const api = await h.router({});
    const pool = api.router.pools.cpu;
    await eventually(() => pool.pick() !== undefined);
    pool.reportFailure(h.cpu.address, 'now');
    expect(pool.pick()).toBeUndefined();
    expect(pool.pick(undefined, { includeSkipped: true })?.address).toBe(h.cpu.address);
    // The heads (CPU pool) have no fallback: the skipped worker is the last resort, not a failed request.
    const res = await api.rank({ userId: 'u1', candidateItemIds: candidates });
    expect(res.items).toHaveLength(candidates.length);
    expect(res.degraded).toEqual([]);
  });

  it('answers UNAVAILABLE, naming the pool, when the heads have no worker at all', async () => {
    const cpu = await startFakeWorker('cpu-draining');
    try {
      const api = await h.router({ cpuWorkers: [cpu.address] });
      cpu.server.setServing(false);
      await eventually(() => api.router.pools.cpu.pick() === undefined);
      await expect(api.rank({ userId: 'u1', candidateItemIds: candidates })).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/cpu pool: no healthy worker for ranking_heads/) });
    } finally {
      await cpu.server.shutdown();
    }
  });

  it('runs the encoder on the CPU pool when the GPU pool is NOT_SERVING, flagged', async () => {
    const gpu = await startFakeWorker('gpu-draining');
    try {
      const api = await h.router({ gpuWorkers: [gpu.address], gpuFallback: 'cpu_encoder' });
      const healthy = await api.rank({ userId: 'u1', candidateItemIds: candidates });
      expect(healthy.degraded).toEqual([]);
      gpu.server.setServing(false);
      await eventually(() => api.router.pools.gpu.pick() === undefined);
      const gpuCalls = gpu.calls.length;
      const cpuCalls = h.cpu.calls.length;
      const res = await api.rank({ userId: 'u1', candidateItemIds: candidates });
      expect(res.degraded).toEqual([DegradedFlag.DEGRADED_FLAG_ENCODER_ON_CPU]);
      expect(gpu.calls.length).toBe(gpuCalls);
      // The CPU pool runs the heads too: encoder and heads go there as one chained call.
      expect(h.cpu.calls.slice(cpuCalls).map((c) => [c.model, c.then])).toEqual([['transact_encoder', 'ranking_heads']]);
      expect(res.timings.map((t) => t.stage)).toContain('encoder+heads');
      // Same model, same scores: only the placement changed.
      expect(res.items.map((i) => [i.itemId, i.score])).toEqual(healthy.items.map((i) => [i.itemId, i.score]));
    } finally {
      await gpu.server.shutdown();
    }
  });

  it('chains encoder and heads on the GPU worker when both are placed there, and moves the chain to the CPU pool when it goes, flagged', async () => {
    const gpu = await startFakeWorker('gpu-both');
    try {
      const api = await h.router({ gpuWorkers: [gpu.address], placementOverrides: { ranking_heads: 'gpu' } });
      const unchained = await h.router({ gpuWorkers: [gpu.address], placementOverrides: { ranking_heads: 'gpu' }, chainModels: false });
      const healthy = await api.rank({ userId: 'u1', candidateItemIds: candidates });
      expect(healthy.degraded).toEqual([]);
      expect(healthy.timings.map((t) => t.stage)).toContain('encoder+heads');
      expect(gpu.calls.map((c) => [c.model, c.then])).toEqual([['transact_encoder', 'ranking_heads']]);
      const split = await unchained.rank({ userId: 'u1', candidateItemIds: candidates });
      expect(gpu.calls.slice(1).map((c) => [c.model, c.then])).toEqual([
        ['transact_encoder', undefined],
        ['ranking_heads', undefined],
      ]);
      expect(split.items.map((i) => [i.itemId, i.score])).toEqual(healthy.items.map((i) => [i.itemId, i.score]));

      gpu.server.setServing(false);
      await eventually(() => api.router.pools.gpu.pick() === undefined);
      const cpuCalls = h.cpu.calls.length;
      const res = await api.rank({ userId: 'u1', candidateItemIds: candidates });
      expect(res.degraded).toEqual([DegradedFlag.DEGRADED_FLAG_ENCODER_ON_CPU]);
      expect(h.cpu.calls.slice(cpuCalls).map((c) => [c.model, c.then])).toEqual([['transact_encoder', 'ranking_heads']]);
      expect(res.items.map((i) => [i.itemId, i.score])).toEqual(healthy.items.map((i) => [i.itemId, i.score]));
    } finally {
      await gpu.server.shutdown();
    }
  });

  it('chains on a GPU pool that computes on a CPU and has the heads loaded (autoChain), and only then', async () => {
    const onCpu = await startFakeWorker('gpu-pool-on-cpu', { platform: 'onnxruntime_onnx/cpu' });
    const onGpu = await startFakeWorker('gpu-pool-on-gpu', { platform: 'onnxruntime_onnx/webgpu' });
    const noHeads = await startFakeWorker('gpu-pool-no-heads', { platform: 'onnxruntime_onnx/cpu', readyModels: ['transact_encoder'] });
    try {
      const pairs = (w: Awaited<ReturnType<typeof startFakeWorker>>, from: number): Array<[string, string | undefined]> => w.calls.slice(from).map((c) => [c.model, c.then]);
      /** Ranks until the workers' answers are in (the first Rank asks them), then once more: the calls of that last Rank. */
      const settled = async (api: Awaited<ReturnType<typeof h.router>>, w: Awaited<ReturnType<typeof startFakeWorker>>, gpu: boolean) => {
        for (let i = 0; i < 20 && !(api.router.pools.gpu.computesOnCpuWith({ name: 'transact_encoder', version: '' }, { name: 'ranking_heads', version: '' }) === gpu); i++) {
          await api.rank({ userId: 'u1', candidateItemIds: candidates });
          await new Promise((r) => setTimeout(r, 20));
        }
        const from = w.calls.length;
        const res = await api.rank({ userId: 'u1', candidateItemIds: candidates });
        return { res, calls: pairs(w, from) };
      };
      const chained = await settled(await h.router({ gpuWorkers: [onCpu.address] }), onCpu, true);
      expect(chained.calls).toEqual([['transact_encoder', 'ranking_heads']]);
      expect(chained.res.degraded).toEqual([]);
      expect(chained.res.timings.map((t) => t.stage)).toContain('encoder+heads');

      // The same worker with autoChain off, a GPU pool on a GPU, one without the heads: the split (heads on the CPU pool).
      for (const [w, overrides] of [
        [onCpu, { autoChain: false }],
        [onGpu, {}],
        [noHeads, {}],
      ] as const) {
        const api = await h.router({ gpuWorkers: [w.address], ...overrides });
        const split = await settled(api, w, false);
        expect(split.calls).toEqual([['transact_encoder', undefined]]);
        expect(split.res.items.map((i) => [i.itemId, i.score])).toEqual(chained.res.items.map((i) => [i.itemId, i.score]));
      }
    } finally {
      await Promise.all([onCpu.server.shutdown(), onGpu.server.shutdown(), noHeads.server.shutdown()]);
    }
  });

  it('asks a GPU worker on CPU again after a chained call to it failed: one that lost the heads gets the split', async () => {
    const w = await startFakeWorker('gpu-loses-heads', { platform: 'onnxruntime_onnx/cpu' });
    try {
      const api = await h.router({ gpuWorkers: [w.address] });
      const pairsOf = async (): Promise<{ res: RankResponse; calls: Array<[string, string | undefined]> }> => {
        const from = w.calls.length;
        const res = await api.rank({ userId: 'u1', candidateItemIds: candidates });
        return { res, calls: w.calls.slice(from).map((c) => [c.model, c.then]) };
      };
      let first = await pairsOf();
      for (let i = 0; i < 20 && first.calls[0]?.[1] === undefined; i++) first = await pairsOf();
      expect(first.calls).toEqual([['transact_encoder', 'ranking_heads']]);
      // The worker unloads the heads: the next chained call fails NOT_FOUND and moves, chained, to the CPU pool (flagged).
      Object.assign(w.behaviour, { readyModels: ['transact_encoder'], failWith: 'NOT_FOUND', failCount: 1 });
      const failed = await pairsOf();
      expect(failed.res.degraded).toEqual([DegradedFlag.DEGRADED_FLAG_ENCODER_ON_CPU]);
      // Asked again, the worker says it has no heads: the encoder alone goes to it, the heads to the CPU pool.
      let after = await pairsOf();
      for (let i = 0; i < 20 && after.res.degraded.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = await pairsOf();
      }
      expect(after.res.degraded).toEqual([]);
      expect(after.calls).toEqual([['transact_encoder', undefined]]);
      expect(after.res.items.map((i) => [i.itemId, i.score])).toEqual(first.res.items.map((i) => [i.itemId, i.score]));
    } finally {
      await w.server.shutdown();
    }
  });

  it('scores with ranking_heads_lite when the GPU pool is gone and the fallback is lite, flagged', async () => {
    const gone = await startFakeWorker('gone-gpu');
    await gone.server.shutdown();
    const api = await h.router({ gpuWorkers: [gone.address], gpuFallback: 'lite' });
    const cpuBefore = h.cpu.calls.length;
    const res = await api.rank({ userId: 'u1', candidateItemIds: candidates });
    expect(res.degraded).toEqual([DegradedFlag.DEGRADED_FLAG_LITE_MODEL]);
    expect(res.modelVersions).toEqual({ ranking_heads_lite: '1' });
    expect(h.cpu.calls.slice(cpuBefore).every((c) => c.model === 'ranking_heads_lite')).toBe(true);
    const want = candidates.map((id) => ({ id, ...h.expected('u1', id, undefined, true) })).sort((a, b) => b.score - a.score);
    expect(res.items.map((i) => i.itemId)).toEqual(want.map((w) => w.id));
    res.items.forEach((item, k) => expect(item.score).toBeCloseTo(want[k]?.score ?? NaN, 4));
    // The response's flags and stage timings reach the router's metrics.
    const text = await api.router.server.metrics.registry.metrics();
    expect(text).toContain('pinrank_router_degraded_responses_total{method="Rank",flag="lite_model"} 1');
    expect(text).toContain('pinrank_router_responses_total{method="Rank",degraded="true"} 1');
    for (const t of res.timings) expect(text).toContain(`pinrank_router_stage_duration_seconds_count{method="Rank",stage="${t.stage}"} 1`);
  });

  it('answers UNAVAILABLE when the GPU pool is gone and no fallback is configured', async () => {
    const gone = await startFakeWorker('gone-gpu-2');
    await gone.server.shutdown();
    const api = await h.router({ gpuWorkers: [gone.address], gpuFallback: 'none' });
    await expect(api.rank({ userId: 'u1', candidateItemIds: candidates })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/gpu pool: .* for transact_encoder; no fallback configured/),
    });
  });

  it('uses an empty sequence, flagged, when the feature-server is unreachable', async () => {
    const fs = await startFakeFeatureServer({ sequences: SEQUENCES, itemIndex: indexOf });
    const address = fs.address;
    await fs.server.shutdown();
    const api = await h.router({ featureServer: address });
    const res = await api.rank({ userId: 'u1', candidateItemIds: candidates }, 2000);
    expect(res.degraded).toEqual([DegradedFlag.DEGRADED_FLAG_SEQUENCE_UNAVAILABLE]);
    const encoderCall = h.gpu.calls[h.gpu.calls.length - 1];
    expect(encoderCall?.shapes['seq_action_types']).toEqual([1, 12]);
    expect(res.items).toHaveLength(candidates.length);
  });

  it("answers from the router's last-known vectors, flagged, while the embedding-store is down", async () => {
    const store = await startFakeEmbeddingStore(fakeStoreData({ items: h.items, users: STORE_USERS, snapshotVersion: 'snap-7', producerModelVersion: PF_VERSION, index: indexOf }));
    const api = await h.router({ embeddingStore: store.address, embeddingsTimeoutMs: 500 });
    const off = await h.router({ embeddingStore: store.address, embeddingsTimeoutMs: 500, vectorCacheItems: 0 });
    const before = await api.rank({ userId: 'u1', candidateItemIds: candidates }, 5000);
    await off.rank({ userId: 'u1', candidateItemIds: candidates }, 5000);
    expect(before.degraded).toEqual([]);
    const text = await api.router.server.metrics.registry.metrics();
    expect(text).toContain(`pinrank_router_vector_cache_rows{kind="content"} ${candidates.length}`);
    expect(text).toContain('pinrank_router_vector_cache_rows{kind="user"} 1');
    await store.server.shutdown();

    // Seen candidates are ranked exactly as before; unseen ones are dropped and listed.
    const during = await api.rank({ userId: 'u1', candidateItemIds: [...candidates, 'i30', 'i31'] }, 5000);
    expect(during.degraded).toEqual([DegradedFlag.DEGRADED_FLAG_UNKNOWN_CANDIDATES_DROPPED, DegradedFlag.DEGRADED_FLAG_VECTORS_FROM_CACHE]);
    expect(during.unknownItemIds).toEqual(['i30', 'i31']);
    expect(during.snapshotVersion).toBe('snap-7');
    expect(during.items.map((i) => [i.itemId, i.score])).toEqual(before.items.map((i) => [i.itemId, i.score]));

    // A user the cache has not seen gets the zero vector, flagged; nothing cached at all, or the cache off: UNAVAILABLE.
    const stranger = await api.rank({ userId: 'u2', candidateItemIds: candidates }, 5000);
    expect(stranger.degraded).toEqual(expect.arrayContaining([DegradedFlag.DEGRADED_FLAG_VECTORS_FROM_CACHE, DegradedFlag.DEGRADED_FLAG_USER_VECTOR_MISSING]));
    expect(stranger.items).toHaveLength(candidates.length);
    await expect(api.rank({ userId: 'u1', candidateItemIds: ['i33', 'i34'] }, 5000)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/embedding-store/) });
    await expect(off.rank({ userId: 'u1', candidateItemIds: candidates }, 5000)).rejects.toMatchObject({ code: 'UNAVAILABLE' });

    // Recommend: retrieval is down too, so the popularity list, ranked from the cached vectors of the items it holds.
    const rec = await api.recommend({ userId: 'u1', k: 3 }, 5000);
    expect(rec.degraded).toEqual(
      expect.arrayContaining([DegradedFlag.DEGRADED_FLAG_POPULARITY_FALLBACK, DegradedFlag.DEGRADED_FLAG_VECTORS_FROM_CACHE, DegradedFlag.DEGRADED_FLAG_UNKNOWN_CANDIDATES_DROPPED]),
    );
    expect(rec.items).toHaveLength(3);
    for (const item of rec.items) expect(candidates).toContain(item.itemId);
  });

  it('does not wait for a slow feature-server past its timeout or the request deadline', async () => {
    const slow = await startFakeFeatureServer({ sequences: SEQUENCES, itemIndex: indexOf, delayMs: 3_000 });
    try {
      const api = await h.router({ featureServer: slow.address, sequenceTimeoutMs: 5_000 });
      // The client's 1.5 s deadline is shorter than the sequence timeout: the router must still answer in time.
      const res = await api.rank({ userId: 'u1', candidateItemIds: candidates }, 1500);
      expect(res.degraded).toEqual([DegradedFlag.DEGRADED_FLAG_SEQUENCE_UNAVAILABLE]);
      expect(res.items).toHaveLength(candidates.length);
    } finally {
      await slow.server.shutdown();
    }
  });

  it('gives a hung GPU worker only part of the deadline, then runs the encoder on the CPU pool, flagged', async () => {
    const hung = await startFakeWorker('hung-gpu', { delayMs: 3000 });
    try {
      const api = await h.router({ gpuWorkers: [hung.address], deadlineMarginMs: 50 });
      const cpuEncoderCalls = h.cpu.calls.filter((c) => c.model === 'transact_encoder').length;
      // The caller's 1.5 s deadline is shorter than the worker's 3 s delay: an answer at all shows the router gave up on it in time.
      const res = await api.rank({ userId: 'u1', candidateItemIds: candidates }, 1500);
      expect(res.degraded).toContain(DegradedFlag.DEGRADED_FLAG_ENCODER_ON_CPU);
      // Event order: the hung worker received the encoder call, then the CPU pool ran it.
      expect(hung.calls.map((c) => c.model)).toEqual(['transact_encoder']);
      expect(h.cpu.calls.filter((c) => c.model === 'transact_encoder').length).toBeGreaterThan(cpuEncoderCalls);
      expect(res.items.length).toBeGreaterThan(0);
    } finally {
      await hung.server.shutdown();
    }
  });

  it('answers from the router before the caller gives up when a worker hangs and no fallback is configured', async () => {
    const hung = await startFakeWorker('hung-gpu', { delayMs: 3000 });
    try {
      const api = await h.router({ gpuWorkers: [hung.address], deadlineMarginMs: 50, gpuFallback: 'none' });
      // The message names the pool: the router answered, rather than the caller's own deadline ("Deadline exceeded ...") ending the call.
      await expect(api.rank({ userId: 'u1', candidateItemIds: candidates }, 800)).rejects.toMatchObject({
        code: expect.stringMatching(/^(UNAVAILABLE|DEADLINE_EXCEEDED)$/),
        message: expect.stringMatching(/gpu pool|gpu worker/),
      });
    } finally {
      await hung.server.shutdown();
    }
  });

  it('retries a chunk a GPU worker failed (INTERNAL) on the CPU pool, flagged, instead of failing the Rank', async () => {
    const failing = await startFakeWorker('failing-gpu', { failWith: 'INTERNAL' });
    try {
      const api = await h.router({ gpuWorkers: [failing.address] });
      const cpuEncoderCalls = h.cpu.calls.filter((c) => c.model === 'transact_encoder').length;
      const res = await api.rank({ userId: 'u1', candidateItemIds: candidates });
      expect(res.degraded).toEqual([DegradedFlag.DEGRADED_FLAG_ENCODER_ON_CPU]);
      expect(failing.calls.map((c) => c.model)).toEqual(['transact_encoder']);
      expect(h.cpu.calls.filter((c) => c.model === 'transact_encoder').length).toBe(cpuEncoderCalls + 1);
      const want = candidates.map((id) => ({ id, ...h.expected('u1', id) })).sort((a, b) => b.score - a.score);
      expect(res.items.map((i) => i.itemId)).toEqual(want.map((w) => w.id));
    } finally {
      await failing.server.shutdown();
    }
  });

  it('retries a chunk a GPU worker failed on another GPU worker first, undegraded', async () => {
    const failing = await startFakeWorker('failing-gpu-2', { failWith: 'DATA_LOSS' });
    try {
      const api = await h.router({ gpuWorkers: [failing.address, h.gpu.address] });
      await eventually(() => api.router.pools.gpu.healthyCount() === 2);
      for (let i = 0; i < 3; i++) {
        const res = await api.rank({ userId: 'u1', candidateItemIds: candidates });
        expect(res.degraded).toEqual([]);
      }
      expect(failing.calls.length).toBeGreaterThan(0);
    } finally {
      await failing.server.shutdown();
    }
  });

  it('answers RESOURCE_EXHAUSTED when the GPU pool is busy, without moving its work onto the CPU pool', async () => {
    const busy = await startFakeWorker('busy-gpu', { failWith: 'RESOURCE_EXHAUSTED' });
    try {
      const api = await h.router({ gpuWorkers: [busy.address] });
      const cpuEncoderCalls = h.cpu.calls.filter((c) => c.model === 'transact_encoder').length;
      for (let i = 0; i < 3; i++) {
        await expect(api.rank({ userId: 'u1', candidateItemIds: candidates })).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/^gpu pool busy: /) });
      }
      expect(h.cpu.calls.filter((c) => c.model === 'transact_encoder').length).toBe(cpuEncoderCalls);
      // Busy is not broken: the worker stays in the pool and serves as soon as it has room.
      expect(api.router.pools.gpu.healthyCount()).toBe(1);
      busy.behaviour.failWith = undefined;
      expect((await api.rank({ userId: 'u1', candidateItemIds: candidates })).degraded).toEqual([]);
      const text = await api.router.server.metrics.registry.metrics();
      expect(text).toContain('pinrank_router_refused_total{method="Rank",reason="pool_busy"} 3');
    } finally {
      await busy.server.shutdown();
    }
  });

  // A worker whose host goes silent without closing its connections (a network partition, a
  // host that vanished), played by a delay proxy in front of a fake worker whose link is cut.
  it('stops routing to a GPU worker gone silent once its connection is found dead, and answers every Rank meanwhile', async () => {
    const silent = await startFakeWorker('silent-gpu');
    const proxy = await startDelayProxy({ targetPort: Number(silent.address.split(':')[1]), oneWayMs: 0 });
    try {
      // HTTP/2 pings every second, dead after one unanswered (30 s and 10 s by default), so the
      // test need not wait 40 s for the connection to be found dead.
      const keepalive = { 'grpc.keepalive_time_ms': 1000, 'grpc.keepalive_timeout_ms': 1000 };
      const api = await h.router({ gpuWorkers: [`127.0.0.1:${proxy.port}`, h.gpu.address], maxInferAttempts: 2, clients: { channelOptions: keepalive } });
      const pool = api.router.pools.gpu;
      await eventually(() => pool.healthyCount() === 2);
      for (let i = 0; i < 4; i++) await api.rank({ userId: 'u1', candidateItemIds: candidates }, 2000);
      expect(silent.calls.length).toBeGreaterThan(0);

      proxy.partition();
      const cutAt = Date.now();
      // Every Rank is answered, not degraded: a call to the silent worker times out its share of
      // the deadline and moves to the other (fallback-policy.ts, 'hung'), and a few in a row
      // eject it for a while.
      while (pool.servingCount() === 2 && Date.now() - cutAt < 20_000) {
        const res = await api.rank({ userId: 'u1', candidateItemIds: candidates }, 2000);
        expect(res.degraded).toEqual([]);
      }
      // Its health counts no longer once the connection is found dead (pings) and the re-opened
      // health Watch has not answered within its grace (10 s); before, it stayed SERVING for as
      // long as it was silent, and cost three Rank calls half their deadline at each ejection's end.
      await eventually(() => pool.servingCount() === 1, 20_000);
      const took: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        expect((await api.rank({ userId: 'u1', candidateItemIds: candidates }, 2000)).degraded).toEqual([]);
        took.push(performance.now() - t0);
      }
      // None waits for the silent worker (a wait is half the 2 s deadline).
      expect(Math.max(...took)).toBeLessThan(500);
      expect(pool.servingCount()).toBe(1);

      proxy.heal();
      await eventually(() => pool.servingCount() === 2, 20_000);
    } finally {
      proxy.heal();
      await proxy.close();
      await silent.server.shutdown();
    }
  }, 90_000);

  it.each([
    ['feature-server', 'featureServer', DegradedFlag.DEGRADED_FLAG_SEQUENCE_UNAVAILABLE, 100],
    ['embedding-store', 'embeddingStore', DegradedFlag.DEGRADED_FLAG_VECTORS_FROM_CACHE, 200],
  ] as const)('answers every Rank, flagged, within the lookup timeout while the %s is silent, and recovers when it answers again', async (_name, which, flag, timeoutMs) => {
    const target = which === 'featureServer' ? h.features.address : h.store.address;
    const proxy = await startDelayProxy({ targetPort: Number(target.split(':')[1]), oneWayMs: 0 });
    try {
      // The router's default lookup timeouts (the harness's are generous).
      const api = await h.router({ [which]: `127.0.0.1:${proxy.port}`, sequenceTimeoutMs: 100, embeddingsTimeoutMs: 200 });
      for (let i = 0; i < 4; i++) expect((await api.rank({ userId: 'u1', candidateItemIds: candidates }, 2000)).degraded).toEqual([]);
      proxy.partition();
      for (let i = 0; i < 8; i++) {
        const t0 = performance.now();
        const res = await api.rank({ userId: 'u1', candidateItemIds: candidates }, 2000);
        expect(res.degraded).toEqual([flag]);
        expect(res.items).toHaveLength(candidates.length);
        // The lookup's own timeout, not the request's deadline.
        expect(performance.now() - t0).toBeLessThan(timeoutMs + 400);
      }
      proxy.heal();
      let healed: RankResponse | undefined;
      const until = Date.now() + 10_000;
      while (Date.now() < until && (healed === undefined || healed.degraded.length > 0)) healed = await api.rank({ userId: 'u1', candidateItemIds: candidates }, 2000);
      expect(healed?.degraded).toEqual([]);
    } finally {
      proxy.heal();
      await proxy.close();
    }
  }, 60_000);
});
