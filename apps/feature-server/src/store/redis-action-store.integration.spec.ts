import Redis from 'ioredis';
import { type ActionStore } from './action-store';
import { CONTRACT_RETENTION, describeActionStoreContract, rec } from './action-store.contract';
import { RedisActionStore } from './redis-action-store';

const REDIS_URL = 'redis://127.0.0.1:6379';
const runPrefix = `fs-test:${process.pid}:${Date.now()}:`;
let n = 0;
const prefixes = new WeakMap<ActionStore, string>();

async function openWith(prefix: string): Promise<ActionStore> {
  const s = await RedisActionStore.open({ url: REDIS_URL, keyPrefix: prefix, retention: CONTRACT_RETENTION });
  prefixes.set(s, prefix);
  return s;
}

afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${runPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describeActionStoreContract(
  'RedisActionStore',
  () => openWith(`${runPrefix}${n++}:`),
  async (previous) => {
    const prefix = prefixes.get(previous) as string;
    await previous.close();
    return openWith(prefix);
  },
);

describe('RedisActionStore shared by replicas', () => {
  it('two stores on the same prefix see each other and never store an action twice', async () => {
    const prefix = `${runPrefix}shared:`;
    const [a, b] = await Promise.all([openWith(prefix), openWith(prefix)]);
    try {
      const count = (os: string[], k: string): number => os.filter((o) => o === k).length;
      const small = Array.from({ length: 4 }, (_, i) => rec('u1', `s${i}`, 1000 + i));
      const [sa, sb] = await Promise.all([a.append(small), b.append(small)]);
      expect([count([...sa, ...sb], 'accepted'), count([...sa, ...sb], 'duplicate')]).toEqual([4, 4]);
      expect((await a.readSequence('u1')).length).toBe(4);
      // 50 newer actions from both replicas at once: only the newest window (5) is stored, once.
      const batch = Array.from({ length: 50 }, (_, i) => rec('u1', `r${i}`, 2000 + i));
      const [ra, rb] = await Promise.all([a.append(batch), b.append(batch)]);
      expect(count([...ra, ...rb], 'accepted')).toBe(CONTRACT_RETENTION.maxSequenceActions);
      const kept = (await b.readSequence('u1')).map((r) => r.actionId).sort();
      expect(kept).toEqual(['r45', 'r46', 'r47', 'r48', 'r49']);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
