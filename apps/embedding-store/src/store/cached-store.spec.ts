import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedVectorStore } from './cached-store';
import { LmdbVectorStore } from './lmdb-store';
import { readRowsUnder, type VectorStore } from './vector-store';

const vec = (v: number, d = 4): Float32Array => new Float32Array(d).fill(v);
let dir: string;
let lmdb: LmdbVectorStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'es-cache-'));
  lmdb = new LmdbVectorStore({ path: dir });
});

afterEach(async () => {
  await lmdb.close();
  await rm(dir, { recursive: true, force: true });
});

/** The rows of `prefix + ids[i]` as the lookups read them; -1 where nothing was found. */
async function read(store: VectorStore, prefix: string, ids: string[], d = 4): Promise<{ found: boolean[]; rows: number[] }> {
  const out = new Float32Array(ids.length * d).fill(-1);
  const found = await readRowsUnder(store, prefix, ids, d, out);
  return { found, rows: Array.from(out) };
}

describe('CachedVectorStore', () => {
  it('answers repeated reads from memory, the same as the store, and never caches a missing key', async () => {
    await lmdb.writeVectors([
      ['p:a', vec(1)],
      ['p:b', vec(2)],
    ]);
    const cached = new CachedVectorStore(lmdb, 10);
    const first = await read(cached, 'p:', ['a', 'x', 'b']);
    expect(first).toEqual(await read(lmdb, 'p:', ['a', 'x', 'b']));
    expect(first.found).toEqual([true, false, true]);
    expect(first.rows.slice(4, 8)).toEqual([-1, -1, -1, -1]);
    const again = await read(cached, 'p:', ['b', 'a', 'x']);
    expect(again.rows).toEqual([2, 2, 2, 2, 1, 1, 1, 1, -1, -1, -1, -1]);
    expect(cached.stats).toEqual({ hits: 2, misses: 4, rows: 2 });
    // Single-key reads go to the store, uncached.
    const one = new Float32Array(4);
    expect(await cached.readRows(['p:a'], 4, one)).toEqual([true]);
    expect(cached.stats.hits).toBe(2);
  });

  it('forgets what a write, a removal or a prefix removal touched', async () => {
    const cached = new CachedVectorStore(lmdb, 10);
    await cached.writeVectors([
      ['p:a', vec(1)],
      ['p:b', vec(2)],
      ['q:c', vec(3)],
    ]);
    await read(cached, 'p:', ['a', 'b']);
    await read(cached, 'q:', ['c']);
    await cached.writeVectors([['p:a', vec(5)]]);
    expect((await read(cached, 'p:', ['a'])).rows).toEqual([5, 5, 5, 5]);
    await cached.remove(['p:b']);
    expect((await read(cached, 'p:', ['b'])).found).toEqual([false]);
    await cached.removePrefix('q:');
    expect((await read(cached, 'q:', ['c'])).found).toEqual([false]);
    expect((await read(cached, 'p:', ['a'])).rows).toEqual([5, 5, 5, 5]);
  });

  it('keeps nothing a read fetched while a write was finishing', async () => {
    await lmdb.writeVectors([['p:k', vec(1)]]);
    // The store reads at once but answers late, as a slow backend would; a write lands in between.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow: VectorStore = Object.assign(Object.create(lmdb) as VectorStore, {
      readRows: async (keys: readonly string[], d: number, out: Float32Array) => {
        const found = await lmdb.readRows(keys, d, out);
        await gate;
        return found;
      },
    });
    const cached = new CachedVectorStore(slow, 10);
    const stale = read(cached, 'p:', ['k']);
    await cached.writeVectors([['p:k', vec(9)]]);
    release();
    expect((await stale).rows).toEqual([1, 1, 1, 1]); // it began before the write
    expect(cached.stats.rows).toBe(0);
    expect((await read(cached, 'p:', ['k'])).rows).toEqual([9, 9, 9, 9]);
  });

  it('keeps a ring per key space, evicting the oldest rows, and the least recently read space when full', async () => {
    const cached = new CachedVectorStore(lmdb, 2);
    for (const s of ['s1', 's2', 's3', 's4', 's5']) await lmdb.writeVectors([[`${s}:x`, vec(1)]]);
    await lmdb.writeVectors([
      ['s1:y', vec(2)],
      ['s1:z', vec(3)],
    ]);
    await read(cached, 's1:', ['x', 'y', 'z']);
    expect(cached.stats.rows).toBe(2);
    for (const s of ['s2', 's3', 's4']) await read(cached, `${s}:`, ['x']);
    expect(cached.stats.rows).toBe(5);
    // A fifth space: s1, read least recently, makes room.
    await read(cached, 's5:', ['x']);
    expect(cached.stats.rows).toBe(4);
    const hits = cached.stats.hits;
    await read(cached, 's1:', ['z']);
    expect(cached.stats.hits).toBe(hits);
    expect(() => new CachedVectorStore(lmdb, 0)).toThrow(/rowsPerSpace/);
  });

  it('reads another width than a space holds straight from the store, and refuses a stored value of another width as it does', async () => {
    await lmdb.writeVectors([['p:k', vec(1, 4)]]);
    const cached = new CachedVectorStore(lmdb, 10);
    await read(cached, 'p:', ['k'], 4);
    await expect(read(cached, 'p:', ['k'], 2)).rejects.toThrow(/stored vector p:k has 16 bytes, expected 8/);
  });
});
