// A worker whose host goes silent without closing its connections (a network partition, a
// host that vanished), played by a delay proxy in front of a fake worker whose link is cut.
import { startDelayProxy } from '@pinrank/service-kit';
import { startFakeWorker } from './testing/fake-worker';
import { eventually, startHarness, type Harness } from './testing/router-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const candidates = ['i4', 'i7', 'i12', 'i19', 'i25'];

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
    process.stderr.write(`silent worker: not serving ${Date.now() - cutAt} ms after the cut\n`);
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
