import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnnIndex, annIndexDefaults, exactSearch } from './ann-index';

function randomVectors(n: number, d: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  return Float32Array.from({ length: n * d }, rand);
}

describe('AnnIndex', () => {
  const n = 3000;
  const d = 16;
  const ids = Array.from({ length: n }, (_, i) => `item${i}`);
  const vectors = randomVectors(n, d, 7);
  let index: AnnIndex;
  beforeAll(async () => {
    index = await AnnIndex.build(ids, vectors, d, { addChunk: 700, threads: 1 });
  });

  it('finds what exact search finds (recall@20 >= 0.9)', () => {
    const queries = randomVectors(30, d, 99);
    let hits = 0;
    for (let q = 0; q < 30; q++) {
      const query = queries.subarray(q * d, (q + 1) * d);
      const truth = new Set(exactSearch(ids, vectors, d, query, 20).map((h) => h.id));
      hits += index.search(query, 20).filter((h) => truth.has(h.id)).length;
    }
    expect(index.size).toBe(n);
    expect(hits / (30 * 20)).toBeGreaterThanOrEqual(0.9);
  });

  it('returns an indexed vector as its own best match with cosine ~1, best first', () => {
    const hits = index.search(vectors.slice(42 * d, 43 * d), 5);
    expect(hits[0]?.id).toBe('item42');
    expect(hits[0]?.score).toBeCloseTo(1, 4);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
  });

  it('never returns excluded ids and still returns k items', () => {
    const query = vectors.slice(42 * d, 43 * d);
    const first = index.search(query, 10).map((h) => h.id);
    const exclude = new Set(first.slice(0, 5));
    const hits = index.search(query, 10, exclude);
    expect(hits).toHaveLength(10);
    expect(hits.some((h) => exclude.has(h.id))).toBe(false);
  });

  it('saves a graph and views it again with other search settings', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'es-ann-'));
    try {
      const file = join(dir, 'index.usearch');
      index.save(file);
      const query = vectors.slice(42 * d, 43 * d);
      const viewed = AnnIndex.view(file, ids, d, { expansionSearch: 64 });
      expect(viewed.size).toBe(n);
      expect(viewed.search(query, 5).map((h) => h.id)).toEqual(index.search(query, 5).map((h) => h.id));
      expect(() => AnnIndex.view(file, ids.slice(1), d)).toThrow(/holds 3000 vectors, 2999 ids/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a query of the wrong dimension and bad options', () => {
    expect(() => index.search(new Float32Array(3), 5)).toThrow(/dimension is 16/);
    expect(() => annIndexDefaults({ connectivity: 0 })).toThrow(/connectivity/);
    expect(() => annIndexDefaults({ quantization: 'f8' as 'f32' })).toThrow(/quantization must be one of f32, f16, i8/);
  });

  it.each(['f16', 'i8'] as const)('keeps recall with %s vectors in the graph', async (quantization) => {
    const q = await AnnIndex.build(ids, vectors, d, { threads: 1, quantization });
    const queries = randomVectors(30, d, 99);
    let hits = 0;
    for (let k = 0; k < 30; k++) {
      const query = queries.subarray(k * d, (k + 1) * d);
      const truth = new Set(exactSearch(ids, vectors, d, query, 20).map((h) => h.id));
      hits += q.search(query, 20).filter((h) => truth.has(h.id)).length;
    }
    expect(hits / (30 * 20)).toBeGreaterThanOrEqual(0.85);
  });
});
