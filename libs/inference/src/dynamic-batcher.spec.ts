import { PinrankError } from '@pinrank/service-kit';
import { toGrpcStatus } from '@pinrank/service-kit/internal';
import { DynamicBatcher, type DynamicBatcherOptions, type RejectReason } from './dynamic-batcher';
import { type TensorMap } from './host-tensor';

const rows = (values: number[]): TensorMap => ({ x: { dtype: 'float32', dims: [values.length, 1], data: new Float32Array(values) } });
const values = (m: TensorMap): number[] => Array.from(m['y']!.data as Float32Array);

/** A compute function that doubles `x` and records each batch; resolves when `release()` is called (or at once). */
function recorder(manual = false) {
  const batches: number[][] = [];
  const waiting: Array<() => void> = [];
  const compute = (inputs: TensorMap): Promise<TensorMap> => {
    const x = inputs['x']!;
    batches.push(Array.from(x.data as Float32Array));
    const out = { y: { dtype: 'float32' as const, dims: [...x.dims], data: (x.data as Float32Array).map((v) => v * 2) } };
    if (!manual) return Promise.resolve(out);
    return new Promise((resolve) => waiting.push(() => resolve(out)));
  };
  return { batches, compute, release: () => waiting.splice(0).forEach((w) => w()) };
}

function batcher(compute: DynamicBatcherOptions['compute'], patch: Partial<DynamicBatcherOptions> = {}, rejects: RejectReason[] = []) {
  return new DynamicBatcher({
    label: 'm:1',
    compute,
    layout: { mode: 'concat', userInputs: [] },
    maxBatchSize: 4,
    maxQueueDelayMs: 10,
    queueLimit: 8,
    observer: { onReject: (r) => rejects.push(r) },
    ...patch,
  });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return err instanceof PinrankError ? err.code : `not a PinrankError: ${String(err)}`;
  }
}

describe('DynamicBatcher', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('waits up to maxQueueDelayMs for more requests, then runs them as one batch', async () => {
    const rec = recorder();
    const b = batcher(rec.compute, { dispatchWhenIdle: false });
    const p1 = b.enqueue(rows([1]));
    await jest.advanceTimersByTimeAsync(4);
    const p2 = b.enqueue(rows([2, 3]));
    await jest.advanceTimersByTimeAsync(5);
    expect(rec.batches).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(rec.batches).toEqual([[1, 2, 3]]);
    expect(values(await p1)).toEqual([2]);
    expect(values(await p2)).toEqual([4, 6]);
  });

  it('runs at once on an idle model, batching what arrived in the same turn; waits only while a batch computes', async () => {
    const rec = recorder(true);
    const b = batcher(rec.compute);
    const p1 = b.enqueue(rows([1]));
    const p2 = b.enqueue(rows([2, 3]));
    // No clock time passes: the idle model runs both at the end of this turn, as one batch.
    await jest.advanceTimersByTimeAsync(0);
    expect(rec.batches).toEqual([[1, 2, 3]]);
    // While that batch computes, new requests queue for company as before.
    const p3 = b.enqueue(rows([4]));
    await jest.advanceTimersByTimeAsync(0);
    const p4 = b.enqueue(rows([5]));
    await jest.advanceTimersByTimeAsync(5);
    expect(rec.batches).toHaveLength(1);
    rec.release();
    await jest.advanceTimersByTimeAsync(0);
    expect(values(await p1)).toEqual([2]);
    expect(values(await p2)).toEqual([4, 6]);
    // The model is idle again: the two waiting requests run together without waiting out the delay.
    expect(rec.batches).toEqual([[1, 2, 3], [4, 5]]);
    rec.release();
    expect(values(await p3)).toEqual([8]);
    expect(values(await p4)).toEqual([10]);
  });

  it('takes the newest requests first while the queue stands, and oldest first once it drains', async () => {
    const order = async (newestFirstWhenStanding: boolean, withDeadlines = true): Promise<number[][]> => {
      const rec = recorder(true);
      const b = batcher(rec.compute, { maxBatchSize: 1, maxQueueDelayMs: 0, newestFirstWhenStanding });
      const options = (): { deadline?: number } => (withDeadlines ? { deadline: Date.now() + 10_000 } : {});
      const done: Array<Promise<TensorMap>> = [b.enqueue(rows([1]), options())];
      await jest.advanceTimersByTimeAsync(10);
      rec.release(); // one batch of 10 ms: the queue stands once its oldest has waited more than 2 × 10 ms
      await jest.advanceTimersByTimeAsync(0);
      done.push(b.enqueue(rows([2]), options()));
      await jest.advanceTimersByTimeAsync(0);
      for (const v of [3, 4, 5]) done.push(b.enqueue(rows([v]), options()));
      await jest.advanceTimersByTimeAsync(30);
      for (let i = 0; i < 4; i++) {
        rec.release();
        await jest.advanceTimersByTimeAsync(0);
      }
      // A fresh arrival after the queue drained runs in order again.
      done.push(b.enqueue(rows([6])), b.enqueue(rows([7])));
      for (let i = 0; i < 3; i++) {
        await jest.advanceTimersByTimeAsync(0);
        rec.release();
      }
      await Promise.all(done);
      return rec.batches;
    };
    expect(await order(true)).toEqual([[1], [2], [5], [4], [3], [6], [7]]);
    expect(await order(false)).toEqual([[1], [2], [3], [4], [5], [6], [7]]);
    // An oldest request without a deadline would never expire: it is served in order, so nothing starves.
    expect(await order(true, false)).toEqual([[1], [2], [3], [4], [5], [6], [7]]);
  });

  it('with stacking off, runs every request as its own batch and answers each as soon as it is computed', async () => {
    const rec = recorder(true);
    const b = batcher(rec.compute, { stacking: false });
    const answered: number[] = [];
    const ps = [rows([1]), rows([2, 3]), rows([4])].map((x, i) => b.enqueue(x).then((out) => (answered.push(i), out)));
    await jest.advanceTimersByTimeAsync(0);
    expect(rec.batches).toEqual([[1]]);
    rec.release();
    await jest.advanceTimersByTimeAsync(0);
    // The first is answered before the second is computed: nobody waits for the others' rows.
    expect(answered).toEqual([0]);
    expect(rec.batches).toEqual([[1], [2, 3]]);
    rec.release();
    await jest.advanceTimersByTimeAsync(0);
    rec.release();
    const outs = await Promise.all(ps);
    expect(rec.batches).toEqual([[1], [2, 3], [4]]);
    expect(outs.map(values)).toEqual([[2], [4, 6], [8]]);
  });

  it('runs at once when maxBatchSize rows are queued, and never overfills a batch', async () => {
    const rec = recorder();
    const b = batcher(rec.compute);
    const ps = [b.enqueue(rows([1, 2])), b.enqueue(rows([3])), b.enqueue(rows([4, 5])), b.enqueue(rows([6, 7]))];
    await jest.advanceTimersByTimeAsync(0);
    // [1,2]+[3] = 3 rows; adding [4,5] would make 5 > 4, so the first batch is full;
    // [4,5]+[6,7] is exactly 4 rows. Neither waits for the queue delay.
    expect(rec.batches).toEqual([[1, 2, 3], [4, 5, 6, 7]]);
    expect((await Promise.all(ps)).map(values)).toEqual([[2, 4], [6], [8, 10], [12, 14]]);
  });

  it('answers RESOURCE_EXHAUSTED at once when the queue is full', async () => {
    const rec = recorder(true);
    const rejects: RejectReason[] = [];
    const b = batcher(rec.compute, { queueLimit: 2, maxBatchSize: 1 }, rejects);
    const running = b.enqueue(rows([1])); // dispatched immediately (batch of 1 is full)
    const q1 = b.enqueue(rows([2]));
    const q2 = b.enqueue(rows([3]));
    // No timer advance: the refusal must not wait for anything.
    expect(await codeOf(b.enqueue(rows([4])))).toBe('RESOURCE_EXHAUSTED');
    expect(rejects).toEqual(['queue_full']);
    expect(b.inflightCount()).toBe(3);
    rec.release();
    await jest.advanceTimersByTimeAsync(0);
    rec.release();
    await jest.advanceTimersByTimeAsync(0);
    rec.release();
    expect(await Promise.all([codeOf(running), codeOf(q1), codeOf(q2)])).toEqual(['OK', 'OK', 'OK']);
  });

  it('reports the queue state when it refuses: in the message and as trailers', async () => {
    const rec = recorder(true);
    const b = batcher(rec.compute, { queueLimit: 1, maxBatchSize: 1 });
    const running = b.enqueue(rows([1]));
    const queued = b.enqueue(rows([2]));
    let refused: PinrankError | undefined;
    try {
      await b.enqueue(rows([3]));
    } catch (err) {
      refused = err as PinrankError;
    }
    expect(refused).toMatchObject({ code: 'RESOURCE_EXHAUSTED', message: 'model m:1: queue full (1 of 1 requests waiting, 1 batch(es) computing); retry later or on another worker' });
    expect(refused?.metadata?.get('pinrank-queue-depth')).toEqual(['1']);
    expect(refused?.metadata?.get('pinrank-queue-limit')).toEqual(['1']);
    rec.release();
    await jest.advanceTimersByTimeAsync(0);
    rec.release();
    await Promise.all([running, queued]);
  });

  it('refuses at enqueue a request whose deadline the work queued ahead would outlast (cannot_meet_deadline)', async () => {
    const rec = recorder(true);
    const rejects: RejectReason[] = [];
    const b = batcher(rec.compute, { maxBatchSize: 1 }, rejects);
    // One batch of one row that takes 50 ms teaches the batcher its speed.
    const first = b.enqueue(rows([1]));
    await jest.advanceTimersByTimeAsync(50);
    rec.release();
    await first;
    expect(b.queueState().expectedMs).toBeCloseTo(50, 0);
    const running = b.enqueue(rows([2]));
    const queued = [b.enqueue(rows([3])), b.enqueue(rows([4]))];
    // Ahead: the running batch (50 ms) and two queued rows (100 ms), then its own row: about 200 ms.
    let refused: PinrankError | undefined;
    try {
      await b.enqueue(rows([5]), { deadline: Date.now() + 120 });
    } catch (err) {
      refused = err as PinrankError;
    }
    expect(refused).toMatchObject({ code: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/^model m:1 cannot meet the deadline: about 200 ms of work queued ahead \(2 requests, 2 rows waiting, 1 batch\(es\) computing\), 120 ms left/) });
    expect(rejects).toEqual(['cannot_meet_deadline']);
    // A deadline the queue can meet is accepted.
    const patient = b.enqueue(rows([6]), { deadline: Date.now() + 1000 });
    for (let i = 0; i < 4; i++) {
      rec.release();
      await jest.advanceTimersByTimeAsync(0);
    }
    expect(await Promise.all([running, ...queued, patient].map(codeOf))).toEqual(['OK', 'OK', 'OK', 'OK']);
  });

  it('drops a request whose deadline passes while queued; it never reaches compute', async () => {
    const rec = recorder(true);
    const rejects: RejectReason[] = [];
    const b = batcher(rec.compute, { maxBatchSize: 1 }, rejects);
    const busy = b.enqueue(rows([1]));
    const doomed = b.enqueue(rows([99]), { deadline: Date.now() + 5 });
    const doomedCode = codeOf(doomed);
    await jest.advanceTimersByTimeAsync(5);
    expect(await doomedCode).toBe('DEADLINE_EXCEEDED');
    rec.release();
    await busy;
    await jest.advanceTimersByTimeAsync(20);
    expect(rec.batches).toEqual([[1]]);
    expect(rejects).toEqual(['deadline']);
    expect(await codeOf(b.enqueue(rows([2]), { deadline: Date.now() }))).toBe('DEADLINE_EXCEEDED');
  });

  it('drops a request cancelled while queued', async () => {
    const rec = recorder();
    const b = batcher(rec.compute);
    const ac = new AbortController();
    const p = codeOf(b.enqueue(rows([5]), { signal: ac.signal }));
    const kept = b.enqueue(rows([6]));
    ac.abort();
    await jest.advanceTimersByTimeAsync(10);
    expect(await p).toBe('CANCELLED');
    expect(rec.batches).toEqual([[6]]);
    expect(values(await kept)).toEqual([12]);
  });

  it('stacks only requests with the same trailing dims; others wait for the next batch', async () => {
    const rec = recorder();
    const b = batcher(rec.compute);
    const wide: TensorMap = { x: { dtype: 'float32', dims: [1, 2], data: new Float32Array([7, 8]) } };
    const ps = [b.enqueue(rows([1])), b.enqueue(wide), b.enqueue(rows([2]))];
    await jest.advanceTimersByTimeAsync(10);
    await jest.advanceTimersByTimeAsync(10);
    expect(rec.batches).toEqual([[1, 2], [7, 8]]);
    expect((await Promise.all(ps)).map(values)).toEqual([[2], [14, 16], [4]]);
  });

  it("mode 'none' runs every request alone", async () => {
    const rec = recorder();
    const b = batcher(rec.compute, { layout: { mode: 'none', userInputs: [] } });
    await Promise.all([b.enqueue(rows([1])), b.enqueue(rows([2]))]);
    expect(rec.batches).toEqual([[1], [2]]);
  });

  it('stop() runs what is queued, then refuses new requests', async () => {
    const rec = recorder();
    const b = batcher(rec.compute);
    const p = b.enqueue(rows([3]));
    const stopped = b.stop();
    expect(values(await p)).toEqual([6]);
    await stopped;
    expect(await codeOf(b.enqueue(rows([4])))).toBe('UNAVAILABLE');
    expect(b.inflightCount()).toBe(0);
  });

  it('answers an unexpected INTERNAL when the model fails on every request: the runtime text is for the log, never the client', async () => {
    const b = batcher(() => Promise.reject(new Error('kernel exploded in node Gather_17')), { maxQueueDelayMs: 0 });
    const err = (await b.enqueue(rows([1])).catch((e: unknown) => e)) as PinrankError;
    expect(err).toMatchObject({ code: 'INTERNAL', unexpected: true, message: 'model m:1 failed to compute: kernel exploded in node Gather_17' });
    expect(toGrpcStatus(err, 'abc').status.details).toBe('internal error (trace_id abc)');
  });

  it('splits a failing batch until the poison request runs alone: only it fails, as INVALID_ARGUMENT, the others get their answers', async () => {
    const runs: number[][] = [];
    const isolated: unknown[] = [];
    const compute = (inputs: TensorMap): Promise<TensorMap> => {
      const x = Array.from(inputs['x']!.data as Float32Array);
      runs.push(x);
      if (x.includes(-1)) return Promise.reject(new Error('indices element out of data bounds'));
      return Promise.resolve({ y: { dtype: 'float32', dims: [x.length, 1], data: Float32Array.from(x, (v) => v * 2) } });
    };
    const b = batcher(compute, { maxBatchSize: 16, queueLimit: 16, observer: { onIsolated: (i) => isolated.push(i) } });
    const good = Array.from({ length: 9 }, (_, i) => b.enqueue(rows([i + 1])));
    const poison = b.enqueue(rows([-1]));
    const codes = Promise.all([...good, poison].map(codeOf));
    await jest.advanceTimersByTimeAsync(10);
    expect(await codes).toEqual([...new Array<string>(9).fill('OK'), 'INVALID_ARGUMENT']);
    expect(values(await good[4]!)).toEqual([10]);
    expect(runs[0]).toHaveLength(10);
    expect(runs.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(10)) + 1);
    expect(isolated).toEqual([{ requests: 10, runs: runs.length, failed: 1, blamed: 'request' }]);
  });

  it('blames a lone failing request when the probe shows the model works, and the model when it does not', async () => {
    const failing = () => Promise.reject(new Error('bad values'));
    const healthy = batcher(failing, { maxQueueDelayMs: 0, probe: () => Promise.resolve(true) });
    expect(await codeOf(healthy.enqueue(rows([1])))).toBe('INVALID_ARGUMENT');
    const broken = batcher(failing, { maxQueueDelayMs: 0, probe: () => Promise.reject(new Error('still broken')) });
    expect(await codeOf(broken.enqueue(rows([1])))).toBe('INTERNAL');
  });

  it('closes a batch when its work would pass maxPerBatch, as it does for rows', async () => {
    const rec = recorder();
    const work = { of: (m: TensorMap) => m['x']!.dims[0]! * 10, maxPerBatch: 25 };
    const b = batcher(rec.compute, { maxBatchSize: 16, work });
    const all = [b.enqueue(rows([1])), b.enqueue(rows([2])), b.enqueue(rows([3, 4, 5]))];
    await jest.advanceTimersByTimeAsync(10);
    await Promise.all(all);
    expect(rec.batches).toEqual([[1, 2], [3, 4, 5]]);
  });

  it('validates its options', () => {
    expect(() => batcher(recorder().compute, { maxBatchSize: 0 })).toThrow(TypeError);
    expect(() => batcher(recorder().compute, { maxQueueDelayMs: -1 })).toThrow(TypeError);
  });
});
