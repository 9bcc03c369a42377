import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedVectorStore } from './cached-store';
import { LmdbVectorStore } from './lmdb-store';
import { type VectorStore } from './vector-store';

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

async function read(store: VectorStore, keys: string[], d = 4): Promise<{ found: boolean[]; rows: number[] }> {
  const out = new Float32Array(keys.length * d).fill(-1);
  const found = await store.readRows(keys, d, out);
  return { found, rows: Array.from(out) };
}

describe('CachedVectorStore', () => {
  it('answers repeated reads from memory, the same as the store, and never caches a missing key', async () => {
    await lmdb.writeVectors([
      ['a', vec(1)],
      ['b', vec(2)],
    ]);
    const cached = new CachedVectorStore(lmdb, 10);
    const first = await read(cached, ['a', 'x', 'b']);
    expect(first).toEqual(await read(lmdb, ['a', 'x', 'b']));
    expect(first.found).toEqual([true, false, true]);
    expect(first.rows.slice(4, 8)).toEqual([-1, -1, -1, -1]);
    const again = await read(cached, ['b', 'a', 'x']);
    expect(again.rows).toEqual([2, 2, 2, 2, 1, 1, 1, 1, -1, -1, -1, -1]);
    expect(cached.stats).toEqual({ hits: 2, misses: 4, rows: 2 });
  });

  it('forgets what a write, a removal or a prefix removal touched', async () => {
    const cached = new CachedVectorStore(lmdb, 10);
    await cached.writeVectors([
      ['p:a', vec(1)],
      ['p:b', vec(2)],
      ['q:c', vec(3)],
    ]);
    await read(cached, ['p:a', 'p:b', 'q:c']);
    await cached.writeVectors([['p:a', vec(5)]]);
    expect((await read(cached, ['p:a'])).rows).toEqual([5, 5, 5, 5]);
    await cached.remove(['p:b']);
    expect((await read(cached, ['p:b'])).found).toEqual([false]);
    await cached.removePrefix('q:');
    expect((await read(cached, ['q:c'])).found).toEqual([false]);
    expect((await read(cached, ['p:a'])).rows).toEqual([5, 5, 5, 5]);
  });

  it('keeps nothing a read fetched while a write was finishing', async () => {
    await lmdb.writeVectors([['k', vec(1)]]);
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
    const stale = read(cached, ['k']);
    await cached.writeVectors([['k', vec(9)]]);
    release();
    expect((await stale).rows).toEqual([1, 1, 1, 1]); // it began before the write
    expect(cached.stats.rows).toBe(0);
    const fresh = read(cached, ['k']);
    release();
    expect((await fresh).rows).toEqual([9, 9, 9, 9]);
  });

  it('keeps one ring per width, evicting the oldest rows, and reads further widths straight through', async () => {
    const cached = new CachedVectorStore(lmdb, 2);
    for (const d of [1, 2, 3, 4, 5]) await lmdb.writeVectors([[`w${d}`, vec(d, d)]]);
    await lmdb.writeVectors([
      ['x', vec(7)],
      ['y', vec(8)],
      ['z', vec(9)],
    ]);
    await read(cached, ['x', 'y', 'z']);
    expect(cached.stats.rows).toBe(2);
    for (const d of [1, 2, 3, 5]) expect((await read(cached, [`w${d}`], d)).rows).toEqual(Array.from(vec(d, d)));
    // Widths 4, 1, 2 and 3 have rings; width 5 is read through, uncached.
    expect(cached.stats.rows).toBe(5);
    expect(() => new CachedVectorStore(lmdb, 0)).toThrow(/rowsPerWidth/);
  });

  it('refuses a stored value of another width, as the store does', async () => {
    await lmdb.writeVectors([['k', vec(1, 4)]]);
    const cached = new CachedVectorStore(lmdb, 10);
    await read(cached, ['k'], 4);
    await expect(read(cached, ['k'], 2)).rejects.toThrow(/stored vector k has 16 bytes, expected 8/);
  });
});
