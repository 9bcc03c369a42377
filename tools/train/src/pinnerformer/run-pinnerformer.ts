import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModelRepositoryEntry, saveWeights, type BuiltModelEntry } from '@pinrank/models';
import { evaluatePinnerformer, type PinnerformerEvalOptions, type PinnerformerEvaluation } from '../eval/pinnerformer-report';
import { type TrainOptions } from './options';
import { trainPinnerformer, type TrainedPinnerformer } from './trainer';

/** Options of `runPinnerformer`: training, then optional evaluation and export. */
export interface RunPinnerformerOptions extends TrainOptions {
  /** Evaluate on held-out users after training (default true). */
  evaluate?: boolean;
  /** Evaluation options. */
  evalOptions?: PinnerformerEvalOptions;
  /** Export into this model repository (`<repo>/pinnerformer/<v>/`, `<repo>/pinnerformer_item/<v>/`). Default none. */
  exportRepository?: string;
  /** Version to export as (default "2"). */
  exportVersion?: string;
  /** Export even when the evaluation did not beat both floors (default false). */
  exportBelowFloors?: boolean;
  /** Replace existing repository entries (default false). */
  overwrite?: boolean;
}

/** What `runPinnerformer` produced. */
export interface RunPinnerformerResult {
  trained: TrainedPinnerformer;
  evaluation?: PinnerformerEvaluation;
  weights: { user: string; item: string };
  exported?: BuiltModelEntry[];
}

/**
 * Trains, evaluates, writes `pinnerformer.prw` / `pinnerformer_item.prw` to the
 * run directory with the provenance (training config, world seed and
 * checksums, metrics), and exports both models through `@pinrank/models` into
 * a model repository. Thrown by: an export requested without an evaluation, or
 * below the floors without `exportBelowFloors` (Error), and what training throws.
 */
export async function runPinnerformer(options: RunPinnerformerOptions): Promise<RunPinnerformerResult> {
  const evaluate = options.evaluate ?? true;
  if (options.exportRepository && !evaluate && !options.exportBelowFloors)
    throw new Error('export needs the evaluation (or exportBelowFloors): an export must show it beats the floors');
  const trained = await trainPinnerformer(options);
  const evaluation = evaluate ? evaluatePinnerformer(trained.world, trained.user, trained.item, options.evalOptions) : undefined;
  const { onStep: _s, ...config } = trained.options;
  const provenance = {
    kind: 'pinrank train pinnerformer',
    training: { ...config, windowDays: trained.windowDays, finalTemperature: trained.temperature },
    data: { seed: trained.world.manifest.seed, counts: trained.world.manifest.counts, checksums: trained.world.manifest.checksums },
    finalLoss: trained.curve.at(-1)?.loss ?? null,
    run: runSummary(trained),
    metrics: evaluation ? summarise(evaluation) : null,
  };
  const weights = { user: join(options.runDir, 'pinnerformer.prw'), item: join(options.runDir, 'pinnerformer_item.prw') };
  await saveWeights(weights.user, trained.user.spec.name, trained.user.spec.hyperparams, trained.user.store, provenance);
  await saveWeights(weights.item, trained.item.spec.name, trained.item.spec.hyperparams, trained.item.store, provenance);
  await writeFile(join(options.runDir, 'run.json'), `${JSON.stringify(runSummary(trained), null, 2)}\n`);
  if (evaluation) await writeFile(join(options.runDir, 'eval.json'), `${JSON.stringify(evaluation)}\n`);

  let exported: BuiltModelEntry[] | undefined;
  if (options.exportRepository) {
    if (evaluation && !evaluation.beatsFloors && !options.exportBelowFloors)
      throw new Error(
        `not exported: Recall@${evaluation.options.k} ${evaluation.model.realtime.recallAtK.toFixed(4)} does not beat both floors ` +
          `(popularity ${evaluation.popularity.recallAtK.toFixed(4)}, mean content ${evaluation.meanContent.realtime.recallAtK.toFixed(4)})`,
      );
    const version = options.exportVersion ?? '2';
    exported = [];
    for (const [name, path] of [['pinnerformer', weights.user], ['pinnerformer_item', weights.item]] as const)
      exported.push(
        await buildModelRepositoryEntry({ repositoryDir: options.exportRepository, name, version, weightsPath: path, overwrite: options.overwrite ?? false }),
      );
  }
  return { trained, ...(evaluation ? { evaluation } : {}), weights, ...(exported ? { exported } : {}) };
}

/** What a run's supervision and stopping were (`run.json`): the figures that make objectives comparable. */
export interface RunSummary {
  objective: string;
  seed: number;
  batchSize: number;
  targetsPerSequence: number;
  /** The step cap. */
  steps: number;
  finalStep: number;
  stopReason: 'steps' | 'plateau';
  meanTargetsPerBatch: number;
  /** Sequences (examples) seen: finalStep × batch. */
  examplesSeen: number;
  /** Targets seen, estimated as finalStep × mean targets per batch. */
  targetsSeen: number;
  bestValidation: { step: number; loss: number } | null;
  trainSeconds: number | null;
}

/** The run summary of a trained model. */
export function runSummary(t: TrainedPinnerformer): RunSummary {
  return {
    objective: t.options.objective,
    seed: t.options.seed,
    batchSize: t.options.batchSize,
    targetsPerSequence: t.options.targetsPerSequence,
    steps: t.options.steps,
    finalStep: t.finalStep,
    stopReason: t.stopReason,
    meanTargetsPerBatch: t.meanTargetsPerBatch,
    examplesSeen: t.finalStep * t.options.batchSize,
    targetsSeen: Math.round(t.finalStep * t.meanTargetsPerBatch),
    bestValidation: t.bestValidation,
    trainSeconds: t.curve.at(-1)?.elapsedS ?? null,
  };
}

/** The headline figures of an evaluation (what goes into the weights' provenance and the manifest). */
export function summarise(e: PinnerformerEvaluation): Record<string, number | boolean> {
  return {
    [`recall@${e.options.k}`]: e.model.realtime.recallAtK,
    [`recall@${e.options.k}_daily`]: e.model.daily.recallAtK,
    dailyDrop: e.dailyDrop,
    [`p90coverage@${e.options.k}`]: e.model.realtime.p90CoverageAtK,
    [`popularity_recall@${e.options.k}`]: e.popularity.recallAtK,
    [`mean_content_recall@${e.options.k}`]: e.meanContent.realtime.recallAtK,
    beatsFloors: e.beatsFloors,
    [`recall@${e.options.k}_cutoff`]: e.model.cutoff.recallAtK,
    [`recall@${e.options.k}_cutoff_se`]: e.model.cutoff.stdError,
    [`mean_content_recall@${e.options.k}_cutoff`]: e.meanContent.cutoff.recallAtK,
    beatsFloorsCutoff: e.beatsFloorsCutoff,
    cutoffUsers: e.model.cutoff.users,
    evalUsers: e.model.realtime.users,
    indexSize: e.model.realtime.indexSize,
  };
}
