import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { WeightStore, decodeWeights, encodeWeights, type ModelSpec } from '@pinrank/models';

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
  optimizer: Array<{ name: string; shape: number[]; data: Float32Array }>;
}

const DIR = 'checkpoint';

/** Writes `<runDir>/checkpoint/` beside the old one and renames it into place (never half-written). */
export async function saveRankerCheckpoint(
  runDir: string,
  state: RankerCheckpointState,
  models: { encoder?: { spec: ModelSpec; store: WeightStore }; heads: { spec: ModelSpec; store: WeightStore } },
  optimizerWeights: Awaited<ReturnType<TF.Optimizer['getWeights']>>,
): Promise<void> {
  const staging = join(runDir, `.${DIR}.staging`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  if (models.encoder) await writeFile(join(staging, 'encoder.prw'), encodeWeights(models.encoder.spec.name, models.encoder.spec.hyperparams, models.encoder.store));
  await writeFile(join(staging, 'heads.prw'), encodeWeights(models.heads.spec.name, models.heads.spec.hyperparams, models.heads.store));
  const slots = new WeightStore();
  const order: string[] = [];
  const shapes: number[][] = [];
  for (const w of optimizerWeights) {
    order.push(w.name);
    shapes.push([...w.tensor.shape]);
    slots.set(w.name, { shape: w.tensor.shape.length ? [...w.tensor.shape] : [1], data: Float32Array.from(await w.tensor.data()) });
  }
  await writeFile(join(staging, 'optimizer.prw'), encodeWeights('adam', {}, slots, { order, shapes }));
  await writeFile(join(staging, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  const dir = join(runDir, DIR);
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
}

/** Reads `<runDir>/checkpoint/`. Thrown by: a missing or corrupt checkpoint (Error). */
export async function loadRankerCheckpoint(runDir: string, withEncoder: boolean): Promise<RankerCheckpoint> {
  const dir = join(runDir, DIR);
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as RankerCheckpointState;
  const heads = new WeightStore(decodeWeights(await readFile(join(dir, 'heads.prw')), 'heads.prw').tensors);
  const encoder = withEncoder ? new WeightStore(decodeWeights(await readFile(join(dir, 'encoder.prw')), 'encoder.prw').tensors) : undefined;
  const opt = decodeWeights(await readFile(join(dir, 'optimizer.prw')), 'optimizer.prw');
  const order = (opt.header.source['order'] ?? []) as string[];
  const shapes = (opt.header.source['shapes'] ?? []) as number[][];
  const byName = new Map(opt.tensors);
  const optimizer = order.map((name, i) => {
    const t = byName.get(name);
    if (!t) throw new Error(`checkpoint optimizer state lacks "${name}"`);
    return { name, shape: shapes[i] ?? t.shape, data: t.data };
  });
  return { state, heads, ...(encoder ? { encoder } : {}), optimizer };
}
