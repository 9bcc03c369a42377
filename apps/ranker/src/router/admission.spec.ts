import { AdmissionController, type AdmissionTicket } from './admission';
import { OverloadError } from './overload-error';

/** A controller on a manual clock. */
function controller(o: ConstructorParameters<typeof AdmissionController>[0] = {}) {
  let t = 0;
  const c = new AdmissionController({ queueFactor: 0, ...o, now: () => t });
  return { c, advance: (ms: number) => (t += ms) };
}

/**
 * Admits at once or not at all: a request that would wait for a slot (the
 * controllers here have no queue unless a test gives them one, but a probe's
 * held-back slots may still be waited for) is withdrawn at once.
 */
async function tryAdmit(c: AdmissionController, remainingMs = 10_000): Promise<AdmissionTicket | undefined> {
  const abort = new AbortController();
  const queuedBefore = c.queued;
  const admitted = c.admit(remainingMs, abort.signal);
  if (c.queued > queuedBefore) abort.abort();
  try {
    return await admitted;
  } catch (err) {
    if (err instanceof OverloadError || (err instanceof Error && 'code' in err && err.code === 'CANCELLED')) return undefined;
    throw err;
  }
}

/** Runs `rounds` rounds of up to `offered` concurrent requests that each take `latency(n)` ms for `n` admitted. */
async function drive(h: ReturnType<typeof controller>, rounds: number, latency: (inflight: number) => number, offered = 100): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    const tickets: AdmissionTicket[] = [];
    for (let i = 0; i < offered; i++) {
      const t = await tryAdmit(h.c);
      if (t) tickets.push(t);
    }
    h.advance(latency(tickets.length));
    for (const t of tickets) t.release('ok');
  }
}

describe('AdmissionController', () => {
  it('refuses beyond the limit at once with RESOURCE_EXHAUSTED naming it, and admits again after a release', async () => {
    const { c } = controller({ initialLimit: 3, probeIntervalMs: 0 });
    const tickets = [await c.admit(1000), await c.admit(1000), await c.admit(1000)];
    expect(c.inflight).toBe(3);
    await expect(c.admit(1000)).rejects.toBeInstanceOf(OverloadError);
    await expect(c.admit(1000)).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
      reason: 'limit',
      message: 'ranker overloaded: 3 requests in flight (concurrency limit 3) and 0 waiting; retry later with backoff',
    });
    tickets[0]?.release('ignore');
    tickets[0]?.release('ignore'); // a second release is a no-op
    expect(c.inflight).toBe(2);
    await expect(c.admit(1000)).resolves.toBeDefined();
  });

  it('measures the no-load latency first, running requests alone, then shrinks the limit to what the backend serves', async () => {
    // A backend that serves 2 at a time in 10 ms: more concurrency only queues.
    const h = controller({ initialLimit: 32, maxLimit: 64, tolerance: 2 });
    const latency = (n: number): number => 10 * Math.max(1, n / 2);
    expect(h.c.limit).toBe(32);
    await drive(h, 1, latency);
    expect(h.c.limit).toBe(1);
    await drive(h, 4, latency);
    expect(h.c.noLoadLatencyMs).toBe(10);
    expect(h.c.limit).toBe(32);
    await drive(h, 200, latency);
    expect(h.c.limit).toBeGreaterThanOrEqual(3);
    expect(h.c.limit).toBeLessThanOrEqual(5);
  });

  it('measures the no-load latency again when no request ran alone for probeIntervalMs', async () => {
    // minLimit 2: a limit of 1 would itself run requests alone and renew the no-load latency.
    const h = controller({ initialLimit: 8, minLimit: 2, probeIntervalMs: 1000 });
    await drive(h, 5, () => 10);
    expect(h.c.limit).toBe(8);
    await drive(h, 20, () => 60);
    expect(h.c.limit).toBe(1);
    await drive(h, 5, () => 20);
    expect(h.c.noLoadLatencyMs).toBeGreaterThan(10);
    expect(h.c.limit).toBeGreaterThan(1);
  });

  it('ends a probe rather than refuse a request whose wait for a slot runs out during it', async () => {
    const h = controller({ initialLimit: 4, queueFactor: 1 });
    const first = await h.c.admit(100);
    expect(h.c.limit).toBe(1);
    // Waits up to half its 100 ms (nothing is known of the latency yet), then the probe gives way.
    const second = h.c.admit(100);
    expect(h.c.queued).toBe(1);
    await expect(second).resolves.toBeDefined();
    expect(h.c.limit).toBe(4);
    expect(h.c.inflight).toBe(2);
    first.release('ok');
  });

  it('refuses at the limit at once by default (no queue), yet lets requests wait for the slots a probe holds back', async () => {
    const p = new AdmissionController({ initialLimit: 2, deadlineFactor: 0 });
    const first = await p.admit(5000);
    expect(p.limit).toBe(1); // the first request starts a probe of the no-load latency
    const second = p.admit(5000);
    expect(p.queued).toBe(1);
    await expect(p.admit(5000)).rejects.toMatchObject({ reason: 'limit' }); // beyond the limit the probe held back
    first.release('ok');
    (await second).release('ok');
    expect(p.inflight).toBe(0);

    const c = new AdmissionController({ initialLimit: 2, probeIntervalMs: 0 });
    const running = [await c.admit(5000), await c.admit(5000)];
    await expect(c.admit(5000)).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', reason: 'limit', message: expect.stringMatching(/2 requests in flight \(concurrency limit 2\) and 0 waiting/) });
    expect(c.queued).toBe(0);
    running.forEach((t) => t.release('ignore'));
  });

  it('without growWhenSlow only shrinks above tolerance: where two requests at once take twice as long, it often runs one at a time', async () => {
    // A backend that serves one request at a time: n admitted take n × 10 ms.
    const serial = (n: number): number => 10 * n;
    const roundsAt = async (growWhenSlow: boolean): Promise<Map<number, number>> => {
      const h = controller({ initialLimit: 4, minLimit: 1, tolerance: 1.5, growWhenSlow });
      await drive(h, 50, serial);
      const seen = new Map<number, number>();
      for (let r = 0; r < 100; r++) {
        seen.set(h.c.limit, (seen.get(h.c.limit) ?? 0) + 1);
        await drive(h, 1, serial);
      }
      return seen;
    };
    const strict = await roundsAt(false);
    expect(strict.get(1) ?? 0).toBeGreaterThanOrEqual(30);
    expect([...strict.keys()].every((l) => l <= 3)).toBe(true);
    const growing = await roundsAt(true);
    expect(growing.get(1) ?? 0).toBe(0);
  });

  it('grows the limit while latency stays flat, up to the maximum', async () => {
    const h = controller({ initialLimit: 2, maxLimit: 40 });
    await drive(h, 305, () => 10);
    expect(h.c.limit).toBe(40);
  });

  it('brings a limit that a burst shrank back to its start under light load, and no further', async () => {
    const h = controller({ initialLimit: 8 });
    await drive(h, 5, () => 10); // the first requests measure the no-load latency
    // A burst: latency climbs with the load, the limit shrinks.
    await drive(h, 30, (n) => 10 * n);
    expect(h.c.limit).toBeLessThanOrEqual(3);
    // Light load (one request at a time) at the no-load latency: back to 8 within a few dozen answers, not beyond.
    await drive(h, 40, () => 10, 1);
    expect(h.c.limit).toBe(8);
    await drive(h, 100, () => 10, 1);
    expect(h.c.limit).toBe(8);
  });

  it('does not grow a limit that the load never reaches', async () => {
    const h = controller({ initialLimit: 8 });
    await drive(h, 100, () => 10, 3);
    expect(h.c.noLoadLatencyMs).toBe(10);
    expect(h.c.limit).toBe(8);
  });

  it('shrinks the limit by a tenth when a request is refused or abandoned downstream for load', async () => {
    const { c } = controller({ initialLimit: 10, minLimit: 2, probeIntervalMs: 0 });
    (await c.admit(1000)).release('overload');
    expect(c.limit).toBe(9);
    for (let i = 0; i < 50; i++) (await c.admit(1000)).release('overload');
    expect(c.limit).toBe(2);
  });

  it('refuses a request whose remaining deadline cannot cover the expected latency, but never on an idle router', async () => {
    const h = controller({ initialLimit: 8, probeIntervalMs: 0 });
    const first = await h.c.admit(1000);
    h.advance(200);
    first.release('ok');
    expect(h.c.expectedMs).toBe(200);
    // Idle: the estimate may be stale, the request goes through.
    const idle = await h.c.admit(50);
    await expect(h.c.admit(150)).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', reason: 'deadline', message: expect.stringMatching(/150 ms left, requests now take about 200 ms/) });
    (await h.c.admit(250)).release('ignore');
    idle.release('ignore');
    // deadlineFactor 0 turns the check off.
    const off = controller({ deadlineFactor: 0, probeIntervalMs: 0 });
    const t = await off.c.admit(1000);
    off.advance(500);
    t.release('ok');
    const busy = await off.c.admit(1000);
    await expect(off.c.admit(1)).resolves.toBeDefined();
    busy.release('ignore');
  });

  it('lets requests wait for a slot in a queue as long as the limit, first come first served, within their deadline', async () => {
    const c = new AdmissionController({ initialLimit: 2, probeIntervalMs: 0, deadlineFactor: 0, queueFactor: 1 });
    const running = [await c.admit(5000), await c.admit(5000)];
    const order: number[] = [];
    const waiting = [c.admit(5000), c.admit(5000)].map((p, i) => p.then((t) => (order.push(i), t)));
    expect(c.queued).toBe(2);
    // Limit and queue full: refused at once.
    await expect(c.admit(5000)).rejects.toMatchObject({ reason: 'limit', message: expect.stringMatching(/2 requests in flight \(concurrency limit 2\) and 2 waiting/) });
    running[0]?.release('ignore');
    running[1]?.release('ignore');
    const granted = await Promise.all(waiting);
    expect(order).toEqual([0, 1]);
    expect(c.inflight).toBe(2);
    // A waiting request gives up when its time is used up (half of it while no latency is known), and one cancelled leaves the queue.
    const late = c.admit(30);
    await expect(late).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', reason: 'deadline', message: expect.stringMatching(/within the 15 ms the request could wait/) });
    const abort = new AbortController();
    const cancelled = c.admit(5000, abort.signal);
    abort.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(c.queued).toBe(0);
    granted.forEach((t) => t.release('ignore'));
    expect(c.inflight).toBe(0);
  });

  it('validates its options', () => {
    expect(() => new AdmissionController({ minLimit: 0 })).toThrow(/minLimit/);
    expect(() => new AdmissionController({ minLimit: 4, maxLimit: 3 })).toThrow(/maxLimit/);
    expect(() => new AdmissionController({ initialLimit: 100, maxLimit: 64 })).toThrow(/initialLimit/);
    expect(() => new AdmissionController({ tolerance: 0.5 })).toThrow(/tolerance/);
    expect(() => new AdmissionController({ probeIntervalMs: -1 })).toThrow(/probeIntervalMs/);
    expect(() => new AdmissionController({ queueFactor: -1 })).toThrow(/queueFactor/);
  });
});
