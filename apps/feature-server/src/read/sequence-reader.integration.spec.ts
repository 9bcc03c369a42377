import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SEQUENCE_TYPES } from '@pinrank/features';
import { RealtimeSequence } from '@pinrank/proto';
import Redis from 'ioredis';
import { type ActionStore, type RetentionPolicy } from '../store/action-store';
import { LmdbActionStore } from '../store/lmdb-action-store';
import { RedisActionStore } from '../store/redis-action-store';
import { type StoredRecord } from '../store/stored-record';
import { SequenceReader } from './sequence-reader';

// Each store's fast path (rows written straight from the stored bytes) must
// answer byte for byte what the reference answers: decoded records through
// buildSequence. Where it cannot be sure (equal timestamps whose ids sort
// differently as UTF-8 bytes and as JavaScript strings), it must decline.

const RETENTION: RetentionPolicy = { sequenceTypes: DEFAULT_SEQUENCE_TYPES, maxSequenceActions: 256, maxOtherActions: 64 };
const T0 = 1_700_000_000_000;
const REDIS_URL = 'redis://127.0.0.1:6379';
const REDIS_PREFIX = `fs-reader-test:${process.pid}:${Date.now()}:`;

const record = (userId: string, actionId: string, actionType: number, timestampMs: number, seed: number): StoredRecord => ({
  actionId,
  userId,
  itemId: `item-${seed % 97}`,
  actionType,
  timestampMs,
  surface: 1,
  durationMs: seed,
  itemKnown: seed % 5 !== 0,
  vector: Float32Array.from({ length: 32 }, (_, d) => Math.sin(seed * 31 + d)),
});

function usersData(): StoredRecord[] {
  const out: StoredRecord[] = [];
  // 300 actions over every type (impressions are kept apart), one per ms: retention trims to 256.
  for (let i = 0; i < 300; i++) out.push(record('plain', `a-${i}`, 1 + (i % 5), T0 + i * 1000, i));
  // Groups of five equal timestamps, ids that sort alike as bytes and as strings.
  for (let i = 0; i < 60; i++) out.push(record('ties', `t-${(i * 37) % 60}`, 2 + (i % 4), T0 + Math.floor(i / 5) * 1000, i));
  // Equal timestamps with ids whose UTF-8 byte order is not JavaScript's (a control character, U+FFFD, an emoji).
  for (const [i, id] of ['x\u0001', 'x', 'x\ufffd', 'x\u{1f600}', 'y'].entries()) out.push(record('unsafe', id, 2, T0, i));
  out.push(record('unsafe', 'older', 3, T0 - 1000, 9));
  // Actions after the as-of the queries use in the middle of the data.
  for (let i = 0; i < 20; i++) out.push(record('future', `f-${i}`, 2 + (i % 4), T0 + i * 60_000, i));
  return out;
}

const bytes = (s: RealtimeSequence): Buffer => Buffer.from(RealtimeSequence.encode(s).finish());

/** A store of each backend holding usersData(), and how to remove it. */
const BACKENDS: Array<{ name: string; open: () => Promise<{ store: ActionStore; cleanup: () => Promise<void> }> }> = [
  {
    name: 'LMDB',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fs-reader-'));
      const store = LmdbActionStore.open({ path: dir, retention: RETENTION });
      return {
        store,
        cleanup: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  ...(['ids', 'records'] as const).map((layout) => ({
    name: `Redis (${layout} layout)`,
    open: async () => {
      const prefix = `${REDIS_PREFIX}${layout}:`;
      const store = await RedisActionStore.open({ url: REDIS_URL, keyPrefix: prefix, retention: RETENTION, layout });
      return {
        store,
        cleanup: async () => {
          await store.close();
          const redis = new Redis(REDIS_URL);
          const keys = await redis.keys(`${prefix}*`);
          if (keys.length > 0) await redis.del(...keys);
          await redis.quit();
        },
      };
    },
  })),
];

describe.each(BACKENDS)('SequenceReader on $name: the fast path against decoded records + buildSequence', ({ open }) => {
  let store: ActionStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ store, cleanup } = await open());
    await store.append(usersData());
  });

  afterAll(() => cleanup());

  const reader = (storeFastPath: boolean, dimension = 32): SequenceReader =>
    new SequenceReader(store, { includeTypes: RETENTION.sequenceTypes, dimension, storeFastPath });

  const queries: [string, number, number][] = [];
  for (const user of ['plain', 'ties', 'future', 'nobody'])
    for (const maxLen of [1, 7, 100, 300]) for (const asOf of [T0 + 10_000_000, T0 + 150_500, T0 + 4 * 60_000]) queries.push([user, maxLen, asOf]);

  it.each(queries)('%s, max_len %d, as of %d: same bytes, read by the fast path', async (user, maxLen, asOf) => {
    const fast = reader(true);
    const slowReads = jest.spyOn(store, 'readSequence');
    const got = await fast.read(user, fast.resolve(maxLen, asOf));
    expect(slowReads).not.toHaveBeenCalled();
    slowReads.mockRestore();
    const ref = reader(false);
    const want = await ref.read(user, ref.resolve(maxLen, asOf));
    expect(got.length).toBe(want.length);
    expect(bytes(got).equals(bytes(want))).toBe(true);
  });

  it('declines ties it cannot order like buildSequence, and the answer is still the reference', async () => {
    const fast = reader(true);
    const slowReads = jest.spyOn(store, 'readSequence');
    const got = await fast.read('unsafe', fast.resolve(100, T0 + 1));
    expect(slowReads).toHaveBeenCalledTimes(1);
    slowReads.mockRestore();
    const ref = reader(false);
    const want = await ref.read('unsafe', ref.resolve(100, T0 + 1));
    expect(want.length).toBe(6);
    expect(bytes(got).equals(bytes(want))).toBe(true);
  });

  it('reads many users, duplicates and declined ones included, in request order', async () => {
    const ids = ['ties', 'unsafe', 'plain', 'nobody', 'ties'];
    const fast = reader(true);
    const ref = reader(false);
    const got = await fast.readMany(ids, fast.resolve(50, T0 + 200_000));
    const want = await ref.readMany(ids, ref.resolve(50, T0 + 200_000));
    expect(got.map((s) => s.userId)).toEqual(ids);
    got.forEach((s, i) => expect(bytes(s).equals(bytes(want[i] as RealtimeSequence))).toBe(true));
  });

  it('names the action whose vector has another width, as the reference does', async () => {
    const fast = reader(true, 16);
    const ref = reader(false, 16);
    const error = await ref.read('plain', ref.resolve(10, 0)).catch((e: unknown) => e);
    expect(String(error)).toMatch(/RangeError: action a-299: content vector has 32 values, expected 16/);
    await expect(fast.read('plain', fast.resolve(10, 0))).rejects.toThrow(String((error as Error).message));
  });
});
