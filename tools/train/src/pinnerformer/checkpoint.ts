import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { WeightStore, decodeWeights, encodeWeights } from '@pinrank/models';

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
  /** Optimiser variables in the optimiser's own order, with their true shapes (scalars have shape []). */
  optimizer: Array<{ name: string; shape: number[]; data: Float32Array }>;
}

const DIR = 'checkpoint';

/**
 * Writes `<runDir>/checkpoint/` (user and item weights, the optimiser's slots
 * in order, the state) beside the old one and renames it into place, so an
 * interrupted write never leaves a half checkpoint.
 */
export async function saveCheckpoint(
  runDir: string,
  state: CheckpointState,
  user: { name: string; hyperparams: Record<string, unknown>; store: WeightStore },
  item: { name: string; hyperparams: Record<string, unknown>; store: WeightStore },
  optimizerWeights: Array<{ name: string; tensor: TF.Tensor }>,
): Promise<void> {
  const staging = join(runDir, `.${DIR}.staging`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, 'user.prw'), encodeWeights(user.name, user.hyperparams, user.store));
  await writeFile(join(staging, 'item.prw'), encodeWeights(item.name, item.hyperparams, item.store));
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

/** Reads `<runDir>/checkpoint/`. Thrown by: a missing or corrupt checkpoint. */
export async function loadCheckpoint(runDir: string): Promise<Checkpoint> {
  const dir = join(runDir, DIR);
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as CheckpointState;
  const user = decodeWeights(await readFile(join(dir, 'user.prw')), 'user.prw');
  const item = decodeWeights(await readFile(join(dir, 'item.prw')), 'item.prw');
  const opt = decodeWeights(await readFile(join(dir, 'optimizer.prw')), 'optimizer.prw');
  const order = (opt.header.source['order'] ?? []) as string[];
  const shapes = (opt.header.source['shapes'] ?? []) as number[][];
  const byName = new Map(opt.tensors);
  const optimizer = order.map((name, i) => {
    const t = byName.get(name);
    if (!t) throw new Error(`checkpoint optimizer state lacks "${name}"`);
    return { name, shape: shapes[i] ?? t.shape, data: t.data };
  });
  return { state, user: new WeightStore(user.tensors), item: new WeightStore(item.tensors), optimizer };
}
