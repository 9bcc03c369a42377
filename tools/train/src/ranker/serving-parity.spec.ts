import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VectorFileWriter } from '@pinrank/contracts';
import { DENSE_FEATURES, SequenceTimeline, buildSequence, denseFeatureRows, type SequenceAction } from '@pinrank/features';
import { itemId, userId } from '@pinrank/sim';
import { buildRankerBatch } from './batch';
import { PfSnapshots } from './pf-snapshots';
import { type RankRequest, type RankerData } from './ranker-data';

// Training and serving build the heads' dense_features from one definition
// (@pinrank/features). Here the same raw inputs — a user's action log, the
// catalog popularity, the PinnerFormer snapshot — go through the training batch
// builder and through the serving path (the feature-server's sequence builder,
// then the rows the router sends), and the rows must be identical.
describe('dense features: training and serving build identical rows', () => {
  const D = 4;
  const SERVE_S = 6;
  const DAY = Date.parse('2026-01-02T00:00:00Z');
  const popularity = new Float32Array([12, 0, 3.5, 250, 1]);
  const action = (id: string, item: number, type: number, timestampMs: number): SequenceAction => ({
    actionId: id,
    itemId: itemId(item),
    actionType: type,
    timestampMs,
    surface: 1,
    durationMs: 0,
    vector: new Float32Array(D).fill(item),
  });
  // u0: engagements over two days (and an impression, which no sequence keeps); u1: none.
  const logs: SequenceAction[][] = [
    [
      action('a1', 0, 2, DAY - 30 * 3600_000),
      action('a2', 3, 3, DAY + 3600_000),
      action('a3', 2, 1, DAY + 2 * 3600_000),
      action('a4', 4, 5, DAY + 5 * 3600_000),
      action('a5', 1, 4, DAY + 9 * 3600_000),
    ],
    [],
  ];
  const requests: RankRequest[] = [
    { user: 0, timeMs: DAY + 6 * 3600_000, session: 0, items: [0, 3, 4], outcomes: [1, 2, 1], part: 'train' },
    { user: 1, timeMs: DAY + 7 * 3600_000, session: 1, items: [1, 2], outcomes: [1, 1], part: 'train' },
    { user: 0, timeMs: DAY - 40 * 3600_000, session: 2, items: [2], outcomes: [1], part: 'train' },
  ];
  let dir: string;
  let pf: PfSnapshots;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinrank-parity-'));
    const snap = join(dir, '2026-01-01.pfx');
    await mkdir(snap, { recursive: true });
    const header = { version: '2026-01-01.pfx', dimension: 3, producerModel: 'pinnerformer', producerModelVersion: 'x', asOfDate: '2026-01-01', createdAtMs: 0 };
    const users = await VectorFileWriter.open(join(snap, 'users.vec'), { ...header, kind: 'user', count: 1 });
    await users.write(userId(0), new Float32Array([0.1, 0.2, 0.3]));
    await users.close();
    const items = await VectorFileWriter.open(join(snap, 'items.vec'), { ...header, kind: 'item_tower', count: popularity.length });
    for (let i = 0; i < popularity.length; i++) await items.write(itemId(i), new Float32Array([i, i, i]));
    await items.close();
    pf = await PfSnapshots.load(dir, logs.length, popularity.length);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives each candidate the same dense_features row', () => {
    // Only what buildRankerBatch reads of the training data (timelines at both lengths, catalog content and popularity).
    const data = {
      dimension: D,
      content: new Float32Array(popularity.length * D),
      popularity,
      serveTimelines: logs.map((l) => new SequenceTimeline(l, { maxLen: SERVE_S, dimension: D })),
      // Shorter than served: the dense rows must come from the serving-length sequence.
      trainTimelines: logs.map((l) => new SequenceTimeline(l, { maxLen: 2, dimension: D })),
    } as unknown as RankerData;
    const batch = buildRankerBatch(data, pf, requests);
    const trained = batch.heads['dense_features']?.data as Float32Array;
    expect(trained).toHaveLength(batch.n * DENSE_FEATURES);

    let row = 0;
    for (const r of requests) {
      // Serving: the feature-server builds the user's sequence as of the request, the router reads the rows from it.
      const served = buildSequence(logs[r.user] ?? [], { asOfMs: r.timeMs, maxLen: SERVE_S, dimension: D });
      const userMissing = pf.snapshotFor(r.timeMs) === undefined || r.user !== 0;
      const rows = denseFeatureRows(r.items.map((i) => popularity[i] ?? 0), served, userMissing);
      expect(Array.from(trained.subarray(row * DENSE_FEATURES, (row + r.items.length) * DENSE_FEATURES))).toEqual(Array.from(rows));
      row += r.items.length;
    }
    // The fixture covers a non-empty sequence, an empty one and a missing user vector.
    expect(Array.from(trained.subarray(0, DENSE_FEATURES))).toEqual([Math.fround(Math.log1p(12)), Math.fround(3 / 100), Math.fround(Math.log1p(1)), 0]);
    expect(trained[3 * DENSE_FEATURES + 3]).toBe(1);
  });
});
