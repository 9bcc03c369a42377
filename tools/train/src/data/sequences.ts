import { buildSequence, type BuiltSequence, type SequenceAction } from '@pinrank/features';
import { PINNERFORMER_ACTION_TYPES } from '@pinrank/models';
import { type PositiveAction, type TrainingWorld, upperBound } from './world-data';

/**
 * A user's PinnerFormer input sequence as of `asOfMs`: the last `maxLen`
 * positive actions at or before that time, newest first, built by
 * `@pinrank/features` `buildSequence` exactly as the batch embedding job does
 * (action id = log position, content vector from the catalog), so training and
 * batch inference feed the model identical tensors.
 */
export function sequenceAt(world: TrainingWorld, user: number, asOfMs: number, maxLen: number): BuiltSequence {
  const all = world.positives[user] ?? [];
  const end = upperBound(all, asOfMs);
  const recent = all.slice(Math.max(0, end - maxLen), end);
  return buildSequence(recent.map((a) => toSequenceAction(world, a)), {
    asOfMs,
    maxLen,
    dimension: world.dimension,
    includeTypes: PINNERFORMER_ACTION_TYPES,
  });
}

function toSequenceAction(world: TrainingWorld, a: PositiveAction): SequenceAction {
  const D = world.dimension;
  return {
    actionId: String(a.position),
    itemId: '',
    actionType: a.actionType,
    timestampMs: a.timestampMs,
    surface: a.surface,
    durationMs: a.durationMs,
    vector: world.content.subarray(a.itemIndex * D, (a.itemIndex + 1) * D),
  };
}
