import Redis from 'ioredis';
import { TEST_BACKENDS } from '../testing/backends';
import { RedisVectorStore } from './redis-store';
import { readRowsUnder, type VectorStore } from './vector-store';

describe.each(TEST_BACKENDS)('$name vector store', ({ make }) => {
  let store: VectorStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ store, cleanup } = await make(7)));
  afterEach(async () => cleanup());

  const vec = (seed: number, d = 4): Float32Array => Float32Array.from({ length: d }, (_, i) => seed + i / 10);

  it('reads rows into a caller buffer and reports missing keys', async () => {
    await store.writeVectors(Array.from({ length: 20 }, (_, i) => [`v:a:t:item${i}`, vec(i)] as const));
    const out = new Float32Array(3 * 4).fill(-1);
    const found = await store.readRows(['v:a:t:item3', 'v:a:t:nope', 'v:a:t:item19'], 4, out);
    expect(found).toEqual([true, false, true]);
    expect(Array.from(out.subarray(0, 4))).toEqual(Array.from(vec(3)));
    expect(Array.from(out.subarray(4, 8))).toEqual([-1, -1, -1, -1]);
    expect(Array.from(out.subarray(8, 12))).toEqual(Array.from(vec(19)));
  });

  it('reads under a prefix what readRows reads for the joined keys, again after writes and removals', async () => {
    await store.writeVectors(Array.from({ length: 20 }, (_, i) => [`v:a:t:item${i}`, vec(i)] as const));
    const ids = ['item3', 'nope', 'item19', 'item4'];
    const under = async (): Promise<{ found: boolean[]; rows: number[] }> => {
      const out = new Float32Array(ids.length * 4).fill(-1);
      return { found: await readRowsUnder(store, 'v:a:t:', ids, 4, out), rows: Array.from(out) };
    };
    const joined = async (): Promise<{ found: boolean[]; rows: number[] }> => {
      const out = new Float32Array(ids.length * 4).fill(-1);
      return { found: await store.readRows(ids.map((id) => `v:a:t:${id}`), 4, out), rows: Array.from(out) };
    };
    expect((await under()).found).toEqual([true, false, true, true]);
    expect(await under()).toEqual(await joined());
    await store.writeVectors([['v:a:t:item3', vec(30)], ['v:a:t:nope', vec(40)]]);
    await store.remove(['v:a:t:item19']);
    const after = await under();
    expect(after.found).toEqual([true, true, false, true]);
    expect(after.rows.slice(0, 8)).toEqual([...Array.from(vec(30)), ...Array.from(vec(40))]);
    expect(after).toEqual(await joined());
    await store.removePrefix('v:a:');
    expect((await under()).found).toEqual([false, false, false, false]);
  });

  it('refuses a stored value of the wrong dimension', async () => {
    await store.writeVectors([['c:x', vec(1, 3)]]);
    await expect(store.readRows(['c:x'], 4, new Float32Array(4))).rejects.toThrow(/12 bytes, expected 16/);
  });

  it('scans, removes and removes by prefix without touching other prefixes', async () => {
    await store.writeVectors(Array.from({ length: 15 }, (_, i) => [`v:a:u:user${i}`, vec(i)] as const));
    await store.writeVectors([['v:ab:u:other', vec(99)], ['c:item', vec(5)]]);
    const seen = new Map<string, number>();
    for await (const batch of store.scan('v:a:u:', 4)) for (const [id, v] of batch) seen.set(id, v[0] as number);
    expect(seen.size).toBe(15);
    expect(seen.get('user7')).toBeCloseTo(7);
    expect(await store.remove(['v:a:u:user0', 'v:a:u:missing'])).toBe(1);
    expect(await store.removePrefix('v:a:')).toBe(14);
    const found = await store.readRows(['v:a:u:user1', 'v:ab:u:other', 'c:item'], 4, new Float32Array(12));
    expect(found).toEqual([false, true, true]);
  });

  it('keeps metadata records', async () => {
    await store.setMeta('snap:1', '{"a":1}');
    await store.setMeta('snap:2', '{"a":2}');
    await store.setMeta('active', '1');
    expect(await store.getMeta('active')).toBe('1');
    expect((await store.listMeta('snap:')).map(([n]) => n)).toEqual(['snap:1', 'snap:2']);
    await store.deleteMeta('snap:1');
    expect(await store.getMeta('snap:1')).toBeUndefined();
  });
});

describe('Redis vector store with a read replica', () => {
  it('sends vector reads to the replica URL over a named connection, and closes a replica it never used', async () => {
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const keyPrefix = `es-replica-test:${process.pid}:`;
    // The loopback Redis stands in for its own replica: what matters is which connection reads.
    const store = new RedisVectorStore({ url, readUrls: [url], keyPrefix });
    const unused = new RedisVectorStore({ url, readUrls: ['redis://127.0.0.1:1'], keyPrefix });
    const admin = new Redis(url);
    try {
      await store.writeVectors([['k', Float32Array.from([1, 2])]]);
      const out = new Float32Array(2);
      expect(await store.readRows(['k', 'missing'], 2, out)).toEqual([true, false]);
      expect([...out]).toEqual([1, 2]);
      const clients = String(await admin.call('CLIENT', 'LIST'));
      expect(clients).toMatch(/ name=pinrank-es-read .*cmd=mget/);
      await unused.close();
    } finally {
      await store.removePrefix('');
      await store.close();
      await admin.quit();
    }
  });
});
