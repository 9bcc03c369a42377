// The throwaway NATS cluster: a stream replicated on all three servers keeps every message, and
// takes new ones, when its leader is killed.
import { type NatsConnection } from 'nats';
import { connectNats } from '../connection';
import { startNatsCluster, type NatsTestCluster } from './nats-cluster';

let cluster: NatsTestCluster;
let nc: NatsConnection;

beforeAll(async () => {
  cluster = await startNatsCluster(3);
  nc = await connectNats({ servers: cluster.urls, name: 'cluster-test' });
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

/** Publishes until JetStream stores it: while a new leader is elected, a publish may time out or find no responders. */
async function publishStored(subject: string, data: string): Promise<void> {
  const js = nc.jetstream();
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await js.publish(subject, new TextEncoder().encode(data), { msgID: data, timeout: 2000 });
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

it('keeps an R3 stream, and its messages, through the loss of its leader', async () => {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'R3_TEST', subjects: ['r3.test'], num_replicas: 3 });
  for (let i = 0; i < 20; i++) await publishStored('r3.test', `before-${i}`);
  const info = await jsm.streams.info('R3_TEST');
  expect(info.config.num_replicas).toBe(3);
  const leader = info.cluster?.leader;
  expect(leader).toMatch(/^n[123]$/);
  expect(info.cluster?.replicas?.map((r) => r.name).sort()).toEqual(['n1', 'n2', 'n3'].filter((n) => n !== leader));

  const killed = cluster.servers[Number(leader?.slice(1)) - 1];
  await killed?.kill();
  expect(killed?.pid).toBeUndefined();
  for (let i = 0; i < 20; i++) await publishStored('r3.test', `after-${i}`);
  const after = await jsm.streams.info('R3_TEST');
  expect(after.state.messages).toBe(40);
  expect(after.cluster?.leader).not.toBe(leader);
  await killed?.start();
}, 90_000);

describe('with a round trip between the servers (rttMs)', () => {
  const RTT = 40;
  let slow: NatsTestCluster;
  beforeAll(async () => {
    slow = await startNatsCluster(3, { rttMs: RTT });
  }, 90_000);
  afterAll(async () => {
    await slow?.stop();
  });

  it('routes every client and route connection through the delay', async () => {
    const [first] = slow.urls.split(',');
    const c = await connectNats({ servers: first as string, name: 'cluster-rtt-test' });
    try {
      // Clients hear of no member's own address, only of the URLs they were given.
      expect(slow.servers.map((s) => s.url)).not.toContain(first);
      expect(c.info?.connect_urls ?? []).toEqual([]);
      const jsm = await c.jetstreamManager();
      await jsm.streams.add({ name: 'RTT_TEST', subjects: ['rtt.test'], num_replicas: 3 });
      const info = await jsm.streams.info('RTT_TEST');
      expect(info.cluster?.replicas).toHaveLength(2);
      const t0 = performance.now();
      await c.flush();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(RTT - 2);
      // A stored R3 message has crossed the client's link and a route to a follower and back.
      const js = c.jetstream();
      const t1 = performance.now();
      await js.publish('rtt.test', new TextEncoder().encode('one'), { timeout: 5000 });
      expect(performance.now() - t1).toBeGreaterThanOrEqual(2 * RTT - 4);
    } finally {
      await c.close();
    }
  }, 60_000);
});
