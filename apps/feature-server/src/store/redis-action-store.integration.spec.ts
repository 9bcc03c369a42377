import Redis from 'ioredis';
import { type ActionStore } from './action-store';
import { CONTRACT_RETENTION, describeActionStoreContract, rec } from './action-store.contract';
import { RedisActionStore, type RedisLayout } from './redis-action-store';

const REDIS_URL = 'redis://127.0.0.1:6379';
const runPrefix = `fs-test:${process.pid}:${Date.now()}:`;
let n = 0;
const prefixes = new WeakMap<ActionStore, string>();

async function openWith(prefix: string, layout: RedisLayout = 'ids'): Promise<ActionStore> {
  const s = await RedisActionStore.open({ url: REDIS_URL, keyPrefix: prefix, retention: CONTRACT_RETENTION, layout });
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

describeActionStoreContract(
  'RedisActionStore, records layout',
  () => openWith(`${runPrefix}${n++}:`, 'records'),
  async (previous) => {
    const prefix = prefixes.get(previous) as string;
    await previous.close();
    return openWith(prefix, 'records');
  },
);

describe('RedisActionStore layouts', () => {
  it('keeps a prefix in the layout it was first written in, and refuses to open it in the other', async () => {
    const prefix = `${runPrefix}layout:`;
    const first = await openWith(prefix, 'ids');
    await first.append([rec('u1', 'a1', 1000)]);
    await first.close();
    await expect(openWith(prefix, 'records')).rejects.toThrow(/use the "ids" layout, not "records".*use another prefix/);
    const again = await openWith(prefix, 'ids');
    try {
      expect((await again.readSequence('u1')).map((r) => r.actionId)).toEqual(['a1']);
    } finally {
      await again.close();
    }
  });

  it('refuses the records layout on an unmarked prefix that holds sequences of the ids layout (written before layouts were marked)', async () => {
    const prefix = `${runPrefix}unmarked:`;
    const first = await openWith(prefix, 'ids');
    await first.append([rec('u1', 'a1', 1000)]);
    await first.close();
    const redis = new Redis(REDIS_URL);
    try {
      await redis.del(`${prefix}layout`);
      await expect(openWith(prefix, 'records')).rejects.toThrow(/hold sequences of the "ids" layout .*carry no layout mark/);
      // An unmarked prefix with no sequences opens in either layout.
      await expect(openWith(`${runPrefix}fresh:`, 'records').then((s) => s.close())).resolves.toBeUndefined();
    } finally {
      await redis.quit();
    }
  });

  it('records layout: a sequence read is one ZREVRANGEBYSCORE of the stored rows, no script', async () => {
    const prefix = `${runPrefix}rows:`;
    const store = await openWith(prefix, 'records');
    const redis = new Redis(REDIS_URL);
    try {
      // An id with a NUL byte and one that is a prefix of another: members carry the id's length, not a separator.
      await store.append([rec('u1', 'a\u0000b', 1000), rec('u1', 'a', 2000), rec('u1', 'ab', 2000), rec('u1', 'imp', 1500, 1)]);
      const members = await redis.zrangeBuffer(`${prefix}{u1}:rows`, 0, -1);
      expect(members).toHaveLength(3);
      expect(members[0]?.subarray(0, 3).toString()).toBe('a\u0000b');
      expect(members[0]?.readUInt16LE((members[0]?.length ?? 0) - 2)).toBe(3);
      const before = Number(/calls=(\d+)/.exec((await redis.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha')) ?? '')?.[1] ?? 0);
      const window = await store.readSequence('u1', { asOfMs: 2000, limit: 2 });
      const after = Number(/calls=(\d+)/.exec((await redis.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha')) ?? '')?.[1] ?? 0);
      // Newest first, equal timestamps by id bytes descending (as LMDB and the ids layout order them).
      expect(window.map((r) => r.actionId)).toEqual(['ab', 'a']);
      expect(after - before).toBe(0);
      expect((await store.readSequence('u1')).map((r) => r.actionId)).toEqual(['a\u0000b', 'a', 'ab']);
      expect(await store.deleteUser('u1')).toBe(4);
      expect(await redis.exists(`${prefix}{u1}:rows`, `${prefix}{u1}:other`, `${prefix}{u1}:rec`)).toBe(0);
    } finally {
      await store.close();
      await redis.quit();
    }
  });
});

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
