import { DegradedFlag } from '@pinrank/proto';
import { RequestDeadline } from './deadline';
import { ATTEMPT_RULES, EJECTION, FallbackPolicy, attemptTimeoutMs, classifyAttemptFailure, ejectionMs, mayRetrySameWorker, maxEjected, mayUseSkippedWorker, slowStartWeight } from './fallback-policy';
import { type ModelSet, type PoolName } from './model-set';
import { RequestContext } from './request-context';
import { type GpuFallback } from './router-options';

// Only what the policy reads of a model set: placements and whether a lite model exists.
const models = (encoder: PoolName, lite: boolean): ModelSet =>
  ({
    encoder: { name: 'transact_encoder', placement: encoder },
    heads: { name: 'ranking_heads', placement: 'cpu', headNames: ['save'] },
    lite: lite ? { name: 'ranking_heads_lite', placement: 'cpu', headNames: ['save'] } : undefined,
  }) as unknown as ModelSet;

const context = (): RequestContext => new RequestContext({ deadline: new RequestDeadline(Number.MAX_SAFE_INTEGER, 0) });
const policy = (mode: GpuFallback, healthy: PoolName[] = ['gpu', 'cpu']): FallbackPolicy =>
  new FallbackPolicy({ mode, liteModelName: 'ranking_heads_lite', hasHealthyWorker: (p) => healthy.includes(p) });

describe('FallbackPolicy', () => {
  it('starts on the full model, the encoder on its placement; the first pool is a last resort only without a fallback', () => {
    expect(policy('cpu_encoder').firstRoute(models('gpu', true), 'full', context())).toEqual({ scorer: 'full', encoderPool: 'gpu', lastResort: false });
    expect(policy('lite').firstRoute(models('gpu', true), 'full', context())).toEqual({ scorer: 'full', encoderPool: 'gpu', lastResort: false });
    expect(policy('none').firstRoute(models('gpu', true), 'full', context())).toEqual({ scorer: 'full', encoderPool: 'gpu', lastResort: true });
    // An encoder placed on the CPU pool has nowhere else to go with cpu_encoder.
    expect(policy('cpu_encoder').firstRoute(models('cpu', true), 'full', context())).toEqual({ scorer: 'full', encoderPool: 'cpu', lastResort: true });
  });

  it('starts on the lite heads, flagged, when the encoder pool has no healthy worker and the fallback is lite', () => {
    const ctx = context();
    expect(policy('lite', ['cpu']).firstRoute(models('gpu', true), 'full', ctx)).toEqual({ scorer: 'lite' });
    expect(ctx.degraded()).toEqual([DegradedFlag.DEGRADED_FLAG_LITE_MODEL]);
    // cpu_encoder still tries the encoder's pool first (a worker may be back); the chunk falls back on failure.
    expect(policy('cpu_encoder', ['cpu']).firstRoute(models('gpu', true), 'full', context())).toMatchObject({ scorer: 'full', encoderPool: 'gpu' });
  });

  it('follows an arm that chose the lite scorer, unflagged, and refuses it without a lite model', () => {
    const ctx = context();
    expect(policy('cpu_encoder').firstRoute(models('gpu', true), 'lite', ctx)).toEqual({ scorer: 'lite' });
    expect(ctx.degraded()).toEqual([]);
    expect(() => policy('cpu_encoder').firstRoute(models('gpu', false), 'lite', ctx)).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION' }));
  });

  it('after the encoder pool failed: the CPU pool (ENCODER_ON_CPU), the lite heads (LITE_MODEL), or UNAVAILABLE', () => {
    const cpu = context();
    expect(policy('cpu_encoder').afterEncoderPoolFailed(models('gpu', true), 'gpu pool: gone', cpu)).toEqual({ scorer: 'full', encoderPool: 'cpu', lastResort: true });
    expect(cpu.degraded()).toEqual([DegradedFlag.DEGRADED_FLAG_ENCODER_ON_CPU]);
    const lite = context();
    expect(policy('lite').afterEncoderPoolFailed(models('gpu', true), 'gpu pool: gone', lite)).toEqual({ scorer: 'lite' });
    expect(lite.degraded()).toEqual([DegradedFlag.DEGRADED_FLAG_LITE_MODEL]);
    for (const [mode, m] of [['none', models('gpu', true)], ['lite', models('gpu', false)], ['cpu_encoder', models('cpu', true)]] as const) {
      expect(() => policy(mode).afterEncoderPoolFailed(m, 'gpu pool: gone', context())).toThrow(
        expect.objectContaining({ code: 'UNAVAILABLE', message: 'gpu pool: gone; no fallback configured' }),
      );
    }
  });

  it('gives each route its heads model, always as a last resort', () => {
    const p = policy('lite');
    expect(p.headsOf(models('gpu', true), { scorer: 'full', encoderPool: 'gpu', lastResort: false })).toMatchObject({ model: { name: 'ranking_heads' }, pool: 'cpu', lastResort: true });
    expect(p.headsOf(models('gpu', true), { scorer: 'lite' })).toMatchObject({ model: { name: 'ranking_heads_lite' }, pool: 'cpu', lastResort: true });
    expect(() => p.headsOf(models('gpu', false), { scorer: 'lite' })).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
  });
});

describe('the fallback pool cap', () => {
  it('runs at most fallbackChunksPerWorker chunks per healthy worker at once, refusing more RESOURCE_EXHAUSTED', async () => {
    let healthy = 1;
    const p = new FallbackPolicy({ mode: 'cpu_encoder', liteModelName: 'ranking_heads_lite', hasHealthyWorker: () => true, healthyWorkers: () => healthy, fallbackChunksPerWorker: 2 });
    const gates: Array<() => void> = [];
    const hold = (): Promise<string> => new Promise((resolve) => gates.push(() => resolve('done')));
    const running = [p.onFallbackPool('cpu', hold), p.onFallbackPool('cpu', hold)];
    expect(p.fallbackChunksInFlight).toBe(2);
    await expect(p.onFallbackPool('cpu', hold)).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', reason: 'fallback_full', message: expect.stringMatching(/cpu fallback pool is full \(2 chunk/) });
    // A second healthy worker doubles the room.
    healthy = 2;
    running.push(p.onFallbackPool('cpu', hold));
    expect(p.fallbackChunksInFlight).toBe(3);
    gates.forEach((g) => g());
    await expect(Promise.all(running)).resolves.toEqual(['done', 'done', 'done']);
    expect(p.fallbackChunksInFlight).toBe(0);
    // A failing call gives its slot back too.
    await expect(p.onFallbackPool('cpu', () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(p.fallbackChunksInFlight).toBe(0);
  });
});

describe('the fallback wait queue', () => {
  const policy = (): FallbackPolicy =>
    new FallbackPolicy({ mode: 'cpu_encoder', liteModelName: 'ranking_heads_lite', hasHealthyWorker: () => true, healthyWorkers: () => 1, fallbackChunksPerWorker: 1 });

  it('lets a chunk that finds the pool full wait for the next free slot, first come first served', async () => {
    const p = policy();
    const order: string[] = [];
    let open: () => void = () => undefined;
    const first = p.onFallbackPool('cpu', () => new Promise<void>((resolve) => (open = resolve)).then(() => order.push('first')));
    const second = p.onFallbackPool('cpu', async () => order.push('second'), { maxWaitMs: 5_000 });
    expect(p.fallbackChunksWaiting).toBe(1);
    expect(p.fallbackChunksInFlight).toBe(1);
    open();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(p.fallbackChunksInFlight).toBe(0);
    expect(p.fallbackChunksWaiting).toBe(0);
  });

  it('refuses when the wait runs out, when no wait is allowed, and when as many wait as may run', async () => {
    const p = policy();
    let open: () => void = () => undefined;
    const running = p.onFallbackPool('cpu', () => new Promise<void>((resolve) => (open = resolve)));
    await expect(p.onFallbackPool('cpu', async () => 'x')).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', reason: 'fallback_full' });
    await expect(p.onFallbackPool('cpu', async () => 'x', { maxWaitMs: 20 })).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', reason: 'fallback_full' });
    expect(p.fallbackChunksWaiting).toBe(0);
    const waiting = p.onFallbackPool('cpu', async () => 'waited', { maxWaitMs: 5_000 });
    await expect(p.onFallbackPool('cpu', async () => 'x', { maxWaitMs: 5_000 })).rejects.toMatchObject({ message: expect.stringMatching(/1 waiting/) });
    open();
    await expect(waiting).resolves.toBe('waited');
    await running;
    expect(p.fallbackChunksInFlight).toBe(0);
  });

  it('drops a waiting chunk whose request is cancelled, and lets waiting chunks in when the pool grows', async () => {
    let healthy = 1;
    const p = new FallbackPolicy({ mode: 'cpu_encoder', liteModelName: 'ranking_heads_lite', hasHealthyWorker: () => true, healthyWorkers: () => healthy, fallbackChunksPerWorker: 1 });
    let open: () => void = () => undefined;
    const running = p.onFallbackPool('cpu', () => new Promise<void>((resolve) => (open = resolve)));
    const abort = new AbortController();
    const cancelled = p.onFallbackPool('cpu', async () => 'x', { maxWaitMs: 5_000, signal: abort.signal });
    abort.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(p.fallbackChunksWaiting).toBe(0);
    healthy = 2;
    await expect(p.onFallbackPool('cpu', async () => 'second worker', { maxWaitMs: 5_000 })).resolves.toBe('second worker');
    open();
    await running;
    expect(p.fallbackChunksInFlight).toBe(0);
  });
});

describe('retry and ejection rules', () => {
  it('classifies a failed attempt by its status and the request deadline', () => {
    expect(classifyAttemptFailure('UNAVAILABLE', false)).toBe('unavailable');
    expect(classifyAttemptFailure('RESOURCE_EXHAUSTED', false)).toBe('overloaded');
    expect(classifyAttemptFailure('NOT_FOUND', false)).toBe('model-missing');
    expect(classifyAttemptFailure('CANCELLED', false)).toBe('cancelled');
    expect(classifyAttemptFailure('DEADLINE_EXCEEDED', false)).toBe('hung');
    expect(classifyAttemptFailure('DEADLINE_EXCEEDED', true)).toBe('deadline');
    for (const code of ['INTERNAL', 'UNKNOWN', 'DATA_LOSS', 'ABORTED'] as const) expect(classifyAttemptFailure(code, false)).toBe('worker-error');
    expect(classifyAttemptFailure('INVALID_ARGUMENT', false)).toBe('failed');
    expect(classifyAttemptFailure('FAILED_PRECONDITION', false)).toBe('failed');
  });

  it('never ejects a busy worker; ejects a gone one at once, a hung or failing one only after failures in a row', () => {
    expect(ATTEMPT_RULES.overloaded).toEqual({ tryAnother: true, eject: undefined });
    expect(ATTEMPT_RULES.unavailable).toEqual({ tryAnother: true, eject: 'now' });
    expect(ATTEMPT_RULES.cancelled).toEqual({ tryAnother: true, eject: 'now' });
    expect(ATTEMPT_RULES.hung).toEqual({ tryAnother: true, eject: 'consecutive' });
    expect(ATTEMPT_RULES['worker-error']).toEqual({ tryAnother: true, eject: 'consecutive' });
    expect(ATTEMPT_RULES.failed).toEqual({ tryAnother: false, eject: undefined });
    expect(EJECTION.consecutiveFailures).toBe(3);
  });

  it('gives one attempt half of the time left, a skipped worker only to the first attempt of a last-resort call, and one retry of a worker error on the same worker', () => {
    expect(attemptTimeoutMs(400)).toBe(200);
    expect(attemptTimeoutMs(1)).toBe(1);
    // Nothing can follow: the whole time left.
    expect(attemptTimeoutMs(400, false)).toBe(400);
    expect(mayUseSkippedWorker(true, 0)).toBe(true);
    expect(mayUseSkippedWorker(true, 1)).toBe(false);
    expect(mayUseSkippedWorker(false, 0)).toBe(false);
    expect(mayRetrySameWorker(true, 'worker-error', false)).toBe(true);
    expect(mayRetrySameWorker(true, 'worker-error', true)).toBe(false);
    expect(mayRetrySameWorker(false, 'worker-error', false)).toBe(false);
    expect(mayRetrySameWorker(true, 'unavailable', false)).toBe(false);
  });

  it('doubles the ejection per ejection in a row up to the cap, and ejects at most half a pool (at least one worker)', () => {
    expect(ejectionMs(1)).toBe(1000);
    expect(ejectionMs(2)).toBe(2000);
    expect(ejectionMs(3)).toBe(4000);
    expect(ejectionMs(20)).toBe(EJECTION.maxMs);
    expect(ejectionMs(2, 50)).toBe(100);
    expect([1, 2, 3, 4, 10].map(maxEjected)).toEqual([1, 1, 1, 2, 5]);
  });

  it('ramps a worker that turns SERVING again from a tenth of its share to all of it over the slow start', () => {
    expect(slowStartWeight(0)).toBeCloseTo(EJECTION.slowStartMinWeight);
    expect(slowStartWeight(EJECTION.slowStartMs / 2)).toBeCloseTo(0.55);
    expect(slowStartWeight(EJECTION.slowStartMs)).toBe(1);
  });
});
