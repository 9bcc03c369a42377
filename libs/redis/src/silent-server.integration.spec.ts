import type Redis from 'ioredis';
import { startDelayProxy, type DelayProxy } from '@pinrank/service-kit';
import { connectRedis } from './connection';

// A Redis that goes silent without closing its connections (a network partition, a host that
// vanished): the loopback Redis behind a delay proxy whose link is cut.
let proxy: DelayProxy;
let client: Redis;
const warnings: string[] = [];
const key = `pinrank:silent-test:${process.pid}`;

beforeAll(async () => {
  proxy = await startDelayProxy({ targetPort: 6379, oneWayMs: 1 });
  client = connectRedis({
    url: `redis://127.0.0.1:${proxy.port}`,
    connectionName: 'silent-test',
    logger: { warn: (_fields, message) => void warnings.push(message), info: () => undefined },
  }) as Redis;
  await client.connect();
});
afterAll(async () => {
  proxy.heal();
  await client.del(key).catch(() => 0);
  client.disconnect();
  await proxy.close();
});

it('fails new commands within seconds, says the connection is lost, and answers what was in flight once the link is back', async () => {
  await client.set(key, 'v');
  proxy.partition();
  const inFlight = client.get(key);
  // No reply within SILENT_SERVER_MS (5 s): the connection counts as lost and is opened again.
  await new Promise((r) => setTimeout(r, 6000));
  expect(warnings).toContain('redis: connection lost; reconnecting');
  // A command sent meanwhile fails after ioredis's tries to reconnect (maxRetriesPerRequest 2),
  // instead of waiting, with every later one, until TCP gives up many minutes later.
  const t0 = performance.now();
  const failed = await client.get(key).then(
    () => undefined,
    (err: Error) => err,
  );
  expect(failed?.message).toMatch(/max retries per request/);
  expect(performance.now() - t0).toBeLessThan(20_000);

  proxy.heal();
  // What was in flight when the link went silent is sent again once a connection is ready.
  await expect(inFlight).resolves.toBe('v');
  await expect(client.get(key)).resolves.toBe('v');
}, 60_000);
