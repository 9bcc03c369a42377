import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '@pinrank/models';
import { writeWorld } from '@pinrank/sim';
import { ExampleSource, OBJECTIVES, type Objective } from './examples';
import { loadTrainingWorld, upperBound, type TrainingWorld } from './world-data';

let dir: string;
let world: TrainingWorld;
const DAY_MS = 86_400_000;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pf-examples-'));
  await writeWorld(dir, { seed: 5, users: 120, items: 300, days: 30, topics: 8 });
  world = await loadTrainingWorld(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const source = (objective: Objective, windowDays = 5): ExampleSource =>
  new ExampleSource(world, { objective, maxLen: 12, batchSize: 16, targetsPerSequence: 4, windowDays });

describe('ExampleSource', () => {
  it('counts item positives only from training users before the cutoff', () => {
    let n = 0;
    world.positives.forEach((acts, u) => {
      if (!world.splits.isHeldOutUser(u)) n += upperBound(acts, world.splits.cutoffMs - 1);
    });
    expect(world.totalPositives).toBe(n);
    expect(world.itemCounts.reduce((a, b) => a + b, 0)).toBe(n);
  });

  it.each([...OBJECTIVES])('%s: targets are later than their position, inside the window, before the cutoff, from training users', (objective) => {
    const src = source(objective);
    const batch = src.sample(new SeededRandom(7));
    expect(batch.sequences).toHaveLength(16);
    for (const t of batch.targets) {
      const user = batch.users[t.row]!;
      expect(world.splits.isHeldOutUser(user)).toBe(false);
      const seq = batch.sequences[t.row]!;
      const at = seq.rows[t.position]!.timestampMs;
      const acts = world.positives[user]!;
      const later = acts.filter((a) => a.timestampMs > at && a.timestampMs < world.splits.cutoffMs);
      const inWindow = later.filter((a) => a.timestampMs <= at + 5 * DAY_MS);
      if (objective === 'next-action' || objective === 'sasrec') expect(t.itemIndex).toBe(later[0]!.itemIndex);
      else expect(inWindow.map((a) => a.itemIndex)).toContain(t.itemIndex);
      if (objective === 'next-action' || objective === 'all-action') expect(t.position).toBe(0);
      expect(batch.ownPositives[t.row]!.has(t.itemIndex)).toBe(true);
    }
    expect(batch.targets.length).toBeGreaterThanOrEqual(16);
  });

  it('dense all-action samples distinct positions beyond the newest', () => {
    const batch = source('dense-all-action').sample(new SeededRandom(3));
    const positions = batch.targets.map((t) => t.position);
    expect(positions.some((p) => p > 0)).toBe(true);
    for (let r = 0; r < batch.sequences.length; r++) {
      const mine = batch.targets.filter((t) => t.row === r).map((t) => t.position);
      expect(new Set(mine).size).toBe(mine.length);
    }
  });

  it('the same random state gives the same batch', () => {
    const a = source('dense-all-action').sample(new SeededRandom(11));
    const b = source('dense-all-action').sample(new SeededRandom(11));
    expect(b.targets).toEqual(a.targets);
    expect(b.users).toEqual(a.users);
    expect(source('dense-all-action').sample(new SeededRandom(12)).users).not.toEqual(a.users);
  });
});
