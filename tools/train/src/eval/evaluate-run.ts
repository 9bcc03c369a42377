import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WeightStore, loadWeights, pinnerformer, pinnerformerItem, weightsFromOnnx, type ModelManifest, type ModelSpec } from '@pinrank/models';
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

/**
 * Reads an exported pair from a model repository (`<repo>/pinnerformer/<v>/`,
 * `<repo>/pinnerformer_item/<v>/`): the weights back out of the ONNX files,
 * the hyperparameters and training provenance from the manifests.
 */
export async function loadRepositoryPinnerformer(repositoryDir: string, version: string): Promise<LoadedRun> {
  const read = async (name: string): Promise<{ manifest: ModelManifest; store: WeightStore }> => {
    const dir = join(repositoryDir, name, version);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
    return { manifest, store: weightsFromOnnx(await readFile(join(dir, 'model.onnx'))) };
  };
  const u = await read('pinnerformer');
  const i = await read('pinnerformer_item');
  const provenance = u.manifest.weights.source === 'file' ? (u.manifest.weights.provenance as Record<string, unknown>) : {};
  return {
    user: { spec: pinnerformer(u.manifest.hyperparams), store: u.store },
    item: { spec: pinnerformerItem(i.manifest.hyperparams), store: i.store },
    training: (provenance['training'] as Record<string, unknown> | undefined) ?? {},
  };
}

/** Options of `evaluatePinnerformerRun`. */
export interface EvaluateRunOptions extends PinnerformerEvalOptions {
  /** World directory (default: the one the run trained on). */
  worldDir?: string;
  /** An already loaded world (several runs on one world load it once). */
  world?: TrainingWorld;
  /** Evaluate this pair instead of the run directory's weights (e.g. `loadRepositoryPinnerformer`); `eval.json` still goes to the run directory. */
  loaded?: LoadedRun;
}

/**
 * Evaluates a finished run again (e.g. with a newer evaluation) and rewrites
 * its `eval.json`. The world must be loaded with the run's splits (evalDays,
 * heldOutUserFraction from its provenance). Thrown by: a run without weights,
 * a world that is not the run's.
 */
export async function evaluatePinnerformerRun(runDir: string, options: EvaluateRunOptions = {}): Promise<PinnerformerEvaluation> {
  const run = options.loaded ?? (await loadPinnerformerRun(runDir));
  const t = run.training;
  const world =
    options.world ??
    (await loadTrainingWorld(options.worldDir ?? String(t['worldDir']), {
      evalDays: Number(t['evalDays'] ?? 14),
      heldOutUserFraction: Number(t['heldOutUserFraction'] ?? 0.1),
    }));
  const { worldDir: _w, world: _l, loaded: _r, ...evalOptions } = options;
  const evaluation = evaluatePinnerformer(world, run.user, run.item, evalOptions);
  await mkdir(runDir, { recursive: true });
  await writeFile(join(runDir, 'eval.json'), `${JSON.stringify(evaluation)}\n`);
  return evaluation;
}
