import Redis from 'ioredis';
import { type ActionStore } from './action-store';
import { CONTRACT_RETENTION, describeActionStoreContract, rec } from './action-store.contract';
import { RedisActionStore, type RedisLayoutChoice } from './redis-action-store';
import { layoutClientName } from './redis-layout-mark';

const REDIS_URL = 'redis://127.0.0.1:6379';
const runPrefix = `fs-test:${process.pid}:${Date.now()}:`;
let n = 0;
const prefixes = new WeakMap<ActionStore, string>();

async function openWith(prefix: string, layout: RedisLayoutChoice = 'ids'): Promise<ActionStore> {
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
  const seqIds = (rs: { actionId: string }[]): string[] => rs.map((r) => r.actionId);

  it('keeps a prefix in the ids layout until the records layout takes it over; the ids layout then refuses it', async () => {
    const prefix = `${runPrefix}layout:`;
    const first = await openWith(prefix, 'ids');
    await first.append([rec('u1', 'a1', 1000)]);
    await first.close();
    const again = await openWith(prefix, 'ids');
    await again.close();
    const taken = await openWith(prefix, 'records');
    try {
      expect(seqIds(await taken.readSequence('u1'))).toEqual(['a1']);
      await expect(openWith(prefix, 'ids')).rejects.toThrow(/have moved to the records layout \("records\+ids"\), which the "ids" layout cannot read/);
      const redis = new Redis(REDIS_URL);
      expect(await redis.get(`${prefix}layout`)).toBe('records+ids');
      await redis.quit();
    } finally {
      await taken.close();
    }
  });

  it("auto (the default): a new prefix gets the records layout; a prefix keeps its own, and its connection is named for it", async () => {
    const redis = new Redis(REDIS_URL);
    const connections = async (name: string): Promise<number> => String(await redis.call('CLIENT', 'LIST')).split('\n').filter((l) => l.includes(` name=${name} `)).length;
    const fresh = await RedisActionStore.open({ url: REDIS_URL, keyPrefix: `${runPrefix}auto-new:`, retention: CONTRACT_RETENTION });
    const idsPrefix = `${runPrefix}auto-ids:`;
    const old = await openWith(idsPrefix, 'ids');
    await old.append([rec('u1', 'a1', 1000)]);
    await old.close();
    // Unmarked with ids-layout data (a prefix from before marks): auto keeps the ids layout, and marks it.
    await redis.del(`${idsPrefix}layout`);
    const kept = (await openWith(idsPrefix, 'auto')) as RedisActionStore;
    try {
      expect(fresh.layoutMark).toBe('records');
      expect(await redis.get(`${runPrefix}auto-new:layout`)).toBe('records');
      expect(kept.layoutMark).toBe('ids');
      expect(await redis.get(`${idsPrefix}layout`)).toBe('ids');
      expect(seqIds(await kept.readSequence('u1'))).toEqual(['a1']);
      // The store's own connection carries its layout; the one that settled it is gone.
      expect(await connections(layoutClientName('ids', idsPrefix))).toBe(1);
      expect(await connections(layoutClientName('records', idsPrefix))).toBe(0);
      expect(await connections(layoutClientName('claim', idsPrefix))).toBe(0);
      await kept.close();
      const taken = (await openWith(idsPrefix, 'records')) as RedisActionStore;
      await taken.close();
      const again = (await openWith(idsPrefix, 'auto')) as RedisActionStore;
      expect(again.layoutMark).toBe('records+ids');
      expect(seqIds(await again.readSequence('u1'))).toEqual(['a1']);
      await again.close();
      await redis.set(`${idsPrefix}layout`, 'rows');
      await expect(openWith(idsPrefix, 'auto')).rejects.toThrow(/layout holds "rows", not a layout mark \(ids, records, records\+ids\)/);
    } finally {
      await fresh.close();
      await redis.quit();
    }
  });

  it('records layout over ids-layout data: reads it as it is, moves a user into the rows at their next append, keeps the caps', async () => {
    const prefix = `${runPrefix}migrate:`;
    const redis = new Redis(REDIS_URL);
    const old = await openWith(prefix, 'ids');
    // Written before layouts were marked: the mark is gone, as it would be on a prefix from an older version.
    await old.append([rec('u1', 'a1', 1000), rec('u1', 'a2', 2000), rec('u1', 'a3', 3000), rec('u1', 'imp', 1500, 1), rec('u2', 'b1', 1000)]);
    await old.close();
    await redis.del(`${prefix}layout`);
    const store = await openWith(prefix, 'records');
    try {
      expect(seqIds(await store.readSequence('u1', { asOfMs: 2500, limit: 5 }))).toEqual(['a2', 'a1']);
      expect(seqIds(await store.readSequence('u1'))).toEqual(['a1', 'a2', 'a3']);
      expect(await redis.exists(`${prefix}{u1}:seq`)).toBe(1);
      // A redelivered old action is still a duplicate; a new one moves the user into the rows (cap 5: a1 goes).
      expect(await store.append([rec('u1', 'a2', 2000), rec('u1', 'n1', 4000), rec('u1', 'n2', 5000), rec('u1', 'n3', 6000)])).toEqual([
        'duplicate',
        'accepted',
        'accepted',
        'accepted',
      ]);
      expect(await redis.exists(`${prefix}{u1}:seq`)).toBe(0);
      expect(await redis.zcard(`${prefix}{u1}:rows`)).toBe(5);
      expect(seqIds(await store.readSequence('u1'))).toEqual(['a2', 'a3', 'n1', 'n2', 'n3']);
      expect(await store.append([rec('u1', 'a1', 1000)])).toEqual(['expired']);
      // u2 was never appended to since: still read from the ids layout, and deleted from both.
      expect(seqIds((await store.readSequences(['u2', 'u1'], { asOfMs: 9000, limit: 2 }))[0] ?? [])).toEqual(['b1']);
      expect(await store.deleteUser('u2')).toBe(1);
      expect(await redis.exists(`${prefix}{u2}:seq`, `${prefix}{u2}:rec`)).toBe(0);
      expect(await store.deleteUser('u1')).toBe(6);
    } finally {
      await store.close();
      await redis.quit();
    }
  });

  it('records layout beside a replica still on the ids layout: merges what that replica writes, newest first, and moves it at the next append', async () => {
    const prefix = `${runPrefix}mixed:`;
    const stale = await openWith(prefix, 'ids');
    const store = await openWith(prefix, 'records');
    try {
      await store.append([rec('u1', 'r1', 1000), rec('u1', 'r3', 3000)]);
      await stale.append([rec('u1', 's2', 2000), rec('u1', 's4', 4000), rec('u1', 'r1', 1000)]);
      // The merged read runs the ids layout's script inside a transaction: it must also work when Redis has no script cached.
      const redis = new Redis(REDIS_URL);
      await redis.script('FLUSH');
      await redis.quit();
      expect(seqIds(await store.readSequence('u1', { asOfMs: 9000, limit: 3 }))).toEqual(['s4', 'r3', 's2']);
      expect(seqIds(await store.readSequence('u1'))).toEqual(['r1', 's2', 'r3', 's4']);
      await store.append([rec('u1', 'r5', 5000)]);
      expect(seqIds(await store.readSequence('u1', { asOfMs: 9000, limit: 5 }))).toEqual(['r5', 's4', 'r3', 's2', 'r1']);
    } finally {
      await Promise.all([stale.close(), store.close()]);
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
      const calls = async (command: string): Promise<number> =>
        Number(/calls=(\d+)/.exec((await redis.info('commandstats')).split('\n').find((l) => l.startsWith(`cmdstat_${command}:`)) ?? '')?.[1] ?? 0);
      const before = { scripts: await calls('evalsha'), exists: await calls('exists') };
      const window = await store.readSequence('u1', { asOfMs: 2000, limit: 2 });
      // Newest first, equal timestamps by id bytes descending (as LMDB and the ids layout order them).
      expect(window.map((r) => r.actionId)).toEqual(['ab', 'a']);
      // A new prefix (marked "records": it never held the ids layout) does not look for ids-layout actions.
      expect(await redis.get(`${prefix}layout`)).toBe('records');
      expect({ scripts: await calls('evalsha'), exists: await calls('exists') }).toEqual(before);
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
