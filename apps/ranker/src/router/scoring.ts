import { RankedItem, StageTiming } from '@pinrank/proto';
import { type Popularity } from './popularity';
import { hoursSinceNewest, type UserSequence } from './sequence';

/** Columns of `dense_features` (docs/models.md, ranking_heads). */
export const DENSE_FEATURES = 4;

/**
 * `dense_features` [n,4] for the given items: log1p(item popularity),
 * sequence length / 100, log1p(hours since the newest action), user-vector-missing.
 */
export function denseFeatures(itemIds: readonly string[], popularity: Popularity, seq: UserSequence, userMissing: boolean): Float32Array {
  const out = new Float32Array(itemIds.length * DENSE_FEATURES);
  const seqLen = seq.length / 100;
  const recency = Math.log1p(hoursSinceNewest(seq));
  itemIds.forEach((id, i) => {
    out[i * DENSE_FEATURES] = Math.log1p(Math.max(0, popularity.get(id)));
    out[i * DENSE_FEATURES + 1] = seqLen;
    out[i * DENSE_FEATURES + 2] = recency;
    out[i * DENSE_FEATURES + 3] = userMissing ? 1 : 0;
  });
  return out;
}

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

/** Wall-clock spans of request stages; concurrent chunks of one stage merge into one span. */
export class StageClock {
  private readonly spans = new Map<string, { start: number; end: number }>();
  private readonly t0 = performance.now();

  /** Records that `stage` ran from `start` to `end` (performance.now() values). */
  record(stage: string, start: number, end: number): void {
    const s = this.spans.get(stage);
    if (!s) this.spans.set(stage, { start, end });
    else this.spans.set(stage, { start: Math.min(s.start, start), end: Math.max(s.end, end) });
  }

  /** Times `fn` as `stage`. */
  async time<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.record(stage, start, performance.now());
    }
  }

  /** The stages in order of start, then "total". */
  timings(): StageTiming[] {
    const out = [...this.spans.entries()]
      .sort((a, b) => a[1].start - b[1].start)
      .map(([stage, s]) => StageTiming.fromPartial({ stage, ms: round(s.end - s.start) }));
    out.push(StageTiming.fromPartial({ stage: 'total', ms: round(performance.now() - this.t0) }));
    return out;
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
