import { OBJECTIVES, type Objective } from '../data/examples';
import { NEGATIVE_MODES, type NegativeMode } from './loss';

/** Options of `trainPinnerformer`. Every default is filled in `resolveTrainOptions`. */
export interface TrainOptions {
  /** World directory written by `pinrank simulate`. */
  worldDir: string;
  /** Run directory: checkpoints, learning curves, trained weights. */
  runDir: string;
  /** Objective (default `dense-all-action`). */
  objective?: Objective;
  /** Negative pool (default `mixed`). */
  negatives?: NegativeMode;
  /** logQ correction (default true). */
  logQ?: boolean;
  /** Optimiser steps (default 600). */
  steps?: number;
  /** Sequences per batch (default 32). */
  batchSize?: number;
  /** Targets per sequence for the dense and all-action objectives (default 8). */
  targetsPerSequence?: number;
  /** Random negatives per batch for the random and mixed pools (default 256). */
  randomNegatives?: number;
  /** K in days (default: 28 scaled to the world, min(28, half the training span)). */
  windowDays?: number;
  /** M (default 32). */
  maxLen?: number;
  /** Adam learning rate (default 0.002). */
  learningRate?: number;
  /** Initial temperature τ (default 0.1); learned. */
  initialTemperature?: number;
  /** Seed of the initialisation and of the example sampling (default 1). */
  seed?: number;
  /** Evaluation window length in days; training never targets it (default 14). */
  evalDays?: number;
  /** Share of users held out of training (default 0.1). */
  heldOutUserFraction?: number;
  /** Write a checkpoint every n steps (default 100; the last step always). */
  checkpointEvery?: number;
  /** Learning-curve row every n steps (default 10). */
  logEvery?: number;
  /** Held-out loss every n steps on fixed batches of held-out users' actions before the cutoff (default 0: never). */
  validateEvery?: number;
  /** Batches of the held-out loss (default 8). */
  validationBatches?: number;
  /** Stop when the held-out loss has not improved (by 0.001) for this many validations in a row (default 0: train all `steps`). */
  plateauPatience?: number;
  /** Continue from the run directory's checkpoint (default false). */
  resume?: boolean;
  /** Extra model hyperparameters (hidden, layers, heads, ffnDim, outDim). */
  model?: Record<string, unknown>;
  /** Called after every step. */
  onStep?: (step: number, steps: number, loss: number) => void;
}

/** `TrainOptions` with every default filled. */
export type ResolvedTrainOptions = Required<Omit<TrainOptions, 'onStep' | 'windowDays'>> & Pick<TrainOptions, 'onStep'> & { windowDays?: number };

/** Fills defaults and validates. Thrown by: an unknown objective or pool, or a non-positive count (TypeError). */
export function resolveTrainOptions(o: TrainOptions): ResolvedTrainOptions {
  const r: ResolvedTrainOptions = {
    worldDir: o.worldDir,
    runDir: o.runDir,
    objective: o.objective ?? 'dense-all-action',
    negatives: o.negatives ?? 'mixed',
    logQ: o.logQ ?? true,
    steps: o.steps ?? 600,
    batchSize: o.batchSize ?? 32,
    targetsPerSequence: o.targetsPerSequence ?? 8,
    randomNegatives: o.randomNegatives ?? 256,
    maxLen: o.maxLen ?? 32,
    learningRate: o.learningRate ?? 0.002,
    initialTemperature: o.initialTemperature ?? 0.1,
    seed: o.seed ?? 1,
    evalDays: o.evalDays ?? 14,
    heldOutUserFraction: o.heldOutUserFraction ?? 0.1,
    checkpointEvery: o.checkpointEvery ?? 100,
    logEvery: o.logEvery ?? 10,
    validateEvery: o.validateEvery ?? 0,
    validationBatches: o.validationBatches ?? 8,
    plateauPatience: o.plateauPatience ?? 0,
    resume: o.resume ?? false,
    model: o.model ?? {},
    ...(o.windowDays !== undefined ? { windowDays: o.windowDays } : {}),
    ...(o.onStep ? { onStep: o.onStep } : {}),
  };
  if (!OBJECTIVES.includes(r.objective)) throw new TypeError(`objective must be one of ${OBJECTIVES.join(', ')}, got "${r.objective}"`);
  if (!NEGATIVE_MODES.includes(r.negatives)) throw new TypeError(`negatives must be one of ${NEGATIVE_MODES.join(', ')}, got "${r.negatives}"`);
  for (const key of ['steps', 'batchSize', 'targetsPerSequence', 'maxLen', 'checkpointEvery', 'logEvery'] as const)
    if (!Number.isInteger(r[key]) || r[key] < 1) throw new TypeError(`${key} must be a positive integer, got ${r[key]}`);
  if (!Number.isInteger(r.randomNegatives) || r.randomNegatives < (r.negatives === 'in-batch' ? 0 : 1))
    throw new TypeError(`randomNegatives must be a positive integer for the ${r.negatives} pool, got ${r.randomNegatives}`);
  for (const key of ['validateEvery', 'plateauPatience'] as const)
    if (!Number.isInteger(r[key]) || r[key] < 0) throw new TypeError(`${key} must be an integer >= 0, got ${r[key]}`);
  if (!Number.isInteger(r.validationBatches) || r.validationBatches < 1) throw new TypeError(`validationBatches must be a positive integer, got ${r.validationBatches}`);
  if (r.plateauPatience > 0 && r.validateEvery === 0) throw new TypeError('plateauPatience needs validateEvery > 0 (the plateau is measured on the held-out loss)');
  if (!(r.learningRate > 0)) throw new TypeError(`learningRate must be > 0, got ${r.learningRate}`);
  if (!(r.initialTemperature > 0.01 && r.initialTemperature < 10)) throw new TypeError(`initialTemperature must be in (0.01, 10), got ${r.initialTemperature}`);
  if (r.windowDays !== undefined && !(r.windowDays > 0)) throw new TypeError(`windowDays must be > 0, got ${r.windowDays}`);
  return r;
}

/** Default K: the published 28 days, capped at half the training span so short worlds keep targets. */
export function defaultWindowDays(trainSpanDays: number): number {
  return Math.max(1, Math.min(28, Math.floor(trainSpanDays / 2)));
}
