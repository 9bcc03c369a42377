import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readVectorFile, readVectorFileHeader, type VectorRecord } from '@pinrank/contracts';
import { writeWorld } from '@pinrank/sim';
import { mergeUserShards, runEmbedJob } from './embed-job';

const modelRoot = join(__dirname, '..', '..', '..', '..', 'models');
/** The newest PinnerFormer version shipped: the job's default. */
const newest = String(Math.max(...readdirSync(join(modelRoot, 'pinnerformer')).map(Number).filter(Number.isInteger)));

/** Largest absolute difference (batch composition may change the last float bits). */
function maxDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
}

async function readAll(path: string): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for await (const r of readVectorFile(path)) out.set((r as VectorRecord).id, r.vector);
  return out;
}

describe('the batch embedding job', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinrank-embed-'));
    await writeWorld(join(dir, 'world'), { seed: 4, users: 120, items: 600, days: 12 });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes a user and an item-tower file of one version with unit-length vectors', async () => {
    const res = await runEmbedJob({ worldDir: join(dir, 'world'), modelRoot, outDir: join(dir, 'snap'), asOfDate: '2026-01-10' });
    expect(res.version).toBe(`2026-01-10.pf${newest}`);
    const uh = await readVectorFileHeader(res.userFile);
    expect(uh).toMatchObject({ kind: 'user', producerModel: 'pinnerformer', producerModelVersion: newest, asOfDate: '2026-01-10', baseVersion: null });
    const users = await readAll(res.userFile);
    expect(users.size).toBe(res.users);
    expect(res.users + res.skippedUsers).toBe(120);
    for (const v of users.values()) expect(Math.hypot(...v)).toBeCloseTo(1, 4);
    const items = await readAll(res.itemFile as string);
    expect(items.size).toBe(600);
    expect((await readVectorFileHeader(res.itemFile as string)).kind).toBe('item_tower');
  });

  it('gives the same vectors when sharded by user range and merged', async () => {
    const world = join(dir, 'world');
    const full = await runEmbedJob({ worldDir: world, modelRoot, outDir: join(dir, 'full'), asOfDate: '2026-01-10', version: 'v' });
    for (const shard of [0, 1, 2]) await runEmbedJob({ worldDir: world, modelRoot, outDir: join(dir, 'sharded'), asOfDate: '2026-01-10', version: 'v', shards: 3, shard });
    const merged = await readAll(await mergeUserShards(join(dir, 'sharded', 'v'), 3));
    const expected = await readAll(full.userFile);
    expect([...merged.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [id, v] of expected) expect(maxDiff(merged.get(id) as Float32Array, v)).toBeLessThan(1e-5);
  });

  it('embeds only users active since the base in incremental mode, and names the base', async () => {
    const world = join(dir, 'world');
    const out = join(dir, 'inc');
    await runEmbedJob({ worldDir: world, modelRoot, outDir: out, asOfDate: '2026-01-08', version: 'base' });
    const inc = await runEmbedJob({ worldDir: world, modelRoot, outDir: out, asOfDate: '2026-01-09', version: 'next', baseVersion: 'base' });
    const full = await runEmbedJob({ worldDir: world, modelRoot, outDir: out, asOfDate: '2026-01-09', version: 'full' });
    expect((await readVectorFileHeader(inc.userFile)).baseVersion).toBe('base');
    expect(inc.users).toBeGreaterThan(0);
    expect(inc.users).toBeLessThan(full.users);
    const incVecs = await readAll(inc.userFile);
    const fullVecs = await readAll(full.userFile);
    for (const [id, v] of incVecs) expect(maxDiff(v, fullVecs.get(id) as Float32Array)).toBeLessThan(1e-5);
  });

  it('refuses a bad shard', async () => {
    await expect(runEmbedJob({ worldDir: join(dir, 'world'), modelRoot, outDir: join(dir, 'x'), shards: 2, shard: 2 })).rejects.toThrow(
      /shard must be in 0..shards-1/,
    );
  });
});
