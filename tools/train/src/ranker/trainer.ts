import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SeededRandom, WeightStore, deriveSeed, type ModelSpec } from '@pinrank/models';
import { buildRankerBatch } from './batch';
import { loadRankerCheckpoint, saveRankerCheckpoint } from './checkpoint';
import { targetsAndWeights, weightedBce } from './loss';
import { type RankerTrainOptions, type ResolvedRankerOptions, resolveRankerOptions } from './options';
import { PfSnapshots } from './pf-snapshots';
import { type RankRequest, type RankerData, loadRankerData } from './ranker-data';
import { disposeRankerModel, rankerForward, rankerModel, rankerSpecs } from './ranker-model';
import { drawTimeWindow } from './time-window';

/** A trained (or resumed) ranker variant and what produced it. */
export interface TrainedRanker {
  options: ResolvedRankerOptions;
  data: RankerData;
  pf: PfSnapshots;
  encoder?: { spec: ModelSpec; store: WeightStore };
  heads: { spec: ModelSpec; store: WeightStore };
  /** Loss after every step run by this call. */
  losses: number[];
  stepsRun: number;
  trainSeconds: number;
}

function resumeKey(o: ResolvedRankerOptions): Record<string, unknown> {
  const { onStep: _s, resume: _r, runDir: _d, worldDir: _w, snapshotsDir: _p, checkpointEvery: _c, steps: _n, ...rest } = o;
  return rest;
}

/** Loads the world and the snapshots a run needs (shared by training and evaluation). */
export async function loadRankerInputs(o: ResolvedRankerOptions): Promise<{ data: RankerData; pf: PfSnapshots }> {
  const data = await loadRankerData(o.worldDir, o);
  const pf = await PfSnapshots.load(o.snapshotsDir, data.manifest.counts.users, data.manifest.counts.items);
  return { data, pf };
}

/**
 * Trains transact_encoder and ranking_heads jointly (or ranking_heads_lite
 * alone) with the weighted multi-task BCE. Batch n depends only on the seed
 * and n (requests, time window), so a resumed run continues the same run
 * (with dropout 0, the default). Call after `initTraining()` and
 * `initTfBackend('wasm')`. Thrown by: invalid options (TypeError), a world
 * without training requests (RangeError), a checkpoint of other options
 * (Error), a non-finite loss (Error).
 */
export async function trainRanker(input: RankerTrainOptions, loaded?: { data: RankerData; pf: PfSnapshots }): Promise<TrainedRanker> {
  const o = resolveRankerOptions(input);
  await mkdir(o.runDir, { recursive: true });
  const { data, pf } = loaded ?? (await loadRankerInputs(o));
  const train = data.requests.filter((r) => r.part === 'train');
  if (train.length === 0) throw new RangeError('the world has no training requests');
  const specs = rankerSpecs(o);
  let encoderStore = specs.encoder ? WeightStore.seeded(o.seed) : undefined;
  let headsStore = WeightStore.seeded(o.seed);
  let start = 0;
  let optimizerState: Awaited<ReturnType<typeof loadRankerCheckpoint>>['optimizer'] = [];
  const key = resumeKey(o);
  if (o.resume) {
    const cp = await loadRankerCheckpoint(o.runDir, specs.encoder !== undefined);
    if (JSON.stringify(cp.state.config) !== JSON.stringify(key))
      throw new Error(`the checkpoint in ${o.runDir} was written with other options: ${JSON.stringify(cp.state.config)}`);
    encoderStore = cp.encoder;
    headsStore = cp.heads;
    start = cp.state.step;
    optimizerState = cp.optimizer;
  }
  const model = rankerModel(specs, { ...(encoderStore ? { encoder: encoderStore } : {}), heads: headsStore }, o.variant.compression, true);
  const optimizer = tf.train.adam(o.learningRate);
  const losses: number[] = [];
  const sample = (step: number): { requests: RankRequest[]; windowS: number } => {
    const rng = new SeededRandom(deriveSeed(o.seed, `ranker-batch:${step}`));
    const requests = Array.from({ length: o.requestsPerBatch }, () => train[rng.int(train.length)] as RankRequest);
    const windowS = o.variant.timeWindowMask && specs.encoder ? drawTimeWindow(rng, o.timeWindowProb, o.timeWindowMaxS) : 0;
    return { requests, windowS };
  };
  const lossOf = (step: number): tf.Scalar => {
    const { requests, windowS } = sample(step);
    const batch = buildRankerBatch(data, pf, requests, { timeWindowS: windowS, dropPinnerformer: !o.variant.pinnerformer });
    const { targets, weights } = targetsAndWeights(batch.outcomes, o.labelWeights);
    const probs = rankerForward(tf, model, batch);
    const H = probs.shape[1] as number;
    return weightedBce(tf, probs, tf.tensor2d(targets, [batch.n, H]), tf.tensor2d(weights, [batch.n, H]));
  };
  const started = Date.now();
  try {
    // One forward pass creates every variable, so the optimiser sees them all from the first step.
    tf.tidy(() => lossOf(start));
    const varList = [...(model.encoder?.ops.parameters().values() ?? []), ...model.heads.ops.parameters().values()] as tf.Variable[];
    if (optimizerState.length > 0)
      await optimizer.setWeights(optimizerState.map((w) => ({ name: w.name, tensor: tf.tensor(w.data, w.shape) })));
    if (start === 0) await writeFile(join(o.runDir, 'curve.csv'), 'step,loss,elapsed_s\n');
    for (let step = start; step < o.steps; step++) {
      const loss = optimizer.minimize(() => lossOf(step), true, varList);
      const value = (await loss!.data())[0] as number;
      loss!.dispose();
      if (!Number.isFinite(value)) throw new Error(`loss became ${value} at step ${step + 1}`);
      losses.push(value);
      const done = step + 1;
      await appendFile(join(o.runDir, 'curve.csv'), `${done},${value},${((Date.now() - started) / 1000).toFixed(1)}\n`);
      o.onStep?.(done, o.steps, value);
      if (done % o.checkpointEvery === 0 || done === o.steps) {
        await model.encoder?.ops.writeBack();
        await model.heads.ops.writeBack();
        await saveRankerCheckpoint(o.runDir, { step: done, config: key }, model, await optimizer.getWeights());
      }
    }
    await model.encoder?.ops.writeBack();
    await model.heads.ops.writeBack();
    return {
      options: o,
      data,
      pf,
      ...(model.encoder ? { encoder: { spec: model.encoder.spec, store: model.encoder.store } } : {}),
      heads: { spec: model.heads.spec, store: model.heads.store },
      losses,
      stepsRun: Math.max(0, o.steps - start),
      trainSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    optimizer.dispose();
    disposeRankerModel(model);
  }
}
