import { Metadata } from '@grpc/grpc-js';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { type ModelConfig } from '@pinrank/contracts';
import { GRPCInferenceServiceService, ModelInferResponse } from '@pinrank/proto';
import { defineService, startServer, type CallContext } from '@pinrank/service-kit';
import { pino } from 'pino';
import { RequestDeadline } from './deadline';
import { inferOnPool, PoolInference, PoolUnavailableError, type ModelCall } from './infer-client';
import { type NamedTensors } from './model-inputs';
import { type RoutedModel } from './model-set';
import { RequestContext } from './request-context';
import { eventually } from './testing/router-harness';
import { HEADS, startFakeWorker } from './testing/fake-worker';
import { createWorkerPool, type WorkerPool } from './worker-pool';

// ModelInfer on a pool of real (fake-model) gRPC workers: retry, ejection and
// decoding as fallback-policy.ts's rules say.

const heads: RoutedModel = { name: 'ranking_heads_lite', version: '1', pinned: false, placement: 'cpu', config: {} as ModelConfig };
const inputs: NamedTensors = [
  ['user_pf', { dtype: 'float32', dims: [1, 64], data: new Float32Array(64) }],
  ['item_pf', { dtype: 'float32', dims: [1, 64], data: new Float32Array(64) }],
  ['dense_features', { dtype: 'float32', dims: [1, 4], data: new Float32Array(4) }],
];
const ctx = (): RequestContext => new RequestContext({ deadline: RequestDeadline.fromCall(undefined, 5000, 5), requestId: 'r' });
const pools: WorkerPool[] = [];
const servers: Array<{ shutdown(): Promise<void> }> = [];

async function pool(name: string, addresses: string[], o: { inferStreams?: boolean } = {}): Promise<WorkerPool> {
  // A short ejection, so a skipped worker comes back within the test.
  const p = await createWorkerPool(name, addresses, 2000, { logger: pino({ level: 'silent' }), ejectMs: 400, ...o });
  pools.push(p);
  return p;
}
async function worker(name: string, o: { streams?: boolean } = {}) {
  const w = await startFakeWorker(name, o);
  servers.push(w.server);
  return w;
}
afterAll(async () => {
  for (const p of pools) p.close();
  await Promise.all(servers.map((s) => s.shutdown()));
});

describe('inferOnPool', () => {
  it('moves to another worker when one lacks the model or is unavailable, and skips that one afterwards', async () => {
    const busy = await worker('busy');
    const ok = await worker('ok');
    const p = await pool('cpu', [busy.address, ok.address]);
    await eventually(() => p.pick(new Set([busy.address])) !== undefined && p.pick(new Set([ok.address])) !== undefined);
    for (const code of ['NOT_FOUND', 'UNAVAILABLE'] as const) {
      busy.behaviour.failWith = code;
      // Round-robin tries busy within two calls; each call still succeeds on ok.
      const failedBefore = busy.calls.length;
      for (let i = 0; i < 2; i++) await inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: false }, ctx());
      expect(busy.calls.length).toBe(failedBefore + 1);
      // busy is now skipped even though its health says SERVING.
      expect(p.pick(new Set([ok.address]))).toBeUndefined();
      p.reportSuccess(busy.address);
      busy.behaviour.failWith = undefined;
      await eventually(() => p.pick(new Set([ok.address])) !== undefined, 10_000);
    }
  });

  it('moves to another worker when one is busy, but never skips a busy worker; a pool busy throughout is RESOURCE_EXHAUSTED', async () => {
    const busy = await worker('busy-only');
    const ok = await worker('ok-beside-busy');
    const p = await pool('cpu', [busy.address, ok.address]);
    await eventually(() => p.pick(new Set([busy.address])) !== undefined && p.pick(new Set([ok.address])) !== undefined);
    busy.behaviour.failWith = 'RESOURCE_EXHAUSTED';
    for (let i = 0; i < 4; i++) await inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: false }, ctx());
    // Round-robin keeps offering calls to the busy worker (each then succeeds on ok).
    expect(busy.calls.length).toBeGreaterThanOrEqual(2);
    // Overload is not failure: the busy worker is still in the pool.
    expect(p.pick(new Set([ok.address]))?.address).toBe(busy.address);
    ok.behaviour.failWith = 'RESOURCE_EXHAUSTED';
    await expect(inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: false }, ctx())).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
      reason: 'pool_busy',
      message: expect.stringMatching(/^cpu pool busy: 2 of 2 worker\(s\) tried for ranking_heads_lite had no room/),
    });
    expect(p.healthyCount()).toBe(2);
  });

  it('ejects a worker only after three worker errors in a row, and retries the failed call elsewhere', async () => {
    const flaky = await worker('flaky');
    const ok = await worker('ok-beside-flaky');
    const p = await pool('cpu', [flaky.address, ok.address]);
    await eventually(() => p.healthyCount() === 2);
    flaky.behaviour.failWith = 'INTERNAL';
    // Every call succeeds (on ok after flaky's INTERNAL); flaky is picked until its third error in a row ejects it.
    for (let i = 0; i < 8; i++) await inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: false }, ctx());
    expect(flaky.calls.length).toBe(3);
    expect(p.healthyCount()).toBe(1);
  });

  it('fails INTERNAL naming model and worker when a worker refuses the request, without trying another', async () => {
    const broken = await worker('broken');
    broken.behaviour.failWith = 'INVALID_ARGUMENT';
    const p = await pool('cpu', [broken.address]);
    await expect(inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: true }, ctx())).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(new RegExp(`ranking_heads_lite/1 on cpu worker ${broken.address} failed: INVALID_ARGUMENT`)),
    });
    expect(broken.calls.length).toBe(1);
  });

  it('retries a worker error of a last-resort call once on the same worker when the pool has no other', async () => {
    const once = await worker('fails-once');
    const p = await pool('cpu', [once.address]);
    await eventually(() => p.healthyCount() === 1);
    once.behaviour.failWith = 'INTERNAL';
    await expect(inferOnPool(p, heads, inputs, { maxAttempts: 3, lastResort: true }, ctx())).rejects.toThrow(/cpu pool: 2 attempt\(s\) failed \(2 worker error\(s\)\) for ranking_heads_lite/);
    expect(once.calls.length).toBe(2);
    // A call whose batch failed once (e.g. beside a bad request) succeeds on the retry.
    once.behaviour.failCount = 1;
    const res = await inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: true }, ctx());
    expect(res.outputs[0]?.shape).toEqual([1, HEADS.length]);
    expect(once.calls.length).toBe(4);
  });

  it('brings an ejected worker back as soon as its health says SERVING again', async () => {
    const back = await worker('comes-back');
    const p = await createWorkerPool('gpu', [back.address], 2000, { logger: pino({ level: 'silent' }), ejectMs: 60_000 });
    pools.push(p);
    await eventually(() => p.healthyCount() === 1);
    p.reportFailure(back.address, 'now');
    expect(p.pick()).toBeUndefined();
    back.server.setServing(false);
    await eventually(() => p.pick(undefined, { includeSkipped: true }) === undefined);
    back.server.setServing(true);
    // Well before the 60 s ejection would end.
    await eventually(() => p.pick()?.address === back.address);
  });

  it('gives up with PoolUnavailableError on an empty pool, and tries a skipped worker only as a last resort', async () => {
    await expect(inferOnPool(await pool('gpu', []), heads, inputs, { maxAttempts: 2, lastResort: true }, ctx())).rejects.toThrow(PoolUnavailableError);
    const only = await worker('only');
    const p = await pool('cpu', [only.address]);
    await eventually(() => p.pick() !== undefined);
    p.reportFailure(only.address, 'now');
    await expect(inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: false }, ctx())).rejects.toThrow('cpu pool: no healthy worker for ranking_heads_lite');
    const res = await inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: true }, ctx());
    expect(res.outputs[0]?.shape).toEqual([1, HEADS.length]);
  });
});

describe('inferOnPool over the workers’ ModelStreamInfer', () => {
  it('sends each call as a message of one open stream per worker, with its own timeout', async () => {
    const w = await worker('streaming');
    const p = await pool('cpu', [w.address]);
    await eventually(() => p.pick() !== undefined);
    const stream = p.pick()?.stream;
    expect(stream).toBeDefined();
    const results = await Promise.all(Array.from({ length: 5 }, () => inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: true }, ctx())));
    expect(results.every((r) => r.outputs[0]?.name === 'probs')).toBe(true);
    expect(w.calls.map((c) => c.via)).toEqual(Array(5).fill('stream'));
    // Each message carries the time left for it: at most the request's 5 s less the router's margin.
    for (const c of w.calls) expect(c.timeoutMs).toBeGreaterThan(4000);
    for (const c of w.calls) expect(c.timeoutMs).toBeLessThanOrEqual(5000);
    // One stream, reused.
    expect(p.pick()?.stream).toBe(stream);
    expect(stream?.pending).toBe(0);
  });

  it('sends unary calls to a worker without the stream, and when the pool is told to', async () => {
    const old = await worker('no-stream', { streams: false });
    const p = await pool('cpu', [old.address]);
    await eventually(() => p.pick() !== undefined);
    for (let i = 0; i < 3; i++) await inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: true }, ctx());
    expect(old.calls.map((c) => c.via)).toEqual(['unary', 'unary', 'unary']);

    const w = await worker('streams-off');
    const unaryOnly = await pool('cpu', [w.address], { inferStreams: false });
    await eventually(() => unaryOnly.pick() !== undefined);
    expect(unaryOnly.pick()?.stream).toBeUndefined();
    await inferOnPool(unaryOnly, heads, inputs, { maxAttempts: 2, lastResort: true }, ctx());
    expect(w.calls.map((c) => c.via)).toEqual(['unary']);
  });

  it('loses no call when a worker shuts down gracefully under a steady flow of streamed calls', async () => {
    const leaving = await worker('leaving');
    const staying = await worker('staying');
    // Some work per call, so calls are in flight on the leaving worker's stream when it drains.
    leaving.behaviour.delayMs = 15;
    staying.behaviour.delayMs = 15;
    const p = await pool('cpu', [leaving.address, staying.address]);
    await eventually(() => p.healthyCount() === 2);
    let stop = false;
    const outcomes: string[] = [];
    const callers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          await inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: true }, ctx());
          outcomes.push('ok');
        } catch (err) {
          outcomes.push(`failed: ${(err as Error).message}`);
        }
      }
    });
    await eventually(() => leaving.calls.length >= 5 && staying.calls.length >= 5);
    const started = Date.now();
    await leaving.server.shutdown();
    // The open stream does not hold the shutdown for its timeout (the kit's default, 15 s).
    expect(Date.now() - started).toBeLessThan(5_000);
    const after = outcomes.length;
    await eventually(() => outcomes.length >= after + 20);
    stop = true;
    await Promise.all(callers);
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(leaving.calls.some((c) => c.via === 'stream')).toBe(true);
  });

  it('keeps a streamed call’s status: busy moves on, a refusal is INTERNAL, a hung worker is the deadline', async () => {
    const busy = await worker('stream-busy');
    const ok = await worker('stream-ok');
    const p = await pool('cpu', [busy.address, ok.address]);
    await eventually(() => p.pick(new Set([busy.address])) !== undefined && p.pick(new Set([ok.address])) !== undefined);
    busy.behaviour.failWith = 'RESOURCE_EXHAUSTED';
    for (let i = 0; i < 4; i++) await inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: false }, ctx());
    expect(busy.calls.length).toBeGreaterThanOrEqual(2);
    expect(p.healthyCount()).toBe(2);
    busy.behaviour.failWith = 'INVALID_ARGUMENT';
    ok.behaviour.failWith = 'INVALID_ARGUMENT';
    await expect(inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: false }, ctx())).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/^ranking_heads_lite\/1 on cpu worker 127\.0\.0\.1:\d+ failed: INVALID_ARGUMENT: test worker stream-(busy|ok): told to fail$/),
    });
    busy.behaviour.failWith = undefined;
    ok.behaviour.failWith = undefined;
    busy.behaviour.delayMs = 2000;
    ok.behaviour.delayMs = 2000;
    const short = new RequestContext({ deadline: RequestDeadline.fromCall(undefined, 150, 5), requestId: 'short' });
    const started = Date.now();
    await expect(inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: true }, short)).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(busy.calls.concat(ok.calls).every((c) => c.via === 'stream')).toBe(true);
    busy.behaviour.delayMs = undefined;
    ok.behaviour.delayMs = undefined;
  });

  it('tells the worker when the caller cancels a streamed call, so it stops working on it', async () => {
    const w = await worker('stream-cancel');
    const p = await pool('cpu', [w.address]);
    await eventually(() => p.pick() !== undefined);
    w.behaviour.delayMs = 5_000;
    const caller = new AbortController();
    const parent = { signal: caller.signal, deadline: undefined, otel: ROOT_CONTEXT, metadata: new Metadata() } as unknown as CallContext;
    const cancelled = new RequestContext({ deadline: RequestDeadline.fromCall(undefined, 10_000, 5), requestId: 'gone', parent });
    const started = Date.now();
    const call = inferOnPool(p, heads, inputs, { maxAttempts: 2, lastResort: true }, cancelled);
    await eventually(() => w.calls.length === 1);
    caller.abort();
    await expect(call).rejects.toMatchObject({ code: 'CANCELLED' });
    // The worker's wait ended at the cancel message, not at its 5 s delay or the call's 10 s timeout.
    await eventually(() => w.cancelled.length === 1);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(w.calls.map((c) => c.via)).toEqual(['stream']);
    w.behaviour.delayMs = undefined;
  });
});

describe('PoolInference', () => {
  const call: ModelCall = { model: heads, pool: 'cpu', inputs, output: { name: 'probs', rows: 1, cols: HEADS.length }, lastResort: true };

  it('decodes the output and reports the version the worker served', async () => {
    const w = await worker('decoding');
    const p = await pool('cpu', [w.address]);
    await eventually(() => p.pick() !== undefined);
    const out = await new PoolInference({ gpu: await pool('gpu', []), cpu: p }, 2).run(call, ctx());
    expect(out.data).toHaveLength(3);
    expect(out.modelVersion).toBe('1');
  });

  it('answers INTERNAL when a worker sends an output of another shape', async () => {
    const reg = defineService(GRPCInferenceServiceService, {
      modelInfer: async (req) =>
        ModelInferResponse.fromPartial({ modelName: req.modelName, outputs: [{ name: 'probs', datatype: 'FP32', shape: [1, 2] }], rawOutputContents: [Buffer.alloc(8)] }),
    });
    const server = await startServer({ name: 'wrong-shape', address: '127.0.0.1:0', services: [reg], signals: [], logger: pino({ level: 'silent' }) });
    servers.push(server);
    const p = await pool('cpu', [`127.0.0.1:${server.port}`]);
    await eventually(() => p.pick() !== undefined);
    await expect(new PoolInference({ gpu: await pool('gpu', []), cpu: p }, 2).run(call, ctx())).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'ranking_heads_lite worker sent a malformed tensor: ranking_heads_lite: output "probs" has shape [1,2], expected [1,3]',
    });
  });
});
