import { Cluster, type Redis } from 'ioredis';
import pino from 'pino';
import { startFeatureServer } from '../app';
import { startCatalogServer } from '../testing/catalog-server';
import { FeatureTestClient } from '../testing/feature-client';
import { startRedisCluster, type RedisCluster } from '@pinrank/redis/testing';
import { type ActionStore } from './action-store';
import { CONTRACT_RETENTION, describeActionStoreContract, rec } from './action-store.contract';
import { RedisActionStore, type RedisLayout } from './redis-action-store';

// The Redis backend on a real three-master Redis Cluster on loopback (redis-server in cluster mode).
let cluster: RedisCluster;
let admin: Cluster;
let n = 0;
const prefixes = new WeakMap<ActionStore, string>();

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  admin = new Cluster(cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })));
}, 60_000);
afterAll(async () => {
  await admin?.quit();
  await cluster?.stop();
});

async function openWith(prefix: string, layout: RedisLayout = 'ids'): Promise<RedisActionStore> {
  const s = await RedisActionStore.open({ url: cluster.url, cluster: true, keyPrefix: prefix, retention: CONTRACT_RETENTION, layout });
  prefixes.set(s, prefix);
  return s;
}

/** Keys matching `pattern` on every master. */
async function keysEverywhere(pattern: string): Promise<string[][]> {
  return Promise.all(admin.nodes('master').map((node: Redis) => node.keys(pattern)));
}

for (const layout of ['ids', 'records'] as const) {
  describeActionStoreContract(
    `RedisActionStore on a Redis Cluster, ${layout} layout`,
    () => openWith(`c${n++}:`, layout),
    async (previous) => {
      const prefix = prefixes.get(previous) as string;
      await previous.close();
      return openWith(prefix, layout);
    },
  );
}

describe('RedisActionStore on a Redis Cluster', () => {
  const ids = (rs: { actionId: string }[]): string[] => rs.map((r) => r.actionId);
  const users = Array.from({ length: 60 }, (_, u) => `user-${u}`);

  it('spreads users over the masters, and reads many users at once across them', async () => {
    const store = await openWith('spread:');
    try {
      expect(await store.append(users.map((u, i) => rec(u, `${u}-a`, 1000 + i)))).toEqual(users.map(() => 'accepted'));
      const perNode = await keysEverywhere('spread:{*}:seq');
      expect(perNode.map((k) => k.length > 0)).toEqual([true, true, true]);
      expect(perNode.flat()).toHaveLength(users.length);
      const read = await store.readSequences(users, { asOfMs: 9000, limit: 5 });
      expect(read.map(ids)).toEqual(users.map((u) => [`${u}-a`]));
    } finally {
      await store.close();
    }
  });

  it('takes over an ids-layout prefix spread over every master and sweeps each of them; an unmarked one is scanned on every master', async () => {
    const old = await openWith('takeover:', 'ids');
    await old.append(users.flatMap((u) => [rec(u, `${u}-a`, 1000), rec(u, `${u}-b`, 2000)]));
    // A connected ids replica keeps the prefix records+ids, whichever master the sweep asks.
    const store = await openWith('takeover:', 'records');
    expect(store.layoutMark).toBe('records+ids');
    const sweep = store.startTakeoverSweep({ pageKeys: 500, keysPerSecond: 1_000_000, retryMs: 30, leaseMs: 5000 });
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect((await keysEverywhere('takeover:{*}:seq')).flat()).toEqual([]);
      expect(await admin.get('takeover:layout')).toBe('records+ids');
      await old.close();
      expect(await sweep.done).toBe('finished');
      expect(await admin.get('takeover:layout')).toBe('records');
      expect((await store.readSequences(users, { asOfMs: 9000, limit: 5 })).map(ids)).toEqual(users.map((u) => [`${u}-b`, `${u}-a`]));
    } finally {
      await sweep.stop();
      await store.close();
    }

    const unmarked = await openWith('unmarked:', 'ids');
    await unmarked.append(users.map((u) => rec(u, `${u}-a`, 1000)));
    await unmarked.close();
    await admin.del('unmarked:layout');
    const claimed = await openWith('unmarked:', 'records');
    try {
      expect(claimed.layoutMark).toBe('records+ids');
      expect(ids(await claimed.readSequence('user-7'))).toEqual(['user-7-a']);
    } finally {
      await claimed.close();
    }
  });

  it('serves IngestActions and GetRealtimeSequence from the cluster (FEATURE_SERVER_REDIS_CLUSTER)', async () => {
    const catalog = await startCatalogServer(10);
    const app = await startFeatureServer({
      server: { address: '127.0.0.1:0', signals: [], logger: pino({ level: 'silent' }) },
      backend: { kind: 'redis', url: cluster.url, cluster: true, keyPrefix: 'app:', layout: 'records' },
      content: { address: catalog.address, deadlineMs: 2000 },
    });
    const client = new FeatureTestClient(`127.0.0.1:${app.port}`);
    try {
      const now = Date.now();
      const act = (u: string, i: number): Record<string, unknown> => ({ actionId: `${u}-${i}`, userId: u, itemId: `item-${i}`, actionType: 3, timestampMs: now - 10_000 + i, surface: 1, durationMs: 100 });
      const res = await client.ingest([users.slice(0, 30).flatMap((u) => [act(u, 1), act(u, 2)])]);
      expect(res.accepted).toBe(60);
      for (const u of ['user-0', 'user-13', 'user-29']) {
        const seq = await client.sequence({ userId: u, maxLen: 5, asOfMs: now, includeRecords: true });
        expect(seq.records.map((r) => r.action?.actionId)).toEqual([`${u}-2`, `${u}-1`]);
      }
    } finally {
      client.close();
      await app.stop();
      await catalog.stop();
    }
  });

  it('refuses a URL list without the cluster option, and seeds it cannot use', async () => {
    const retention = CONTRACT_RETENTION;
    await expect(RedisActionStore.open({ url: cluster.url, retention })).rejects.toThrow(/several URLs .* set the cluster option \(FEATURE_SERVER_REDIS_CLUSTER=true\)/);
    await expect(RedisActionStore.open({ url: 'http://127.0.0.1:7000', cluster: true, retention })).rejects.toThrow(/must start with redis:\/\/ or rediss:\/\//);
    await expect(RedisActionStore.open({ url: `${cluster.url},not a url`, cluster: true, retention })).rejects.toThrow(/"not a url" is not a URL/);
  });
});
