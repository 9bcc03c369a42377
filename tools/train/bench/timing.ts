import * as tf from '@tensorflow/tfjs';

/** Wall-clock and process CPU milliseconds of one run. */
export interface Cost {
  wallMs: number;
  cpuMs: number;
}

/** Wall and CPU time of `run`. On a shared machine CPU time is the steadier figure (the wasm backend runs one thread). */
export function measure(run: () => void): Cost {
  const cpu = process.cpuUsage();
  const start = performance.now();
  run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * Mean cost of `f` (its result disposed), after one warm-up, over ≥ `minReps` runs
 * or `budgetMs` of wall time.
 */
export function timeMs(f: () => tf.TensorContainer, budgetMs = 400, minReps = 2): Cost {
  // wasm kernels run synchronously: no read-back is needed (reading large outputs back to JS would
  // cost more than most kernels).
  const once = (): void => {
    tf.dispose(tf.tidy(f));
  };
  once();
  let reps = 0;
  const start = performance.now();
  const total = measure(() => {
    while (reps < minReps || performance.now() - start < budgetMs) {
      once();
      reps++;
    }
  });
  return { wallMs: total.wallMs / reps, cpuMs: total.cpuMs / reps };
}

/** Formats a row of a fixed-width text table. */
export function row(cells: (string | number)[], widths: number[]): string {
  return cells
    .map((c, i) => {
      const text = typeof c === 'number' ? c.toFixed(c >= 100 ? 0 : c >= 10 ? 1 : 2) : c;
      return i === 0 ? text.padEnd(widths[i] ?? 10) : text.padStart(widths[i] ?? 10);
    })
    .join('  ');
}
