import { CachedContentSource, type ContentVectorSource } from './content-source';
import { LruCache } from './lru-cache';

/** An in-memory catalog that records each batch it is asked for. */
class MapSource implements ContentVectorSource {
  readonly batches: string[][] = [];
  constructor(readonly items: Map<string, Float32Array>) {}
  async get(ids: readonly string[]): Promise<Map<string, Float32Array>> {
    this.batches.push([...ids]);
    return new Map(ids.flatMap((id) => (this.items.has(id) ? [[id, this.items.get(id) as Float32Array] as const] : [])));
  }
}

const vec = (x: number): Float32Array => new Float32Array(32).fill(x);

describe('LruCache', () => {
  it('evicts the least recently used entry past capacity', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1); // a is now the youngest
    c.set('c', 3);
    expect([c.get('a'), c.get('b'), c.get('c'), c.size]).toEqual([1, undefined, 3, 2]);
  });

  it('rejects a capacity below one', () => {
    expect(() => new LruCache(0)).toThrow(TypeError);
  });
});

describe('CachedContentSource', () => {
  it('asks the source once per batch for the misses only, then serves hits from memory', async () => {
    const source = new MapSource(new Map([['i1', vec(1)], ['i2', vec(2)]]));
    const cache = new CachedContentSource(source, { capacity: 10 });
    expect([...(await cache.get(['i1', 'i2', 'i1'])).keys()].sort()).toEqual(['i1', 'i2']);
    expect((await cache.get(['i2', 'i1'])).get('i2')?.[0]).toBe(2);
    expect(source.batches).toEqual([['i1', 'i2']]);
    expect(cache.stats).toEqual({ hits: 2, misses: 2, unknownHits: 0 });
  });

  it('remembers unknown items only for the TTL, so catalog additions are picked up', async () => {
    let now = 1000;
    const items = new Map<string, Float32Array>();
    const source = new MapSource(items);
    const cache = new CachedContentSource(source, { unknownTtlMs: 500, now: () => now });
    expect((await cache.get(['new'])).size).toBe(0);
    items.set('new', vec(7));
    expect((await cache.get(['new'])).size).toBe(0); // still within the TTL
    now += 501;
    expect((await cache.get(['new'])).get('new')?.[0]).toBe(7);
    expect(source.batches).toEqual([['new'], ['new']]);
    expect(cache.stats.unknownHits).toBe(1);
  });

  it('bounds memory: an evicted item is fetched again', async () => {
    const source = new MapSource(new Map([['a', vec(1)], ['b', vec(2)], ['c', vec(3)]]));
    const cache = new CachedContentSource(source, { capacity: 2 });
    await cache.get(['a']);
    await cache.get(['b']);
    await cache.get(['c']);
    await cache.get(['a']);
    expect(source.batches).toEqual([['a'], ['b'], ['c'], ['a']]);
  });

  it('propagates a source failure without caching anything', async () => {
    const failing: ContentVectorSource = { get: () => Promise.reject(new Error('down')) };
    const cache = new CachedContentSource(failing);
    await expect(cache.get(['x'])).rejects.toThrow('down');
    await expect(cache.get(['x'])).rejects.toThrow('down');
  });
});
