import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { WeightStore, decodeWeights, encodeWeights } from '@pinrank/models';

const DIR = 'checkpoint';

/** Optimiser variables in the optimiser's own order, with their true shapes (scalars have shape []). */
export type OptimizerSlots = Array<{ name: string; shape: number[]; data: Float32Array }>;

/**
 * Writes `<runDir>/checkpoint/` — the given weight files, the optimiser's
 * slots in order and `state.json` — beside the old one and renames it into
 * place, so an interrupted write never leaves a half checkpoint. Shared by
 * every trainer.
 */
export async function writeCheckpointDir(
  runDir: string,
  weightFiles: ReadonlyArray<readonly [file: string, bytes: Uint8Array]>,
  optimizerWeights: ReadonlyArray<{ name: string; tensor: TF.Tensor }>,
  state: unknown,
): Promise<void> {
  const staging = join(runDir, `.${DIR}.staging`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  for (const [file, bytes] of weightFiles) await writeFile(join(staging, file), bytes);
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

/** Reads `state.json`, the named weight files and the optimiser slots of `<runDir>/checkpoint/`. Thrown by: a missing or corrupt checkpoint. */
export async function readCheckpointDir<S>(
  runDir: string,
  weightFiles: readonly string[],
): Promise<{ state: S; weights: Map<string, WeightStore>; optimizer: OptimizerSlots }> {
  const dir = join(runDir, DIR);
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as S;
  const weights = new Map<string, WeightStore>();
  for (const file of weightFiles) weights.set(file, new WeightStore(decodeWeights(await readFile(join(dir, file)), file).tensors));
  const opt = decodeWeights(await readFile(join(dir, 'optimizer.prw')), 'optimizer.prw');
  const order = (opt.header.source['order'] ?? []) as string[];
  const shapes = (opt.header.source['shapes'] ?? []) as number[][];
  const byName = new Map(opt.tensors);
  const optimizer = order.map((name, i) => {
    const t = byName.get(name);
    if (!t) throw new Error(`checkpoint optimizer state lacks "${name}"`);
    return { name, shape: shapes[i] ?? t.shape, data: t.data };
  });
  return { state, weights, optimizer };
}
