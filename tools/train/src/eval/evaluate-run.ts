import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WeightStore, loadWeights, pinnerformer, pinnerformerItem, type ModelSpec } from '@pinrank/models';
import { loadTrainingWorld, type TrainingWorld } from '../data/world-data';
import { evaluatePinnerformer, type PinnerformerEvalOptions, type PinnerformerEvaluation } from './pinnerformer-report';

/** A trained pair read back from a run directory (`pinnerformer.prw`, `pinnerformer_item.prw`). */
export interface LoadedRun {
  user: { spec: ModelSpec; store: WeightStore };
  item: { spec: ModelSpec; store: WeightStore };
  /** The training options in the weights' provenance. */
  training: Record<string, unknown>;
}

/** Reads a run's trained weights. Thrown by: missing or corrupt files. */
export async function loadPinnerformerRun(runDir: string): Promise<LoadedRun> {
  const u = await loadWeights(join(runDir, 'pinnerformer.prw'));
  const i = await loadWeights(join(runDir, 'pinnerformer_item.prw'));
  return {
    user: { spec: pinnerformer(u.header.hyperparams), store: new WeightStore(u.tensors) },
    item: { spec: pinnerformerItem(i.header.hyperparams), store: new WeightStore(i.tensors) },
    training: (u.header.source['training'] as Record<string, unknown> | undefined) ?? {},
  };
}

/** Options of `evaluatePinnerformerRun`. */
export interface EvaluateRunOptions extends PinnerformerEvalOptions {
  /** World directory (default: the one the run trained on). */
  worldDir?: string;
  /** An already loaded world (several runs on one world load it once). */
  world?: TrainingWorld;
}

/**
 * Evaluates a finished run again (e.g. with a newer evaluation) and rewrites
 * its `eval.json`. The world must be loaded with the run's splits (evalDays,
 * heldOutUserFraction from its provenance). Thrown by: a run without weights,
 * a world that is not the run's.
 */
export async function evaluatePinnerformerRun(runDir: string, options: EvaluateRunOptions = {}): Promise<PinnerformerEvaluation> {
  const run = await loadPinnerformerRun(runDir);
  const t = run.training;
  const world =
    options.world ??
    (await loadTrainingWorld(options.worldDir ?? String(t['worldDir']), {
      evalDays: Number(t['evalDays'] ?? 14),
      heldOutUserFraction: Number(t['heldOutUserFraction'] ?? 0.1),
    }));
  const { worldDir: _w, world: _l, ...evalOptions } = options;
  const evaluation = evaluatePinnerformer(world, run.user, run.item, evalOptions);
  await writeFile(join(runDir, 'eval.json'), `${JSON.stringify(evaluation)}\n`);
  return evaluation;
}
