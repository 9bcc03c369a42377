/** ROC AUC of scores against 0/1 labels (ties count one half); NaN when a class is empty. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1] as number] === scores[idx[i] as number]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if ((labels[idx[k] as number] as number) > 0) {
        pos++;
        rankSum += avgRank;
      }
    i = j + 1;
  }
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Indices of the `k` highest scores, highest first (ties: lower index first). */
export function topIndices(scores: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: scores.length }, (_, i) => i)
    .sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b)
    .slice(0, k);
}

/** Positives among the top `k` of one session's impressions by score (HIT@k of that session). */
export function hitsAtK(scores: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  return topIndices(scores, k).reduce((s, i) => s + ((labels[i] as number) > 0 ? 1 : 0), 0);
}

/** Shannon entropy in bits of the values' distribution (e.g. the topics of a top-10 list). */
export function entropyBits(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / values.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Mean and sample standard deviation (0 for one value). */
export function meanAndSpread(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std };
}
