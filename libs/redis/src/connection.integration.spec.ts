import type { Cluster } from 'ioredis';
import { startRedisCluster, type RedisCluster } from './testing/redis-cluster';
import { connectRedis, inBatch } from './connection';

// inBatch on a real three-master Redis Cluster: one pipeline per node, replies in order,
// and commands a node redirects (a stale slot map) sent again through the cluster client.
let cluster: RedisCluster;
let client: Cluster;
const keys = Array.from({ length: 200 }, (_, i) => `batch:{user-${i}}:k`);

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  client = connectRedis({ url: cluster.url, cluster: true, connectionName: 'batch-test' }) as Cluster;
  await client.connect();
}, 60_000);
afterAll(async () => {
  await client?.quit();
  await cluster?.stop();
});

describe('inBatch on a Redis Cluster', () => {
  it('runs a batch spread over every master as one pipeline per node, replies in order', async () => {
    await inBatch(client, keys.length, (i) => keys[i] as string, (on, i) => on.set(keys[i] as string, `v${i}`));
    expect(await inBatch<Cluster, string>(client, keys.length, (i) => keys[i] as string, (on, i) => on.get(keys[i] as string))).toEqual(keys.map((_, i) => `v${i}`));
    const perMaster = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
    expect(perMaster.every((n) => n > 0)).toBe(true);
  });

  it.each([
    // The nodes answer MOVED for two thirds of the batch.
    ['the slot map is stale', true],
    // ioredis refuses the pipeline itself: its own grouping disagrees with the slot map.
    ['the slot map changed under a batch', false],
  ])('sends again, through the cluster client, what a node redirects because %s', async (_case, groupsToo) => {
    const internals = client as unknown as { _groupsBySlot: number[] };
    const savedSlots = client.slots.map((owners) => [...owners]);
    const savedGroups = [...internals._groupsBySlot];
    const first = client.slots[0]?.[0] as string;
    try {
      // Every slot now seems to live on the first master.
      for (let s = 0; s < client.slots.length; s++) {
        client.slots[s] = [first];
        if (groupsToo) internals._groupsBySlot[s] = savedGroups[0] as number;
      }
      const replies = await inBatch<Cluster, string>(client, keys.length, (i) => keys[i] as string, (on, i) => on.eval("return redis.call('GET', KEYS[1])", 1, keys[i] as string));
      expect(replies).toEqual(keys.map((_, i) => `v${i}`));
    } finally {
      savedSlots.forEach((owners, s) => (client.slots[s] = owners));
      savedGroups.forEach((g, s) => (internals._groupsBySlot[s] = g));
    }
  });

  it('throws an error reply that is not a redirect', async () => {
    await client.lpush('batch:{list}:k', 'x');
    await expect(inBatch(client, 1, () => 'batch:{list}:k', (on) => on.get('batch:{list}:k'))).rejects.toThrow(/WRONGTYPE/);
  });
});

describe('connectRedis on one Redis', () => {
  it('refuses a URL that is not redis:// or rediss://, before connecting', () => {
    expect(() => connectRedis({ url: 'http://127.0.0.1:6379', connectionName: 'url-test' })).toThrow(/"http:\/\/127.0.0.1:6379" must start with redis:\/\/ or rediss:\/\//);
    expect(() => connectRedis({ url: 'not a url', connectionName: 'url-test' })).toThrow(/is not a URL/);
  });
});
