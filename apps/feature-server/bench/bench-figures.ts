// What the feature-server's smaller benches share: number formatting, the median, and
// progress lines on stderr timed from the start of the run.

/** A number for a table: thousands separated, `d` decimals. */
export const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** The median (lower middle) of the samples; NaN for none. */
export function p50(samples: readonly number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
}

/** A progress logger: each line on stderr, prefixed with the seconds since this call. */
export function progressLog(): (line: string) => void {
  const started = performance.now();
  return (line) => void process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${line}\n`);
}
