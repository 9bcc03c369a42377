import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readVectorFile, readVectorFileHeader } from '@pinrank/contracts';
import { PINNERFORMER_ACTION_TYPES } from '@pinrank/models';
import { createSplits, parseItemId, readActionBatches, type Splits, type WorldManifest } from '@pinrank/sim';

/** One positive action of a user (the fields the encoder reads; the content vector is looked up by item index). */
export interface PositiveAction {
  /** Position of the record in the action log: the action id, as the batch embedding job uses it. */
  position: number;
  itemIndex: number;
  actionType: number;
  timestampMs: number;
  surface: number;
  durationMs: number;
}

/** A simulated world loaded for training and evaluation: catalog vectors, per-user positives, splits, item counts. */
export interface TrainingWorld {
  manifest: WorldManifest;
  /** Content vectors by item index, row-major `[items, dimension]`. */
  content: Float32Array;
  dimension: number;
  /** Per user index: positive actions (PinnerFormer action types), oldest first. */
  positives: PositiveAction[][];
  /** Held-out users and the time cutoff (the last `evalDays` days are never training targets). */
  splits: Splits;
  /** Positive actions per item among training users before the cutoff (logQ estimates and the popularity floor). */
  itemCounts: Float64Array;
  /** Sum of `itemCounts`. */
  totalPositives: number;
}

/** Options of `loadTrainingWorld`. */
export interface LoadWorldOptions {
  /** Days at the end of the world that training never targets (the evaluation window). Default 14. */
  evalDays?: number;
  /** Share of users held out of training. Default 0.1. */
  heldOutUserFraction?: number;
}

/**
 * Reads a world directory written by `pinrank simulate` once: the catalog and
 * every user's positive actions. Thrown by: a missing or unreadable file, or
 * options that do not fit the world's span (RangeError).
 */
export async function loadTrainingWorld(worldDir: string, options: LoadWorldOptions = {}): Promise<TrainingWorld> {
  const manifest = JSON.parse(await readFile(join(worldDir, 'world.json'), 'utf8')) as WorldManifest;
  const splits = createSplits(
    { seed: manifest.seed, users: manifest.counts.users, startMs: manifest.startMs, endMs: manifest.endMs },
    { evalDays: options.evalDays ?? 14, heldOutUserFraction: options.heldOutUserFraction ?? 0.1 },
  );
  const catalogPath = join(worldDir, manifest.files.catalog);
  const { dimension } = await readVectorFileHeader(catalogPath);
  const items = manifest.counts.items;
  const content = new Float32Array(items * dimension);
  for await (const rec of readVectorFile(catalogPath)) content.set(rec.vector, parseItemId(rec.id, items) * dimension);

  const positives: PositiveAction[][] = Array.from({ length: manifest.counts.users }, () => []);
  const itemCounts = new Float64Array(items);
  let totalPositives = 0;
  let position = 0;
  for await (const batch of readActionBatches(join(worldDir, manifest.files.actions))) {
    for (let i = 0; i < batch.length; i++, position++) {
      const actionType = batch.actionType[i] as number;
      if (!PINNERFORMER_ACTION_TYPES.has(actionType)) continue;
      const user = batch.userIndex[i] as number;
      const a: PositiveAction = {
        position,
        itemIndex: batch.itemIndex[i] as number,
        actionType,
        timestampMs: batch.timestampMs[i] as number,
        surface: batch.surface[i] as number,
        durationMs: batch.durationMs[i] as number,
      };
      positives[user]?.push(a);
      if (splits.partOf(user, a.timestampMs) === 'train') {
        itemCounts[a.itemIndex]! += 1;
        totalPositives += 1;
      }
    }
  }
  return { manifest, content, dimension, positives, splits, itemCounts, totalPositives };
}

/** Index of the first action with `timestampMs > t` (actions are oldest first). */
export function upperBound(actions: readonly PositiveAction[], t: number): number {
  let lo = 0;
  let hi = actions.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((actions[mid] as PositiveAction).timestampMs <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
