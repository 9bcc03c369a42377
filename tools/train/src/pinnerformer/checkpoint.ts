import type * as TF from '@tensorflow/tfjs';
import { type WeightStore, encodeWeights } from '@pinrank/models';
import { readCheckpointDir, writeCheckpointDir, type OptimizerSlots } from '../checkpoint-dir';

/** What a checkpoint restores besides the model weights. */
export interface CheckpointState {
  /** Steps completed. */
  step: number;
  /** The temperature parameter (see `inverseTemperature`). */
  temperatureParameter: number;
  /** The resolved training options, to refuse resuming with different ones. */
  config: Record<string, unknown>;
}

/** A loaded checkpoint. */
export interface Checkpoint {
  state: CheckpointState;
  user: WeightStore;
  item: WeightStore;
  optimizer: OptimizerSlots;
}

/**
 * Writes `<runDir>/checkpoint/` (user and item weights, the optimiser's slots
 * in order, the state), never half-written.
 */
export async function saveCheckpoint(
  runDir: string,
  state: CheckpointState,
  user: { name: string; hyperparams: Record<string, unknown>; store: WeightStore },
  item: { name: string; hyperparams: Record<string, unknown>; store: WeightStore },
  optimizerWeights: Array<{ name: string; tensor: TF.Tensor }>,
): Promise<void> {
  await writeCheckpointDir(
    runDir,
    [
      ['user.prw', encodeWeights(user.name, user.hyperparams, user.store)],
      ['item.prw', encodeWeights(item.name, item.hyperparams, item.store)],
    ],
    optimizerWeights,
    state,
  );
}

/** Reads `<runDir>/checkpoint/`. Thrown by: a missing or corrupt checkpoint. */
export async function loadCheckpoint(runDir: string): Promise<Checkpoint> {
  const { state, weights, optimizer } = await readCheckpointDir<CheckpointState>(runDir, ['user.prw', 'item.prw']);
  return { state, user: weights.get('user.prw') as WeightStore, item: weights.get('item.prw') as WeightStore, optimizer };
}
