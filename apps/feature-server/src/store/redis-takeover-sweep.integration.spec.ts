import Redis from 'ioredis';
import pino from 'pino';
import { startFeatureServer } from '../app';
import { CONTRACT_RETENTION, rec } from './action-store.contract';
import { RedisActionStore, type RedisLayout } from './redis-action-store';
import { type SweepLogger, type TakeoverSweepOptions } from './redis-takeover-sweep';

const REDIS_URL = 'redis://127.0.0.1:6379';
const runPrefix = `fs-sweep-test:${process.pid}:${Date.now()}:`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  const keys = await redis.keys(`${runPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const open = (prefix: string, layout: RedisLayout): Promise<RedisActionStore> => RedisActionStore.open({ url: REDIS_URL, keyPrefix: prefix, retention: CONTRACT_RETENTION, layout });
/** Fast enough for a test: small pages, short waits. */
const FAST: TakeoverSweepOptions = { pageKeys: 200, keysPerSecond: 1_000_000, retryMs: 30, leaseMs: 10_000 };
const seqKeys = (prefix: string): Promise<string[]> => redis.keys(`${prefix}{*}:seq`);
const ids = (rs: { actionId: string }[]): string[] => rs.map((r) => r.actionId);

function captureLog(): { logger: SweepLogger; messages: string[] } {
  const messages: string[] = [];
  const line = (_fields: object, message: string): void => void messages.push(message);
  return { logger: { info: line, warn: line }, messages };
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An ids-layout prefix with `users` users (3 sequence actions and one impression each), closed again. */
async function idsPrefix(name: string, users: number): Promise<string> {
  const prefix = `${runPrefix}${name}:`;
  const old = await open(prefix, 'ids');
  await old.append(Array.from({ length: users }, (_, u) => [rec(`u${u}`, `u${u}-a`, 1000), rec(`u${u}`, `u${u}-b`, 2000), rec(`u${u}`, `u${u}-c`, 3000), rec(`u${u}`, `u${u}-i`, 1500, 1)]).flat());
  await old.close();
  return prefix;
}

describe('Redis takeover sweep', () => {
  it('moves every user still in the ids layout, then marks the prefix records: reads unchanged, no EXISTS per read, ids replicas refused', async () => {
    const prefix = await idsPrefix('finish', 40);
    const store = await open(prefix, 'records');
    try {
      expect(store.layoutMark).toBe('records+ids');
      const before = await store.readSequences(['u0', 'u17', 'u39'], { asOfMs: 9000, limit: 5 });
      let moved = 0;
      const { logger, messages } = captureLog();
      const sweep = store.startTakeoverSweep({ ...FAST, logger, onMoved: (n) => (moved += n) });
      expect(await sweep.done).toBe('finished');
      expect(moved).toBe(40);
      expect(await seqKeys(prefix)).toEqual([]);
      expect(await redis.get(`${prefix}layout`)).toBe('records');
      expect(await redis.exists(`${prefix}layout:sweep`)).toBe(0);
      expect(store.layoutMark).toBe('records');
      expect(messages).toContain('redis takeover finished: the prefix is in the records layout');
      const existsCalls = async (): Promise<number> => Number(/calls=(\d+)/.exec((await redis.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_exists:')) ?? '')?.[1] ?? 0);
      const exists = await existsCalls();
      expect(await store.readSequences(['u0', 'u17', 'u39'], { asOfMs: 9000, limit: 5 })).toEqual(before);
      expect(await existsCalls()).toBe(exists);
      expect(ids(await store.readSequence('u17'))).toEqual(['u17-a', 'u17-b', 'u17-c']);
      // The impression stayed where it was, and still counts as a duplicate.
      expect(await store.append([rec('u17', 'u17-i', 1500, 1)])).toEqual(['duplicate']);
      await expect(open(prefix, 'ids')).rejects.toThrow(/\("records"\), which the "ids" layout cannot read/);
    } finally {
      await store.close();
    }
  });

  it('keeps the prefix records+ids while an ids-layout replica is connected, moving what it writes; finishes once it is gone', async () => {
    const prefix = await idsPrefix('waits', 5);
    const stale = await open(prefix, 'ids');
    const store = await open(prefix, 'records');
    const sweep = store.startTakeoverSweep(FAST);
    try {
      await until('the first users moved', async () => (await seqKeys(prefix)).length === 0);
      await stale.append([rec('late', 'late-a', 4000)]);
      await until('the late user moved', async () => (await seqKeys(prefix)).length === 0);
      // Passes keep coming back clean, but the ids replica is still connected.
      await new Promise((r) => setTimeout(r, 200));
      expect(await redis.get(`${prefix}layout`)).toBe('records+ids');
      expect(store.layoutMark).toBe('records+ids');
      expect(ids(await store.readSequence('late'))).toEqual(['late-a']);
      await stale.close();
      expect(await sweep.done).toBe('finished');
      expect(await redis.get(`${prefix}layout`)).toBe('records');
    } finally {
      await sweep.stop();
      await store.close();
    }
  });

  it('sweeps from one replica at a time; the others notice the finished mark; a stopped sweep leaves the mark', async () => {
    const prefix = await idsPrefix('replicas', 30);
    const [a, b] = await Promise.all([open(prefix, 'records'), open(prefix, 'records')]);
    try {
      const stopped = a.startTakeoverSweep({ ...FAST, pageKeys: 1, keysPerSecond: 100 });
      await until('the lease taken', async () => (await redis.exists(`${prefix}layout:sweep`)) === 1);
      let movedByB = 0;
      const waiting = b.startTakeoverSweep({ ...FAST, onMoved: (n) => (movedByB += n) });
      await new Promise((r) => setTimeout(r, 100));
      expect(movedByB).toBe(0);
      expect(await stopped.stop()).toBe('stopped');
      expect(await redis.get(`${prefix}layout`)).toBe('records+ids');
      expect((await seqKeys(prefix)).length).toBeGreaterThan(0);
      // Once the lease is free, the other replica sweeps the rest.
      expect(await waiting.done).toBe('finished');
      expect(movedByB).toBeGreaterThan(0);
      expect(await seqKeys(prefix)).toEqual([]);
      const watcher = a.startTakeoverSweep({ keysPerSecond: 0, retryMs: 20 });
      expect(await watcher.done).toBe('finished');
      expect([a.layoutMark, b.layoutMark]).toEqual(['records', 'records']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('where Redis refuses CLIENT commands: stores still work, users still move, and the prefix stays records+ids (the sweep says why, once)', async () => {
    const prefix = await idsPrefix('acl', 4);
    const user = `fs-sweep-test-${process.pid}`;
    await redis.acl('SETUSER', user, 'on', '>secret', '~*', '&*', '+@all', '-client');
    const store = await RedisActionStore.open({ url: `redis://${user}:secret@127.0.0.1:6379`, keyPrefix: prefix, retention: CONTRACT_RETENTION, layout: 'records' });
    const { logger, messages } = captureLog();
    const sweep = store.startTakeoverSweep({ ...FAST, logger });
    try {
      await until('the users moved', async () => (await seqKeys(prefix)).length === 0);
      await new Promise((r) => setTimeout(r, 150));
      expect(await redis.get(`${prefix}layout`)).toBe('records+ids');
      expect(messages.filter((m) => m.includes('cannot list Redis clients'))).toHaveLength(1);
      expect(messages.find((m) => m.includes('cannot list'))).toContain(`SET ${prefix}layout records`);
      expect(ids(await store.readSequence('u3'))).toEqual(['u3-a', 'u3-b', 'u3-c']);
    } finally {
      expect(await sweep.stop()).toBe('stopped');
      await store.close();
      await redis.acl('DELUSER', user);
    }
  });

  it('refuses bad pacing, and a sweep on the ids layout', async () => {
    const prefix = `${runPrefix}options:`;
    const store = await open(prefix, 'records');
    const old = await open(`${runPrefix}options-ids:`, 'ids');
    try {
      expect(() => store.startTakeoverSweep({ pageKeys: 0 })).toThrow(/pageKeys must be > 0, got 0/);
      expect(() => store.startTakeoverSweep({ keysPerSecond: -1 })).toThrow(/keysPerSecond must be >= 0, got -1/);
      expect(() => old.startTakeoverSweep({})).toThrow(/needs the records layout/);
      await expect(old.moveToRows(['u1'])).rejects.toThrow(/needs the records layout/);
    } finally {
      await Promise.all([store.close(), old.close()]);
    }
  });

  it('runs in the feature-server on a taken-over prefix and shows the mark in its metrics', async () => {
    const prefix = await idsPrefix('app', 3);
    const app = await startFeatureServer({
      server: { address: '127.0.0.1:0', signals: [], logger: pino({ level: 'silent' }) },
      backend: { kind: 'redis', url: REDIS_URL, keyPrefix: prefix, layout: 'records', takeoverSweep: FAST },
      content: { source: { get: async () => new Map() } },
      retention: CONTRACT_RETENTION,
    });
    try {
      await until('the takeover finished', async () => (await redis.get(`${prefix}layout`)) === 'records');
      await until('the replica read the mark', () => (app.store as RedisActionStore).layoutMark === 'records');
      const text = await app.metrics.registry.metrics();
      expect(text).toContain('feature_server_redis_layout{mark="records"} 1');
      expect(text).not.toContain('mark="records+ids"');
      expect(text).toContain('feature_server_redis_takeover_moved_users_total 3');
    } finally {
      await app.stop();
    }
  });
});
