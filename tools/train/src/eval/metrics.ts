/**
 * Rank of a positive among negatives (0 = first), ties broken at random in
 * expectation: #greater + #equal / 2.
 */
export function expectedRank(positiveScore: number, negativeScores: ArrayLike<number>, skip?: (i: number) => boolean): number {
  let greater = 0;
  let equal = 0;
  for (let i = 0; i < negativeScores.length; i++) {
    if (skip?.(i)) continue;
    const s = negativeScores[i]!;
    if (s > positiveScore) greater++;
    else if (s === positiveScore) equal++;
  }
  return greater + equal / 2;
}

/** Indices of the k highest scores, best first (ties by lower index). */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, k);
}

/**
 * P90 coverage@k: the smallest number of distinct index items that make up 90 %
 * of all top-k slots over the users, divided by the index size (higher = the
 * retrieved items are spread over more of the index).
 */
export function p90Coverage(topLists: readonly (readonly number[])[], indexSize: number): number {
  const counts = new Map<number, number>();
  let slots = 0;
  for (const list of topLists)
    for (const item of list) {
      counts.set(item, (counts.get(item) ?? 0) + 1);
      slots++;
    }
  if (slots === 0 || indexSize === 0) return 0;
  const sorted = [...counts.values()].sort((a, b) => b - a);
  let covered = 0;
  let n = 0;
  for (const c of sorted) {
    covered += c;
    n++;
    if (covered >= 0.9 * slots) break;
  }
  return n / indexSize;
}

/** Mean and (sample) standard deviation. */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std };
}

/** Mean and its standard error (sample std / √n; NaN below two values). */
export function meanAndStdError(values: readonly number[]): { mean: number; stdError: number; n: number } {
  const { mean, std } = meanStd(values);
  return { mean, stdError: values.length > 1 ? std / Math.sqrt(values.length) : NaN, n: values.length };
}

/**
 * Paired difference of two methods on the same users: the mean of a[u] − b[u]
 * and its standard error over users. Users where either side is null (no item
 * of the group) are left out. Thrown by: arrays of different lengths (RangeError).
 */
export function pairedDifference(
  a: ReadonlyArray<number | null>,
  b: ReadonlyArray<number | null>,
): { mean: number; stdError: number; n: number } {
  if (a.length !== b.length) throw new RangeError(`paired values need the same users (${a.length} vs ${b.length})`);
  const diffs: number[] = [];
  a.forEach((x, u) => {
    const y = b[u];
    if (x !== null && x !== undefined && y !== null && y !== undefined) diffs.push(x - y);
  });
  return meanAndStdError(diffs);
}

/** Per-user mean over runs (seeds) of the same cases; null where any run has null. Thrown by: runs of different lengths (RangeError). */
export function meanOverRuns(runs: ReadonlyArray<ReadonlyArray<number | null>>): Array<number | null> {
  const n = runs[0]?.length ?? 0;
  if (runs.some((r) => r.length !== n)) throw new RangeError('runs were evaluated on different cases');
  return Array.from({ length: n }, (_, u) => {
    let s = 0;
    for (const r of runs) {
      const v = r[u];
      if (v === null || v === undefined) return null;
      s += v;
    }
    return s / runs.length;
  });
}
