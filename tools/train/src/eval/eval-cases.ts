import { SeededRandom, deriveSeed } from '@pinrank/models';
import { type PositiveAction, type TrainingWorld, upperBound } from '../data/world-data';

/** One user's evaluation: the embedding time(s) and the items engaged with in the window after it. */
export interface EvalCase {
  user: number;
  /** Realtime embedding time: the time of one of the user's positive actions (it is part of the input). Cutoff cases: the cutoff time. */
  anchorMs: number;
  /** Daily-batch embedding time: the end of the day before the anchor's day (yesterday's batch job). Cutoff cases: the cutoff time. */
  dailyMs: number;
  /** Distinct items of the user's positive actions in (anchor, anchor + window]. */
  futureItems: number[];
  /** Time of the first positive action on each of `futureItems` (aligned with it). */
  futureFirstMs: number[];
  /** Whether the user is held out of training. */
  heldOut: boolean;
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
 * Realtime cases: one per held-out user that has a positive action in the
 * anchor period and at least one positive in the window after it. Held-out
 * users are never trained on, so every case is unseen. The anchor is one of
 * the user's own positives, so the window opens with the rest of its session.
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
    const future = futureOf(acts, anchor, anchor + windowMs);
    if (future.items.length === 0) continue;
    cases.push({
      user,
      anchorMs: anchor,
      dailyMs: Math.floor(anchor / DAY_MS) * DAY_MS - 1,
      futureItems: future.items,
      futureFirstMs: future.firstMs,
      heldOut: true,
    });
  }
  return cases;
}

/** Options of `buildCutoffCases`. */
export interface CutoffCaseOptions {
  /** Future window in days after the cutoff (default 14, at most the world's evaluation window). */
  windowDays?: number;
  /** `all`: every user (the paper's setting: train on the past, score everyone's future); `held-out`: held-out users only. Default `all`. */
  population?: 'all' | 'held-out';
}

/**
 * Paper-style cutoff cases: every user of the population with at least one
 * positive action before the split cutoff and one in the window after it, all
 * embedded at the same time — the end of the day before the cutoff, which is
 * when the daily batch job (`pinrank embed --as-of <day>`) computes them.
 * Training never targets anything after the cutoff, so every future item is
 * unseen; for training users the history before it was trained on, as in
 * production.
 */
export function buildCutoffCases(world: TrainingWorld, options: CutoffCaseOptions = {}): EvalCase[] {
  const windowMs = (options.windowDays ?? 14) * DAY_MS;
  const population = options.population ?? 'all';
  const asOf = world.splits.cutoffMs - 1;
  const cases: EvalCase[] = [];
  world.positives.forEach((acts, user) => {
    const heldOut = world.splits.isHeldOutUser(user);
    if (population === 'held-out' && !heldOut) return;
    if (upperBound(acts, asOf) === 0) return;
    const future = futureOf(acts, asOf, asOf + windowMs);
    if (future.items.length === 0) return;
    cases.push({ user, anchorMs: asOf, dailyMs: asOf, futureItems: future.items, futureFirstMs: future.firstMs, heldOut });
  });
  return cases;
}

/** Distinct items of the positives in (fromMs, toMs] and the time each was first engaged with. */
function futureOf(acts: readonly PositiveAction[], fromMs: number, toMs: number): { items: number[]; firstMs: number[] } {
  const first = new Map<number, number>();
  for (const a of acts.slice(upperBound(acts, fromMs), upperBound(acts, toMs))) if (!first.has(a.itemIndex)) first.set(a.itemIndex, a.timestampMs);
  return { items: [...first.keys()], firstMs: [...first.values()] };
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
