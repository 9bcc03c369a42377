import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnnIndex } from './ann-index';
import { AnnIndexCache, type IndexStamp } from './index-cache';

describe('AnnIndexCache', () => {
  const d = 8;
  const ids = Array.from({ length: 200 }, (_, i) => `item/${i}`);
  const vectors = Float32Array.from({ length: 200 * d }, (_, i) => Math.sin(i * 0.37));
  const stamp: IndexStamp = { version: 'pf 2026-02-28', seq: 3, startedAtMs: 1000, itemCount: 200, dimension: d };
  let dir: string;
  let index: AnnIndex;
  beforeAll(async () => {
    index = await AnnIndex.build(ids, vectors, d, { threads: 1 });
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'es-ann-cache-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reopens a saved graph with its ids, for any version label', async () => {
    const cache = new AnnIndexCache(dir);
    await cache.save(stamp, index, {});
    const opened = await cache.open(stamp, { expansionSearch: 64 });
    expect(opened?.size).toBe(200);
    expect(opened?.search(vectors.slice(17 * d, 18 * d), 1)[0]?.id).toBe('item/17');
    expect((await readdir(dir)).every((f) => !f.includes(' ') && !f.endsWith('.tmp'))).toBe(true);
  });

  it.each<[string, Partial<IndexStamp>, object]>([
    ['another load of the same label', { seq: 4 }, {}],
    ['another item count', { itemCount: 199 }, {}],
    ['another graph degree', {}, { connectivity: 32 }],
    ['another vector quantization', {}, { quantization: 'i8' }],
  ])('treats a graph of %s as stale', async (_name, change, options) => {
    const cache = new AnnIndexCache(dir);
    await cache.save(stamp, index, {});
    expect(await cache.open({ ...stamp, ...change }, options)).toBeUndefined();
  });

  it('rebuilds rather than fails on a missing or damaged file, and removes a version', async () => {
    const cache = new AnnIndexCache(dir);
    expect(await cache.open(stamp, {})).toBeUndefined();
    await cache.save(stamp, index, {});
    const graph = (await readdir(dir)).find((f) => f.endsWith('.usearch')) as string;
    await writeFile(join(dir, graph), 'not a graph');
    expect(await cache.open(stamp, {})).toBeUndefined();
    await cache.remove(stamp.version);
    expect(await readdir(dir)).toEqual([]);
  });
});
