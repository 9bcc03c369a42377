import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readVectorFile, readVectorFileHeader } from '@pinrank/contracts';
import { readActionBatches, readActionLogHeader } from './action-log/reader';
import { generateWorld, writeWorld } from './generate';
import { loadWorld, worldFromLogHeader } from './manifest';

const SMALL = { users: 300, items: 1500, days: 20 };

describe('writeWorld', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinrank-sim-world-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reproduces every file byte for byte from the same seed, and differs for another seed', async () => {
    const phases = new Set<string>();
    const a = await writeWorld(join(dir, 'a'), { ...SMALL, seed: 11 }, { onProgress: (p) => phases.add(p) });
    await writeWorld(join(dir, 'b'), { ...SMALL, seed: 11 });
    await writeWorld(join(dir, 'c'), { ...SMALL, seed: 12 });
    for (const f of ['world.json', 'items.vec', 'actions.prlog']) {
      const bytesA = await readFile(join(dir, 'a', f));
      expect((await readFile(join(dir, 'b', f))).equals(bytesA)).toBe(true);
      expect((await readFile(join(dir, 'c', f))).equals(bytesA)).toBe(false);
    }
    expect([...phases]).toEqual(['items', 'users', 'sort', 'write']);
    expect(a.counts.actions).toBeGreaterThan(5_000);
  });

  it('writes a catalog, a sorted action log and a manifest that read back consistently', async () => {
    const out = join(dir, 'rt');
    const manifest = await writeWorld(out, { ...SMALL, seed: 3 }, { gzip: true });
    const loaded = await loadWorld(out);
    expect(loaded.manifest).toEqual(manifest);
    expect(loaded.actionsPath.endsWith('actions.prlog.gz')).toBe(true);

    const catalogHeader = await readVectorFileHeader(loaded.catalogPath);
    expect(catalogHeader).toMatchObject({ kind: 'item_content', dimension: 32, count: 1500, extraFields: ['primary_topic', 'popularity'] });
    let n = 0;
    let bad = 0;
    for await (const rec of readVectorFile(loaded.catalogPath)) {
      const i = n++;
      let norm = 0;
      for (const v of rec.vector) norm += v * v;
      if (rec.id !== `i${i}` || rec.extra[0] !== loaded.world.items.primaryTopic[i] || Math.abs(norm - 1) > 1e-4) bad++;
    }
    expect(bad).toBe(0);
    expect(n).toBe(1500);

    const header = await readActionLogHeader(loaded.actionsPath);
    expect(header).toMatchObject({ seed: 3, users: 300, items: 1500, startMs: manifest.startMs, endMs: manifest.endMs });
    expect(worldFromLogHeader(header).options).toEqual(loaded.world.options);

    // The file holds exactly the in-memory generation, in time order.
    const { table, order } = generateWorld({ ...SMALL, seed: 3 });
    let k = 0;
    let last = -Infinity;
    let mismatches = 0;
    const byType = [0, 0, 0, 0, 0, 0];
    for await (const b of readActionBatches(loaded.actionsPath)) {
      for (let j = 0; j < b.length; j++, k++) {
        const row = order[k] as number;
        const ts = b.timestampMs[j] as number;
        if (
          ts !== table.timestampMs[row] ||
          b.userIndex[j] !== table.userIndex[row] ||
          b.itemIndex[j] !== table.itemIndex[row] ||
          b.actionType[j] !== table.actionType[row] ||
          b.durationMs[j] !== table.durationMs[row] ||
          ts < last ||
          ts < manifest.startMs ||
          ts >= manifest.endMs
        )
          mismatches++;
        last = ts;
        byType[b.actionType[j] as number]!++;
      }
    }
    expect(mismatches).toBe(0);
    expect(k).toBe(manifest.counts.actions);
    expect(byType.slice(1)).toEqual([
      manifest.counts.byType.impression,
      manifest.counts.byType.click,
      manifest.counts.byType.save,
      manifest.counts.byType.closeup,
      manifest.counts.byType.hide,
    ]);
  });

  it('honours an abort signal', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(writeWorld(join(dir, 'x'), { ...SMALL, seed: 1 }, { signal: ac.signal })).rejects.toThrow('stop');
  });
});
