import { RankedItem } from '@pinrank/proto';

/** Per-head probabilities of one scored item. */
export interface ScoredCandidate {
  itemId: string;
  probs: Float32Array;
}

/**
 * Combines heads into utility = Σ w_h · p_h, sorts best first (ties by item
 * id, so equal inputs give equal orders) and keeps the first `topK` (0 = all).
 */
export function rankByUtility(scored: readonly ScoredCandidate[], headNames: readonly string[], weights: Record<string, number>, topK: number): RankedItem[] {
  const w = headNames.map((h) => weights[h] ?? 0);
  const items = scored.map((c) => {
    let score = 0;
    const headScores: Record<string, number> = {};
    headNames.forEach((h, j) => {
      const p = c.probs[j] ?? 0;
      headScores[h] = p;
      score += (w[j] ?? 0) * p;
    });
    return { itemId: c.itemId, score, headScores };
  });
  items.sort((a, b) => b.score - a.score || (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
  const kept = topK > 0 ? items.slice(0, topK) : items;
  return kept.map((i) => RankedItem.fromPartial(i));
}
