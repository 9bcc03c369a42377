import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { towerKey } from '../store/keys';
import { TEST_BACKENDS, type TestStore } from '../testing/backends';
import { snapshotRecord, unitVector } from '../testing/fixtures';
import { SnapshotIndexes, type SnapshotIndexesOptions } from './snapshot-indexes';

const LMDB = TEST_BACKENDS.find((b) => b.name === 'lmdb')!;
const D = 8;

describe('SnapshotIndexes', () => {
  let t: TestStore;
  let dir: string;
  let lines: string[];
  const said = (msg: string): number => lines.filter((l) => l.includes(`"msg":"${msg}"`)).length;
  const make = (o: Partial<SnapshotIndexesOptions> = {}): SnapshotIndexes =>
    new SnapshotIndexes({ store: t.store, batchSize: 7, ann: { threads: 1 }, now: Date.now, logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }), ...o });

  beforeEach(async () => {
    t = await LMDB.make();
    dir = await mkdtemp(join(tmpdir(), 'es-indexes-'));
    lines = [];
    await t.store.writeVectors(Array.from({ length: 40 }, (_, i) => [towerKey('v1', `i${i}`), unitVector(i + 1, D)] as const));
  });
  afterEach(async () => {
    await t.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds a version once from its tower vectors and reuses it', async () => {
    const indexes = make();
    const record = snapshotRecord('v1', 1, { itemCount: 40, dimension: D });
    const first = indexes.get(record);
    expect(indexes.get(record)).toBe(first);
    const index = await first;
    expect(index.size).toBe(40);
    expect(index.search(unitVector(18, D), 1)[0]?.id).toBe('i17');
    expect(said('ANN index built')).toBe(1);
    indexes.forget('v1');
    await indexes.get(record);
    expect(said('ANN index built')).toBe(2);
  });

  it('forgets a failed build, so the next call tries again', async () => {
    const indexes = make();
    // A record whose dimension does not match the stored vectors cannot be built.
    await expect(indexes.get(snapshotRecord('v1', 1, { itemCount: 1, dimension: 4 }))).rejects.toThrow();
    expect((await indexes.get(snapshotRecord('v1', 1, { itemCount: 40, dimension: D }))).size).toBe(40);
  });

  it('reopens the saved graph of the same load after a restart, rebuilds for another load of the label, and discards it', async () => {
    const record = snapshotRecord('v1', 1, { itemCount: 40, dimension: D });
    await make({ indexDir: dir }).get(record);
    const restarted = make({ indexDir: dir });
    expect((await restarted.get(record)).search(unitVector(5, D), 1)[0]?.id).toBe('i4');
    expect([said('ANN index built'), said('ANN index opened from disk')]).toEqual([1, 1]);
    await make({ indexDir: dir }).get({ ...record, seq: 2 });
    expect(said('ANN index built')).toBe(2);
    await restarted.discard('v1');
    expect(await readdir(dir)).toEqual([]);
  });
});
