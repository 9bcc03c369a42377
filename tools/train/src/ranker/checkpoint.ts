import type * as TF from '@tensorflow/tfjs';
import { type WeightStore, encodeWeights, type ModelSpec } from '@pinrank/models';
import { readCheckpointDir, writeCheckpointDir, type OptimizerSlots } from '../checkpoint-dir';

/** What a ranker checkpoint restores besides the weights. */
export interface RankerCheckpointState {
  step: number;
  /** The options that must match to resume. */
  config: Record<string, unknown>;
}

/** A loaded ranker checkpoint. */
export interface RankerCheckpoint {
  state: RankerCheckpointState;
  encoder?: WeightStore;
  heads: WeightStore;
  optimizer: OptimizerSlots;
}

/** Writes `<runDir>/checkpoint/` (never half-written). */
export async function saveRankerCheckpoint(
  runDir: string,
  state: RankerCheckpointState,
  models: { encoder?: { spec: ModelSpec; store: WeightStore }; heads: { spec: ModelSpec; store: WeightStore } },
  optimizerWeights: Awaited<ReturnType<TF.Optimizer['getWeights']>>,
): Promise<void> {
  const files: Array<readonly [string, Uint8Array]> = [];
  if (models.encoder) files.push(['encoder.prw', encodeWeights(models.encoder.spec.name, models.encoder.spec.hyperparams, models.encoder.store)]);
  files.push(['heads.prw', encodeWeights(models.heads.spec.name, models.heads.spec.hyperparams, models.heads.store)]);
  await writeCheckpointDir(runDir, files, optimizerWeights, state);
}

/** Reads `<runDir>/checkpoint/`. Thrown by: a missing or corrupt checkpoint (Error). */
export async function loadRankerCheckpoint(runDir: string, withEncoder: boolean): Promise<RankerCheckpoint> {
  const files = withEncoder ? ['heads.prw', 'encoder.prw'] : ['heads.prw'];
  const { state, weights, optimizer } = await readCheckpointDir<RankerCheckpointState>(runDir, files);
  const encoder = weights.get('encoder.prw');
  return { state, heads: weights.get('heads.prw') as WeightStore, ...(encoder ? { encoder } : {}), optimizer };
}
