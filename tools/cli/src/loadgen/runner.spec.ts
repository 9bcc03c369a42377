import { type LoadClock } from './clock';
import { resolveLoadOptions, type LoadOptionsInput } from './options';
import { runLoad, type CallOutcome, type LoadProgress, type LoadResult, type LoadSender } from './runner';
import { type LoadRequest } from './workload';

/** A clock on jest's fake time plus a jump that simulates this process stalling. */
function fakeClock(): LoadClock & { stall(ms: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h),
    stall: (ms) => void (offset += ms),
  };
}

/** A sender answering after `latencyMs` of fake time with `outcome(n)` for the n-th call. */
function delayedSender(latencyMs: number, outcome: (n: number) => CallOutcome = () => ({ ok: true })): LoadSender & { seen: LoadRequest[] } {
  const seen: LoadRequest[] = [];
  const send = (req: LoadRequest): Promise<CallOutcome> => {
    const n = seen.length;
    seen.push(req);
    return new Promise((resolve) => setTimeout(() => resolve(outcome(n)), latencyMs));
  };
  return Object.assign(send, { seen });
}

let counter = 0;
const nextRequest = (): LoadRequest => ({ userId: `u${counter++}`, itemIds: ['i1'] });

async function drive(input: LoadOptionsInput, send: LoadSender, clock: LoadClock, runMs: number, extra: { signal?: AbortSignal; onProgress?: (p: LoadProgress) => void } = {}): Promise<LoadResult> {
  const done = runLoad(resolveLoadOptions({ warmupMs: 0, ...input }), { send, nextRequest, clock, ...extra });
  await jest.advanceTimersByTimeAsync(runMs);
  return done;
}

describe('runLoad', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    counter = 0;
  });
  afterEach(() => jest.useRealTimers());

  it('open loop: sends on the timetable and records every answer', async () => {
    const send = delayedSender(5);
    const r = await drive({ qps: 10, durationMs: 1000 }, send, fakeClock(), 2000);
    expect(r.stoppedBy).toBe('duration');
    expect(r.counts).toMatchObject({ sent: 10, ok: 10, errors: 0, dropped: 0, warmupSent: 0 });
    expect(send.seen.map((q) => q.userId)).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`));
    expect(r.okLatency.p50).toBeCloseTo(5, 1);
    expect(r.okLatency.max).toBeCloseTo(5, 1);
    expect(r.measuredMs).toBe(1000);
    expect(r.throughput).toBeCloseTo(10, 5);
  });

  it('open loop: measures from the scheduled time, so a stall shows in the percentiles (no coordinated omission)', async () => {
    const clock = fakeClock();
    const done = runLoad(resolveLoadOptions({ qps: 100, durationMs: 1000, warmupMs: 0 }), { send: delayedSender(2), nextRequest, clock });
    await jest.advanceTimersByTimeAsync(300);
    clock.stall(50);
    await jest.advanceTimersByTimeAsync(1000);
    const r = await done;
    // Every scheduled request is still sent: the ones due during the stall go out late, at once.
    expect(r.counts.sent).toBe(100);
    expect(r.counts.ok).toBe(100);
    // Five requests waited 10..50 ms behind the stall; measured from their send time they would all be ~2 ms.
    expect(r.okLatency.p90).toBeLessThan(5);
    expect(r.okLatency.p99).toBeGreaterThan(30);
    expect(r.okLatency.max).toBeCloseTo(52, 0);
  });

  it('open loop: drops and counts requests due while the outstanding limit is reached', async () => {
    const send = delayedSender(100);
    const r = await drive({ qps: 100, durationMs: 200, maxOutstanding: 2 }, send, fakeClock(), 1000);
    expect(r.counts.sent + r.counts.dropped).toBe(20);
    expect(r.counts.dropped).toBeGreaterThanOrEqual(14);
    expect(r.counts.ok).toBe(r.counts.sent);
    expect(send.seen).toHaveLength(r.counts.sent);
    expect(r.okLatency.p50).toBeCloseTo(100, 0);
  });

  it('excludes the warm-up from the statistics', async () => {
    const r = await drive({ qps: 10, durationMs: 1000, warmupMs: 500 }, delayedSender(5), fakeClock(), 3000);
    expect(r.counts).toMatchObject({ warmupSent: 5, sent: 10, ok: 10 });
    expect(r.okLatency.count).toBe(10);
  });

  it('open loop: stops after --requests measured requests', async () => {
    const send = delayedSender(1);
    const r = await drive({ qps: 100, requests: 7 }, send, fakeClock(), 1000);
    expect(r.stoppedBy).toBe('requests');
    expect(r.counts.sent).toBe(7);
    expect(send.seen).toHaveLength(7);
  });

  it('closed loop: each caller sends its next request when the previous one answers', async () => {
    const r = await drive({ concurrency: 2, durationMs: 100 }, delayedSender(10), fakeClock(), 500);
    expect(r.counts).toMatchObject({ sent: 20, ok: 20 });
    expect(r.okLatency.p50).toBeCloseTo(10, 1);
    expect(r.throughput).toBeCloseTo(200, 5);
  });

  it('closed loop: counts errors by status and stops after --requests', async () => {
    const send = delayedSender(3, (n) => (n % 4 === 0 ? { ok: false, status: 'RESOURCE_EXHAUSTED' } : { ok: true }));
    const r = await drive({ concurrency: 3, requests: 10 }, send, fakeClock(), 1000);
    expect(r.stoppedBy).toBe('requests');
    expect(r.counts).toMatchObject({ sent: 10, ok: 7, errors: 3, errorsByStatus: { RESOURCE_EXHAUSTED: 3 } });
    expect(r.errorLatency.count).toBe(3);
  });

  it('counts a sender that rejects as UNKNOWN', async () => {
    const send: LoadSender = () => Promise.reject(new Error('boom'));
    const r = await drive({ qps: 10, durationMs: 300 }, send, fakeClock(), 1000);
    expect(r.counts).toMatchObject({ sent: 3, ok: 0, errors: 3, errorsByStatus: { UNKNOWN: 3 } });
  });

  it('stops on abort and returns what it measured', async () => {
    const ac = new AbortController();
    const clock = fakeClock();
    const done = runLoad(resolveLoadOptions({ qps: 100, durationMs: 10_000, warmupMs: 0 }), { send: delayedSender(1), nextRequest, clock, signal: ac.signal });
    await jest.advanceTimersByTimeAsync(255);
    ac.abort();
    await jest.advanceTimersByTimeAsync(100);
    const r = await done;
    expect(r.stoppedBy).toBe('interrupted');
    expect(r.counts.sent).toBe(26);
    expect(r.counts.ok).toBe(26);
    expect(r.measuredMs).toBe(255);
  });

  it('reports progress every interval with the current rate', async () => {
    const seen: LoadProgress[] = [];
    await drive({ qps: 50, durationMs: 3000, progressIntervalMs: 1000 }, delayedSender(1), fakeClock(), 4000, { onProgress: (p) => seen.push(p) });
    expect(seen.map((p) => p.elapsedMs)).toEqual([1000, 2000]);
    for (const p of seen) expect(p.currentQps).toBeCloseTo(50, 0);
    expect(seen[1]?.counts.ok).toBe(100);
    expect(seen[1]?.p99Ms).toBeCloseTo(1, 1);
  });
});
