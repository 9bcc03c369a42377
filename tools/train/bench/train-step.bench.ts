// One training step (forward + backward + Adam) of a TransAct-sized block on tfjs-wasm, stock kernels
// vs the fast kernels, in one process; then a per-kernel table. Run:
//   npx tsx tools/train/bench/train-step.bench.ts [--batch 128] [--steps 3] [--no-micro] [--fast-only] [--smoke]
import * as tf from '@tensorflow/tfjs';
import { initTraining } from '../src/init-training';
import { logSumExp } from '../src/wasm-kernels/log-sum-exp';
import { asWasmBackend } from '../src/wasm-kernels/wasm-backend';
import { registerFastWasmKernels, unregisterFastWasmKernels } from '../src/wasm-kernels/register';
import { createUnsortedSegmentSumKernel } from '../src/wasm-kernels/unsorted-segment-sum';
import { runMicroTable } from './micro';
import { measure, type Cost } from './timing';
import { allVariables, blockLoss, createParams, DEFAULT_SIZES, makeBatch, type LogSumExp } from './transact-block';

/** --smoke: batch 4, one timed step, no micro table; checks that both kernel sets train (finite loss); times nothing. */
const SMOKE = process.argv.includes('--smoke');

function flag(name: string, fallback: number): number {
  if (SMOKE) return name === 'batch' ? 4 : 1;
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`--${name} must be a positive integer`);
  return value;
}

interface RunResult {
  firstLoss: number;
  steps: Cost[];
}

/** Wall-clock bound of the whole benchmark; runs and table rows past their share are cut short. */
const BUDGET_MS = 170_000;
const started = performance.now();
const elapsed = (): number => performance.now() - started;

function trainSteps(
  steps: number,
  lse: LogSumExp,
  sizes: typeof DEFAULT_SIZES,
  initial: tf.Tensor[],
  untilMs: number,
): RunResult {
  const params = createParams(sizes);
  const vars = allVariables(params);
  vars.forEach((v, i) => v.assign(initial[i] as tf.Tensor));
  const data = makeBatch(sizes);
  const optimizer = tf.train.adam(1e-3);
  const costs: Cost[] = [];
  let firstLoss = Number.NaN;
  for (let s = 0; s <= steps; s++) {
    if (s >= 2 && elapsed() > untilMs) break; // keep at least one timed step
    let value = Number.NaN;
    const cost = measure(() => {
      const loss = optimizer.minimize(() => blockLoss(params, data, sizes, lse), true, vars);
      value = loss?.dataSync()[0] ?? Number.NaN;
      loss?.dispose();
    });
    if (s === 0) firstLoss = value;
    else costs.push(cost); // step 0 is the warm-up
  }
  optimizer.dispose();
  tf.dispose([...vars, data.actions, data.items, data.candidates, data.keyBias]);
  return { firstLoss, steps: costs };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  const sizes = { ...DEFAULT_SIZES, batch: flag('batch', DEFAULT_SIZES.batch) };
  const steps = flag('steps', 3);
  await initTraining({ fastKernels: false });
  const initial = allVariables(createParams(sizes)).map((v) => {
    const copy = v.clone();
    v.dispose();
    return copy;
  });
  console.log(`TransAct block: B=${sizes.batch} S=${sizes.seqLen} d=96 layers=${sizes.layers} heads=${sizes.heads} ffn=${sizes.ffn}; ${steps} timed steps after 1 warm-up`);
  let stock: RunResult | null = null;
  if (!process.argv.includes('--fast-only')) {
    unregisterFastWasmKernels();
    // Stock wasm has no gather gradient at all; the stock run borrows only that kernel.
    tf.registerKernel(createUnsortedSegmentSumKernel());
    stock = trainSteps(steps, (x, axis) => tf.logSumExp(x, axis), sizes, initial, BUDGET_MS * 0.5);
    tf.unregisterKernel('UnsortedSegmentSum', 'wasm');
  }
  registerFastWasmKernels();
  const fast = trainSteps(steps, (x, axis) => logSumExp(x, axis), sizes, initial, BUDGET_MS * 0.65);
  const report = (name: string, r: RunResult): { cpu: number; wall: number } => {
    const cpu = median(r.steps.map((c) => c.cpuMs));
    const wall = median(r.steps.map((c) => c.wallMs));
    const each = r.steps.map((c) => c.cpuMs.toFixed(0)).join(', ');
    console.log(`${name}: ${cpu.toFixed(0)} CPU ms/step (steps ${each}), ${wall.toFixed(0)} wall ms/step, first loss ${r.firstLoss.toFixed(6)}`);
    return { cpu, wall };
  };
  const f0 = report('fast wasm kernels ', fast);
  if (!Number.isFinite(fast.firstLoss) || (stock && !Number.isFinite(stock.firstLoss))) throw new Error('a training step gave a non-finite loss');
  if (stock != null) {
    const s0 = report('stock wasm kernels', stock);
    console.log(
      `speed-up per step: ${(s0.cpu / f0.cpu).toFixed(2)}x CPU, ${(s0.wall / f0.wall).toFixed(2)}x wall; ` +
        `first-step loss difference ${Math.abs(stock.firstLoss - fast.firstLoss).toExponential(2)}`,
    );
  }
  const heapMiB = asWasmBackend(tf.backend()).wasm.HEAPU8.buffer.byteLength / 2 ** 20;
  console.log(`tensors alive after the runs: ${tf.memory().numTensors - initial.length}; wasm memory grew to ${heapMiB.toFixed(0)} MiB`);
  tf.dispose(initial);
  if (!process.argv.includes('--no-micro') && !SMOKE) {
    console.log('');
    runMicroTable(sizes.batch, sizes.seqLen, () => elapsed() > BUDGET_MS);
  }
  console.log(`benchmark wall time ${(elapsed() / 1000).toFixed(0)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
