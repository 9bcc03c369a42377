import { AffinityOracle, World } from '@pinrank/sim';
import { type TrainingWorld } from '../data/world-data';
import { pairedDifference } from './metrics';
import { buildCutoffCases, randomIndex, type EvalCase } from './eval-cases';
import { evaluateRetrieval, evaluateRetrievalScorer, meanContentMethod, popularityMethod, type RetrievalMetrics } from './retrieval-eval';

/** Options of `worldCheck`. */
export interface WorldCheckOptions {
  /** Future window in days after the cutoff (default 14). */
  windowDays?: number;
  /** Random catalog items in the index (default 2000). */
  indexSize?: number;
  /** k of Recall@k (default 10). */
  k?: number;
  /** Seed of the index (default 1, as the model evaluation). */
  seed?: number;
  /** M of the mean-content floor (default 32). */
  maxLen?: number;
}

/** How much of the cutoff window each ground-truth oracle explains (Recall@k on the cutoff cases). */
export interface WorldCheck {
  /** The long-term profile (drifted to the cutoff) + popularity, no session intent: a perfect long-term model. */
  longTerm: RetrievalMetrics;
  /** The full ground truth at the cutoff (long-term + the last session's intent, faded): a perfect daily-batch embedding. */
  stateAtCutoff: RetrievalMetrics;
  /** The full ground truth at the user's first action in the window (that session's intent): a perfect next-action model. */
  nextAction: RetrievalMetrics;
  /** The next session's intent alone (the ground truth at the first future action less its long-term part). */
  nextSessionOnly: RetrievalMetrics;
  /** Paired difference next action − long-term profile over users. */
  nextMinusLongTerm: { mean: number; stdError: number; n: number };
  popularity: RetrievalMetrics;
  meanContent: RetrievalMetrics;
  users: number;
  positives: number;
  /** Share of the users' future positives that fall in the session of their first future action. */
  firstSessionShare: number;
}

/**
 * Measures what kind of signal the 14-day future of a simulated world holds:
 * every user at the split cutoff, their future positives ranked against a
 * random index by the simulator's own ground truth, with and without session
 * intent, and at the cutoff vs at the next action. Thrown by: a world without
 * cutoff cases (RangeError).
 */
export function worldCheck(world: TrainingWorld, options: WorldCheckOptions = {}): WorldCheck {
  const k = options.k ?? 10;
  const cases = buildCutoffCases(world, { windowDays: options.windowDays ?? 14, population: 'all' });
  if (cases.length === 0) throw new RangeError('no user has a positive action before the cutoff and one after it');
  const index = randomIndex(world.manifest.counts.items, options.indexSize ?? 2000, options.seed ?? 1);
  const sim = World.create(world.manifest.options);
  const oracle = new AffinityOracle(sim);
  const nextMs = (c: EvalCase): number => Math.min(...c.futureFirstMs);
  const longTerm = evaluateRetrievalScorer('oracle: long-term profile', (u, items) => oracle.longTermScores(cases[u]!.user, cases[u]!.dailyMs, items), cases, index, 'cutoff', k);
  const stateAtCutoff = evaluateRetrievalScorer('oracle: state at the cutoff', (u, items) => oracle.scores(cases[u]!.user, cases[u]!.dailyMs, items), cases, index, 'cutoff', k);
  const nextAction = evaluateRetrievalScorer('oracle: next action', (u, items) => oracle.scores(cases[u]!.user, nextMs(cases[u]!), items), cases, index, 'cutoff', k);
  const nextSessionOnly = evaluateRetrievalScorer(
    'oracle: next session intent only',
    (u, items) => {
      const c = cases[u]!;
      const full = oracle.scores(c.user, nextMs(c), items);
      const lt = oracle.longTermScores(c.user, nextMs(c), items);
      return full.map((v, i) => v - lt[i]!);
    },
    cases,
    index,
    'cutoff',
    k,
  );
  let inFirst = 0;
  let positives = 0;
  for (const c of cases) {
    const tl = sim.timeline(c.user);
    const t = nextMs(c);
    let s = -1;
    while (s + 1 < tl.sessionStarts.length && tl.sessionStarts[s + 1]! <= t) s++;
    const end = s >= 0 ? tl.sessions[s]!.endMs : t;
    for (const f of c.futureFirstMs) if (f <= end) inFirst++;
    positives += c.futureItems.length;
  }
  return {
    longTerm,
    stateAtCutoff,
    nextAction,
    nextSessionOnly,
    nextMinusLongTerm: pairedDifference(nextAction.perUser, longTerm.perUser),
    popularity: evaluateRetrieval(popularityMethod(world), cases, index, 'cutoff', k),
    meanContent: evaluateRetrieval(meanContentMethod(world, options.maxLen ?? 32), cases, index, 'cutoff', k),
    users: cases.length,
    positives,
    firstSessionShare: inFirst / positives,
  };
}
