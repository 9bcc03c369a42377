import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '@pinrank/models';
import { initTraining } from '../init-training';
import { registerFastWasmKernels, unregisterFastWasmKernels } from '../wasm-kernels/register';

/** What a test computes: one or several tensors, built from scratch inside the callback. */
export type Computation = () => tf.Tensor | tf.Tensor[];

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32), so failures reproduce. */
export function randomValues(count: number, seed: number): Float32Array {
  const random = new SeededRandom(seed);
  return Float32Array.from({ length: count }, () => random.uniform(-1, 1));
}

/** A float32 tensor of the given shape filled by `randomValues`. */
export function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape, 'float32');
}

function run(f: Computation): { shape: number[]; values: Float32Array }[] {
  const result = tf.tidy(f);
  const list = Array.isArray(result) ? result : [result];
  const read = list.map((t) => ({ shape: t.shape.slice(), values: Float32Array.from(t.dataSync()) }));
  tf.dispose(list);
  return read;
}

/** Starts the wasm backend once per test file with the fast kernels registered. */
export async function setUpWasm(): Promise<void> {
  // Silences the "install tfjs-node" banner the cpu reference backend prints under Node.
  tf.env().set('IS_TEST', true);
  await initTraining({ fastKernels: true });
}

/** Runs `f` on the tfjs cpu backend with the stock kernels and gradients (the reference). */
export async function onReference(f: Computation): Promise<{ shape: number[]; values: Float32Array }[]> {
  unregisterFastWasmKernels();
  try {
    await tf.setBackend('cpu');
    return run(f);
  } finally {
    registerFastWasmKernels();
  }
}

/** Runs `f` on the wasm backend with the fast kernels and gradients registered. */
export async function onFastWasm(f: Computation): Promise<{ shape: number[]; values: Float32Array }[]> {
  await tf.setBackend('wasm');
  registerFastWasmKernels();
  return run(f);
}

/** max |a − b| / max(max |b|, 1e-30): the error relative to the reference tensor's scale. */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] ?? 0;
    const a = actual[i] ?? 0;
    if (Number.isNaN(a) !== Number.isNaN(e)) return Number.POSITIVE_INFINITY;
    diff = Math.max(diff, Math.abs(a - e));
    scale = Math.max(scale, Math.abs(e));
  }
  return diff / scale;
}

/**
 * Computes `f` on the reference and on fast wasm and returns the worst relative error over all
 * outputs (Infinity when shapes or counts differ).
 */
export async function compareWithReference(f: Computation): Promise<number> {
  const expected = await onReference(f);
  const actual = await onFastWasm(f);
  if (expected.length !== actual.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  expected.forEach((e, i) => {
    const a = actual[i];
    if (a == null || a.shape.join(',') !== e.shape.join(',')) worst = Number.POSITIVE_INFINITY;
    else worst = Math.max(worst, relativeError(a.values, e.values));
  });
  return worst;
}

/** The relative tolerance every fast kernel must meet against the reference. */
export const TOLERANCE = 1e-5;
