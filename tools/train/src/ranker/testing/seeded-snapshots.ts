import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VectorFileWriter } from '@pinrank/contracts';
import { TfOps, WeightStore, pinnerformer, pinnerformerFeeds, pinnerformerItem, runTfForward } from '@pinrank/models';
import { itemId, userId } from '@pinrank/sim';
import { sequenceAt } from '../../data/sequences';
import { loadTrainingWorld } from '../../data/world-data';

const DAY_MS = 86_400_000;

/**
 * Test fixture: PinnerFormer snapshots of a seeded (untrained) model as of the
 * end of the given days, in the layout the batch embedding job writes
 * (`<dir>/<day>.pf<version>/users.vec` + `items.vec`), computed with the
 * TensorFlow.js forward pass so tests need no model repository.
 */
export async function writeSeededSnapshots(worldDir: string, dir: string, days: readonly string[], maxLen = 16, version = 'seeded'): Promise<void> {
  const world = await loadTrainingWorld(worldDir, { evalDays: 1 });
  const userSpec = pinnerformer({ maxLen, dContent: world.dimension });
  const itemSpec = pinnerformerItem({ dContent: world.dimension });
  const userOps = new TfOps(WeightStore.seeded(7));
  const itemOps = new TfOps(WeightStore.seeded(7));
  const users = world.manifest.counts.users;
  const items = world.manifest.counts.items;
  try {
    const itemOut = runTfForward(itemSpec, itemOps, { item_vectors: { dtype: 'float32', shape: [items, world.dimension], data: world.content } })['item_embedding']!;
    const D = itemOut.shape[1] as number;
    for (const day of days) {
      const asOfMs = Date.parse(`${day}T00:00:00Z`) + DAY_MS - 1;
      const ids = Array.from({ length: users }, (_, u) => u).filter((u) => (world.positives[u]?.[0]?.timestampMs ?? Infinity) <= asOfMs);
      const out = join(dir, `${day}.pf${version}`);
      await mkdir(out, { recursive: true });
      const header = { version: `${day}.pf${version}`, dimension: D, producerModel: 'pinnerformer', producerModelVersion: version, asOfDate: day, createdAtMs: 0 };
      const uw = await VectorFileWriter.open(join(out, 'users.vec'), { ...header, kind: 'user', count: ids.length });
      if (ids.length > 0) {
        const emb = runTfForward(userSpec, userOps, pinnerformerFeeds(ids.map((u) => sequenceAt(world, u, asOfMs, maxLen))))['user_embedding']!;
        for (let k = 0; k < ids.length; k++) await uw.write(userId(ids[k] as number), emb.data.subarray(k * D, (k + 1) * D));
      }
      await uw.close();
      const iw = await VectorFileWriter.open(join(out, 'items.vec'), { ...header, kind: 'item_tower', count: items });
      for (let i = 0; i < items; i++) await iw.write(itemId(i), itemOut.data.subarray(i * D, (i + 1) * D));
      await iw.close();
    }
  } finally {
    userOps.dispose();
    itemOps.dispose();
  }
}
