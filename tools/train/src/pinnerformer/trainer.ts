import { mkdir } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import {
  SeededRandom,
  TfOps,
  WeightStore,
  deriveSeed,
  feedToTf,
  pinnerformer,
  pinnerformerFeeds,
  pinnerformerItem,
  pinnerformerSequence,
  type ModelSpec,
  type PinnerformerHyperparams,
} from '@pinrank/models';
import { ExampleSource, type ExampleBatch } from '../data/examples';
import { loadTrainingWorld, type TrainingWorld } from '../data/world-data';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { LearningCurve, type CurveRow } from './learning-curve';
import { buildLogitBias, inverseTemperature, sampledSoftmaxLoss, temperatureParameter } from './loss';
import { type ResolvedTrainOptions, type TrainOptions, defaultWindowDays, resolveTrainOptions } from './options';

const DAY_MS = 86_400_000;
/** The held-out loss must fall by more than this to count as an improvement. */
const PLATEAU_MIN_DELTA = 0.001;

/** A trained (or resumed) PinnerFormer pair and what produced it. */
export interface TrainedPinnerformer {
  options: ResolvedTrainOptions;
  /** K actually used (days). */
  windowDays: number;
  world: TrainingWorld;
  user: { spec: ModelSpec; store: WeightStore };
  item: { spec: ModelSpec; store: WeightStore };
  temperature: number;
  curve: CurveRow[];
  /** Steps run by this call (0 when the checkpoint was already complete). */
  stepsRun: number;
  /** The last step trained (the step count of the weights). */
  finalStep: number;
  /** Why training ended: all `steps` ran, or the held-out loss reached a plateau. */
  stopReason: 'steps' | 'plateau';
  /** Mean targets per batch over the steps this call ran (the supervision each step gets). */
  meanTargetsPerBatch: number;
  /** Lowest held-out loss and its step (null without validation). */
  bestValidation: { step: number; loss: number } | null;
}

/** The subset of the resolved options that must match to resume. */
function resumeKey(o: ResolvedTrainOptions, windowDays: number): Record<string, unknown> {
  const {
    onStep: _s,
    resume: _r,
    runDir: _d,
    worldDir: _w,
    checkpointEvery: _c,
    logEvery: _l,
    steps: _n,
    validateEvery: _v,
    validationBatches: _vb,
    plateauPatience: _p,
    ...rest
  } = o;
  return { ...rest, windowDays };
}

/**
 * Trains the PinnerFormer user encoder and item tower with the sampled-softmax
 * loss of the chosen objective and negative pool. Seeded and deterministic
 * (batch n depends only on the seed and n, dropout is off), so resuming from a
 * checkpoint continues the exact same run. Call after `initTraining()` and
 * `initTfBackend('wasm')`. Thrown by: invalid options (TypeError), a world
 * without trainable users (RangeError), a checkpoint of a different
 * configuration (Error).
 */
export async function trainPinnerformer(input: TrainOptions, loaded?: TrainingWorld): Promise<TrainedPinnerformer> {
  const o = resolveTrainOptions(input);
  await mkdir(o.runDir, { recursive: true });
  const world = loaded ?? (await loadTrainingWorld(o.worldDir, { evalDays: o.evalDays, heldOutUserFraction: o.heldOutUserFraction }));
  const trainSpanDays = (world.splits.cutoffMs - world.manifest.startMs) / DAY_MS;
  const windowDays = o.windowDays ?? defaultWindowDays(trainSpanDays);
  const userSpec = pinnerformer({ maxLen: o.maxLen, dContent: world.dimension, dropout: 0, ...o.model });
  const hp = userSpec.hyperparams as PinnerformerHyperparams;
  const itemSpec = pinnerformerItem({ dContent: world.dimension, outDim: hp.outDim });
  const exampleOptions = { objective: o.objective, maxLen: o.maxLen, batchSize: o.batchSize, targetsPerSequence: o.targetsPerSequence, windowDays };
  const source = new ExampleSource(world, exampleOptions);
  // Fixed held-out batches (seeded independently of the training seed, so every run is validated on the same data).
  const validation =
    o.validateEvery > 0
      ? ((held: ExampleSource) =>
          Array.from({ length: o.validationBatches }, (_, i) => {
            const seed = deriveSeed(0, `validation:${i}`);
            return { batch: held.sample(new SeededRandom(seed)), seed };
          }))(new ExampleSource(world, { ...exampleOptions, users: 'held-out' }))
      : [];

  let userStore = WeightStore.seeded(o.seed);
  let itemStore = WeightStore.seeded(o.seed);
  let start = 0;
  let tauParam = temperatureParameter(o.initialTemperature);
  let optimizerState: Awaited<ReturnType<typeof loadCheckpoint>>['optimizer'] = [];
  const key = resumeKey(o, windowDays);
  if (o.resume) {
    const cp = await loadCheckpoint(o.runDir);
    if (JSON.stringify(cp.state.config) !== JSON.stringify(key))
      throw new Error(`the checkpoint in ${o.runDir} was written with other options: ${JSON.stringify(cp.state.config)}`);
    ({ user: userStore, item: itemStore } = cp);
    start = cp.state.step;
    tauParam = cp.state.temperatureParameter;
    optimizerState = cp.optimizer;
  }
  const curve = await LearningCurve.open(o.runDir, start);

  const userOps = new TfOps(userStore, { trainable: true, training: true });
  const itemOps = new TfOps(itemStore, { trainable: true, training: true });
  const tau = tf.variable(tf.scalar(tauParam), true, `pf_inverse_temperature_${process.pid}_${Date.now()}`);
  const optimizer = tf.train.adam(o.learningRate);
  const numItems = world.manifest.counts.items;
  const itemProbability = (item: number): number => Math.max(world.itemCounts[item] ?? 0, 0.5) / world.totalPositives;
  try {
    // One forward pass creates every variable, so the optimiser sees them all from the first step.
    tf.tidy(() => lossOf(source.sample(new SeededRandom(o.seed)), new SeededRandom(o.seed)));
    const varList = [...userOps.parameters().values(), ...itemOps.parameters().values(), tau] as tf.Variable[];
    if (optimizerState.length > 0)
      await optimizer.setWeights(optimizerState.map((w) => ({ name: w.name, tensor: tf.tensor(w.data, w.shape) })));

    const started = Date.now();
    let finalStep = start;
    let stopReason: TrainedPinnerformer['stopReason'] = 'steps';
    let targetSum = 0;
    let best: { step: number; loss: number } | null = null;
    let sinceBest = 0;
    for (let step = start; step < o.steps; step++) {
      const rng = new SeededRandom(deriveSeed(o.seed, `batch:${step}`));
      const batch = source.sample(rng);
      targetSum += batch.targets.length;
      const loss = optimizer.minimize(() => lossOf(batch, rng), true, varList);
      const value = (await loss!.data())[0] as number;
      loss!.dispose();
      if (!Number.isFinite(value)) throw new Error(`loss became ${value} at step ${step + 1}`);
      const done = step + 1;
      finalStep = done;
      o.onStep?.(done, o.steps, value);
      let validationLoss: number | undefined;
      if (validation.length > 0 && done % o.validateEvery === 0) {
        validationLoss = validationLossOf();
        if (!best || validationLoss < best.loss - PLATEAU_MIN_DELTA) {
          best = { step: done, loss: validationLoss };
          sinceBest = 0;
        } else sinceBest++;
      }
      const plateau = o.plateauPatience > 0 && sinceBest >= o.plateauPatience;
      const last = done === o.steps || plateau;
      if (done % o.logEvery === 0 || last || validationLoss !== undefined) {
        const t = 1 / ((await inverseTemperature(tf, tau).data())[0] as number);
        await curve.append({
          step: done,
          loss: value,
          temperature: t,
          elapsedS: (Date.now() - started) / 1000,
          targets: batch.targets.length,
          ...(validationLoss !== undefined ? { validationLoss } : {}),
        });
      }
      if (done % o.checkpointEvery === 0 || last) {
        await userOps.writeBack();
        await itemOps.writeBack();
        await saveCheckpoint(
          o.runDir,
          { step: done, temperatureParameter: (await tau.data())[0] as number, config: key },
          { name: userSpec.name, hyperparams: userSpec.hyperparams, store: userStore },
          { name: itemSpec.name, hyperparams: itemSpec.hyperparams, store: itemStore },
          await optimizer.getWeights(),
        );
      }
      if (plateau) {
        stopReason = 'plateau';
        break;
      }
    }
    await userOps.writeBack();
    await itemOps.writeBack();
    const temperature = 1 / ((await inverseTemperature(tf, tau).data())[0] as number);
    return {
      options: o,
      windowDays,
      world,
      user: { spec: userSpec, store: userStore },
      item: { spec: itemSpec, store: itemStore },
      temperature,
      curve: curve.rows,
      stepsRun: Math.max(0, finalStep - start),
      finalStep,
      stopReason,
      meanTargetsPerBatch: finalStep > start ? targetSum / (finalStep - start) : NaN,
      bestValidation: best,
    };
  } finally {
    optimizer.dispose();
    tau.dispose();
    userOps.dispose();
    itemOps.dispose();
  }

  /** Mean loss over the fixed held-out batches (no gradient; each batch draws the same random negatives every time). */
  function validationLossOf(): number {
    let sum = 0;
    for (const v of validation) {
      const l = tf.tidy(() => lossOf(v.batch, new SeededRandom(v.seed)));
      sum += l.dataSync()[0] as number;
      l.dispose();
    }
    return sum / validation.length;
  }

  function lossOf(batch: ExampleBatch, rng: SeededRandom): tf.Scalar {
    const B = batch.sequences.length;
    const M = o.maxLen;
    const T = batch.targets.length;
    const R = o.negatives === 'in-batch' ? 0 : o.randomNegatives;
    const randomItems = Array.from({ length: R }, () => rng.int(numItems));
    const feeds = pinnerformerFeeds(batch.sequences);
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, feedToTf(v)]));
    const all = pinnerformerSequence(userOps, inputs, hp); // [B, M, D]
    // Selecting target positions as a one-hot product keeps a cheap gradient on wasm.
    const select = new Float32Array(T * B * M);
    batch.targets.forEach((t, i) => (select[i * B * M + t.row * M + t.position] = 1));
    const users = tf.matMul(tf.tensor2d(select, [T, B * M]), tf.reshape(all, [B * M, hp.outDim]));
    const D = world.dimension;
    const candidateVectors = new Float32Array((T + R) * D);
    const items = [...batch.targets.map((t) => t.itemIndex), ...randomItems];
    items.forEach((item, i) => candidateVectors.set(world.content.subarray(item * D, (item + 1) * D), i * D));
    const candidates = itemSpec.forward(itemOps, { item_vectors: tf.tensor2d(candidateVectors, [T + R, D]) })['item_embedding']!;
    const bias = buildLogitBias({
      targetItems: batch.targets.map((t) => t.itemIndex),
      targetRows: batch.targets.map((t) => t.row),
      randomItems,
      ownPositives: batch.ownPositives,
      negatives: o.negatives,
      logQ: o.logQ,
      itemProbability,
      numItems,
    });
    return sampledSoftmaxLoss(tf, users, candidates, inverseTemperature(tf, tau), tf.tensor2d(bias, [T, T + R]));
  }
}
