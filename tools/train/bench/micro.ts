import * as tf from '@tensorflow/tfjs';
import { logSumExp } from '../src/wasm-kernels/log-sum-exp';
import { registerFastWasmKernels, unregisterFastWasmKernels } from '../src/wasm-kernels/register';
import { randomValues } from '../src/testing/reference';
import { row, timeMs } from './timing';

interface MicroCase {
  name: string;
  /** The computation with stock kernels, or null where stock wasm cannot run it. */
  stock: (() => tf.TensorContainer) | null;
  fast: () => tf.TensorContainer;
}

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

function layerNorm(v: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(v, -1, true);
  return tf.div(tf.sub(v, mean), tf.sqrt(tf.add(variance, 1e-5)));
}

function cases(batch: number, seqLen: number): { cases: MicroCase[]; inputs: tf.Tensor[] } {
  const rows = batch * seqLen;
  const x = rand([rows, 96], 1);
  const g = rand([rows, 288], 2);
  const w = rand([96, 288], 3);
  const q = rand([batch, 2, seqLen, 48], 4);
  const p = rand([batch, 2, seqLen, seqLen], 5);
  const h = rand([batch, seqLen, 96], 6);
  const cand = rand([batch, 1, 32], 7);
  const logits = rand([batch, 4096], 8);
  const table = rand([4000, 32], 9);
  const ids = tf.tensor1d(Int32Array.from(randomValues(rows, 10), (v) => Math.floor((v + 1) * 1999)), 'int32');
  const same = (f: () => tf.TensorContainer): { stock: () => tf.TensorContainer; fast: () => tf.TensorContainer } => ({ stock: f, fast: f });
  const list: MicroCase[] = [
    { name: `matMul [${rows}x96]·[96x288] (XNNPACK both)`, ...same(() => tf.matMul(x, w)) },
    { name: `matMul xᵀ·g (weight grad)`, ...same(() => tf.matMul(x, g, true, false)) },
    { name: `matMul g·wᵀ (input grad)`, ...same(() => tf.matMul(g, w, false, true)) },
    { name: `batched q·kᵀ [${batch}x2x${seqLen}x48]`, ...same(() => tf.matMul(q, q, false, true)) },
    { name: `batched p·v`, ...same(() => tf.matMul(p, q)) },
    { name: `transpose [${rows}x96]`, ...same(() => tf.transpose(x)) },
    { name: `transpose heads [${batch}x${seqLen}x2x48] → [${batch}x2x${seqLen}x48]`, ...same(() => tf.transpose(q.reshape([batch, seqLen, 2, 48]), [0, 2, 1, 3])) },
    { name: `slice first 10 rows of [${batch}x${seqLen}x96]`, ...same(() => tf.slice(h, [0, 0, 0], [batch, 10, 96])) },
    { name: `split [${rows}x288] in 3`, ...same(() => tf.split(g, 3, -1)) },
    { name: `unstack [${batch}x${seqLen}x96] on axis 1`, ...same(() => tf.unstack(h, 1)) },
    { name: `tile [${batch}x1x32] → x${seqLen}`, ...same(() => tf.tile(cand, [1, seqLen, 1])) },
    { name: `grad of tile`, ...same(() => tf.grad((c: tf.Tensor) => tf.sum(tf.mul(tf.tile(c, [1, seqLen, 1]), 1.5)))(cand)) },
    { name: `grad of max over sequence`, ...same(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.max(v, 1), 1.5)))(h)) },
    { name: `grad of sum over features`, ...same(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.sum(v, -1), 1.5)))(h)) },
    {
      name: `grad of logSumExp [${batch}x4096]`,
      stock: () => tf.grad((v: tf.Tensor) => tf.sum(tf.logSumExp(v, -1)))(logits),
      fast: () => tf.grad((v: tf.Tensor) => tf.sum(logSumExp(v, -1)))(logits),
    },
    { name: `gather [${rows}] rows of [4000x32]`, ...same(() => tf.gather(table, ids)) },
    { name: `clone [${batch}x${seqLen}x96] (saved for backward)`, ...same(() => tf.clone(h)) },
    { name: `grad of LayerNorm over [${batch}x${seqLen}x96]`, ...same(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(layerNorm(v), 1.5)))(h)) },
    { name: `grad of gather [${rows}] rows of [4000x32]`, stock: null, fast: () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), 1.5)))(table) },
  ];
  return { cases: list, inputs: [x, g, w, q, p, h, cand, logits, table, ids] };
}

/**
 * Prints stock vs fast milliseconds per kernel at the block's shapes; stops early once `outOfTime()`
 * says so. Leaves the fast kernels registered.
 */
export function runMicroTable(batch: number, seqLen: number, outOfTime: () => boolean): void {
  const { cases: list, inputs } = cases(batch, seqLen);
  const widths = [48, 10, 10, 9, 10, 10];
  console.log(row(['kernel (CPU ms per call; wall ms in the last columns)', 'stock', 'fast', 'speed-up', 'stock wall', 'fast wall'], widths));
  for (const c of list) {
    if (outOfTime()) {
      console.log(`(time budget reached: ${list.length - list.indexOf(c)} rows skipped)`);
      break;
    }
    unregisterFastWasmKernels();
    const stock = c.stock == null ? null : timeMs(c.stock, 250);
    registerFastWasmKernels();
    const fast = timeMs(c.fast, 250);
    const ratio = stock == null ? 'n/a' : `${(stock.cpuMs / fast.cpuMs).toFixed(1)}x`;
    console.log(row([c.name, stock?.cpuMs ?? 'no kernel', fast.cpuMs, ratio, stock?.wallMs ?? '-', fast.wallMs], widths));
  }
  tf.dispose(inputs);
}
