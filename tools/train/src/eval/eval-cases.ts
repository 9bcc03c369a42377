import { SeededRandom, deriveSeed } from '@pinrank/models';
import { type PositiveAction, type TrainingWorld, upperBound } from '../data/world-data';

/** One held-out user's evaluation: the embedding time and the items engaged with in the window after it. */
export interface EvalCase {
  user: number;
  /** Realtime embedding time: the time of one of the user's positive actions (it is part of the input). */
  anchorMs: number;
  /** Daily-batch embedding time: the end of the day before the anchor's day (yesterday's batch job). */
  dailyMs: number;
  /** Distinct items of the user's positive actions in (anchor, anchor + window]. */
  futureItems: number[];
}

/** Options of `buildEvalCases`. */
export interface EvalCaseOptions {
  /** Future window in days (default 14). */
  windowDays?: number;
  /** Anchors are positive actions in the `anchorDays` before the split cutoff (default 7). */
  anchorDays?: number;
  /** Seed of the anchor choice (default 1; fixed across training seeds so comparisons are paired). */
  seed?: number;
}

const DAY_MS = 86_400_000;

/**
 * One case per held-out user that has a positive action in the anchor period
 * and at least one positive in the window after it. Held-out users are never
 * trained on, so every case is unseen.
 */
export function buildEvalCases(world: TrainingWorld, options: EvalCaseOptions = {}): EvalCase[] {
  const windowMs = (options.windowDays ?? 14) * DAY_MS;
  const anchorMs = (options.anchorDays ?? 7) * DAY_MS;
  const seed = options.seed ?? 1;
  const cutoff = world.splits.cutoffMs;
  const cases: EvalCase[] = [];
  for (const user of world.splits.heldOutUsers()) {
    const acts = world.positives[user] ?? [];
    const from = upperBound(acts, cutoff - anchorMs - 1);
    const to = upperBound(acts, cutoff - 1);
    if (to <= from) continue;
    const rng = new SeededRandom(deriveSeed(seed, `anchor:${user}`));
    const anchor = (acts[from + rng.int(to - from)] as PositiveAction).timestampMs;
    const future = acts.slice(upperBound(acts, anchor), upperBound(acts, anchor + windowMs)).map((a) => a.itemIndex);
    if (future.length === 0) continue;
    cases.push({ user, anchorMs: anchor, dailyMs: Math.floor(anchor / DAY_MS) * DAY_MS - 1, futureItems: [...new Set(future)] });
  }
  return cases;
}

/** A uniform sample (without replacement) of `size` catalog items: the retrieval index. */
export function randomIndex(numItems: number, size: number, seed: number): number[] {
  const n = Math.min(size, numItems);
  const rng = new SeededRandom(deriveSeed(seed, 'index'));
  const all = Array.from({ length: numItems }, (_, i) => i);
  for (let k = 0; k < n; k++) {
    const j = k + rng.int(numItems - k);
    [all[k], all[j]] = [all[j] as number, all[k] as number];
  }
  return all.slice(0, n).sort((a, b) => a - b);
}
