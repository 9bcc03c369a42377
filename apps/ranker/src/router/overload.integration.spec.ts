import { PinrankError } from '@pinrank/service-kit';
import { type RankResponse } from '@pinrank/proto';
import { startFakeWorker } from './testing/fake-worker';
import { startHarness, type Harness } from './testing/router-harness';

// The router under more load than its workers can take, on loopback: a GPU
// worker with a fixed capacity (one encoder call at a time, SERVICE_MS each,
// costing no CPU, so the figures hold on a loaded machine) and the router's
// admission control in front of it. Offered twice the measured capacity, the
// router keeps its goodput and refuses the excess with RESOURCE_EXHAUSTED at
// once; after the burst, answers are at once undegraded.

// The goodput check compares two phases a few seconds apart. On a CI host that runs
// other suites and benchmarks beside this one, a burst of their start-up work during
// the open loop alone can slow the router enough that admission control sheds more
// than it should; one retry, with the failure logged, tells that from a regression,
// which fails both tries.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

const SERVICE_MS = 80;
/** The callers' deadline: several times the latency at the limit, so a loaded machine's pauses do not count as failures. */
const DEADLINE_MS = 2000;
const candidates = ['i4', 'i7', 'i12', 'i19', 'i25'];

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

type Api = Awaited<ReturnType<Harness['router']>>;
interface Outcome {
  code: string;
  ms: number;
  degraded: boolean;
  message?: string;
}

async function rankOnce(api: Api, deadlineMs: number): Promise<Outcome> {
  const t = performance.now();
  try {
    const res: RankResponse = await api.rank({ userId: 'u1', candidateItemIds: candidates }, deadlineMs);
    return { code: 'OK', ms: performance.now() - t, degraded: res.degraded.length > 0 };
  } catch (err) {
    const e = PinrankError.from(err);
    return { code: e.code, ms: performance.now() - t, degraded: false, message: e.message };
  }
}

/** Closed loop: `concurrency` callers for `ms`; answers per second. */
async function closedLoop(api: Api, concurrency: number, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let ok = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) if ((await rankOnce(api, 10_000)).code === 'OK') ok++;
    }),
  );
  return ok / (ms / 1000);
}

/** Open loop: `rate` requests per second, evenly spaced, for `ms`, each with a `deadlineMs` deadline. */
async function openLoop(api: Api, rate: number, ms: number, deadlineMs: number): Promise<Outcome[]> {
  const sent: Array<Promise<Outcome>> = [];
  const start = performance.now();
  const total = Math.round((rate * ms) / 1000);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sent.push(rankOnce(api, deadlineMs));
  }
  return Promise.all(sent);
}

describe('overload', () => {
  it('keeps goodput at twice the capacity, refuses the excess with RESOURCE_EXHAUSTED fast, and answers undegraded right after', async () => {
    const gpu = await startFakeWorker('fixed-capacity-gpu', { serviceMs: SERVICE_MS });
    try {
      const api = await h.router({ gpuWorkers: [gpu.address] });
      await closedLoop(api, 4, 1000); // warm-up: connections, code paths, the limit's first estimate
      const capacity = await closedLoop(api, 4, 2000);
      // One encoder call at a time: the capacity is about the worker's (calls in flight when the window opens count too).
      expect(capacity).toBeGreaterThan(0.5 * (1000 / SERVICE_MS));
      expect(capacity).toBeLessThan(1.5 * (1000 / SERVICE_MS));

      const cpuEncoderBefore = h.cpu.calls.filter((c) => c.model === 'transact_encoder').length;
      const seconds = 4;
      const outcomes = await openLoop(api, 2 * capacity, seconds * 1000, DEADLINE_MS);
      const ok = outcomes.filter((o) => o.code === 'OK' && !o.degraded);
      const refused = outcomes.filter((o) => o.code === 'RESOURCE_EXHAUSTED');
      const goodput = ok.length / seconds;
      const other = outcomes.filter((o) => o.code !== 'OK' && o.code !== 'RESOURCE_EXHAUSTED').map((o) => `${o.code}: ${o.message ?? ''}`);
      const summary = { capacity, goodput, ok: ok.length, refused: refused.length, other };
      process.stdout.write(`overload: ${JSON.stringify(summary)}\n`);
      expect(summary).toMatchObject({ other: [] });
      expect(goodput).toBeGreaterThanOrEqual(0.8 * capacity);
      expect(refused.length).toBeGreaterThan(0.2 * outcomes.length);
      // Refusals come at once (most without any wait), not at the deadline.
      const refusalMs = refused.map((o) => o.ms).sort((a, b) => a - b);
      expect(refusalMs[Math.floor(refusalMs.length / 2)]).toBeLessThan(100);
      // The busy GPU pool kept its worker and did not push its work onto the CPU pool (a call that looked hung on a
      // loaded machine may fall back, flagged, within the fallback's cap).
      expect(api.router.pools.gpu.healthyCount()).toBe(1);
      expect(h.cpu.calls.filter((c) => c.model === 'transact_encoder').length - cpuEncoderBefore).toBeLessThanOrEqual(0.1 * outcomes.length);
      const metrics = await api.router.server.metrics.registry.metrics();
      expect(metrics).toMatch(/pinrank_router_refused_total\{method="Rank",reason="(limit|deadline)"\} [1-9]/);
      expect(metrics).toMatch(/pinrank_router_admission_limit [2-9]/);

      // Right after the burst: an undegraded answer within 2 s.
      const after = performance.now();
      let first: Outcome | undefined;
      while (performance.now() - after < 2000) {
        const o = await rankOnce(api, DEADLINE_MS);
        if (o.code === 'OK' && !o.degraded) {
          first = o;
          break;
        }
      }
      expect(first).toBeDefined();
      expect(performance.now() - after).toBeLessThan(2000);
    } finally {
      await gpu.server.shutdown();
    }
  }, 30_000);
});
