import Redis from 'ioredis';
import { commandTimes, idleCpuRates, serverCpuMicros, spentOn } from './command-time';

// The benches' server-side figures, read from the loopback Redis: command time per
// command name, and the server process's whole CPU.
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `command-time-test:${process.pid}:`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(url);
});
afterAll(async () => {
  await redis.del(`${prefix}k`);
  await redis.quit();
});

describe('Redis server figures', () => {
  it('counts the calls of one command between two readings, and the server CPU they took', async () => {
    const before = await commandTimes(redis);
    const cpuBefore = await serverCpuMicros(redis);
    for (let i = 0; i < 2_000; i++) await redis.set(`${prefix}k`, `v${i}`);
    const cpuAfter = await serverCpuMicros(redis);
    const set = spentOn(before, await commandTimes(redis), ['set']);
    // Other clients of the shared Redis may add calls, never take any away.
    expect(set.calls).toBeGreaterThanOrEqual(2_000);
    expect(set.usec).toBeGreaterThan(0);
    expect(Number.isInteger(cpuBefore)).toBe(true);
    // 2 000 round trips cost the server more CPU than their commands' own time.
    expect(cpuAfter - cpuBefore).toBeGreaterThan(set.usec * 0.5);
  });

  it("measures a server's CPU while nothing calls it, per ms", async () => {
    const [rate] = await idleCpuRates([redis], 200);
    // Its timers run 10 times a second (other suites may use the shared Redis meanwhile, so no upper bound).
    expect(Number.isFinite(rate)).toBe(true);
    expect(rate).toBeGreaterThanOrEqual(0);
  });

  it('gives no figures where the client may not read INFO', async () => {
    const user = `command-time-test-${process.pid}`;
    await redis.acl('SETUSER', user, 'on', '>secret', '~*', '+@all', '-info');
    const limited = new Redis(url, { username: user, password: 'secret', enableReadyCheck: false });
    try {
      expect(await serverCpuMicros(limited)).toBeNaN();
      expect(await idleCpuRates([limited], 10)).toEqual([NaN]);
      expect((await commandTimes(limited)).size).toBe(0);
    } finally {
      await limited.quit();
      await redis.acl('DELUSER', user);
    }
  });
});
