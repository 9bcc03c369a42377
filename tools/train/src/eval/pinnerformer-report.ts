import { type ModelSpec, type WeightStore } from '@pinrank/models';
import { World } from '@pinrank/sim';
import { type TrainingWorld } from '../data/world-data';
import { buildCutoffCases, buildEvalCases, randomIndex, type CutoffCaseOptions, type EvalCase, type EvalCaseOptions } from './eval-cases';
import { meanAndStdError } from './metrics';
import {
  evaluateRetrieval,
  meanContentMethod,
  pinnerformerMethod,
  popularityMethod,
  type ItemGrouping,
  type RetrievalMetrics,
} from './retrieval-eval';

/** Options of `evaluatePinnerformer`. */
export interface PinnerformerEvalOptions extends EvalCaseOptions {
  /** Random catalog items in the retrieval index (default 2000, capped at the catalog). */
  indexSize?: number;
  /** k of Recall@k and coverage@k (default 10). */
  k?: number;
  /** Users of the cutoff evaluation (default `all`). */
  population?: NonNullable<CutoffCaseOptions['population']>;
}

/** Cutoff metrics with the held-out users' part (never trained on, not even their history). */
export interface CutoffMetrics extends RetrievalMetrics {
  heldOut: { recallAtK: number; stdError: number; users: number };
}

/**
 * The evaluation of one trained model against the two floors: realtime and
 * daily batch on held-out users anchored on one of their actions (future
 * items split into the anchor's session continuation and later ones), and the
 * paper-style cutoff evaluation (every user embedded at the split cutoff).
 */
export interface PinnerformerEvaluation {
  model: { realtime: RetrievalMetrics; daily: RetrievalMetrics; cutoff: CutoffMetrics };
  popularity: RetrievalMetrics;
  meanContent: { realtime: RetrievalMetrics; daily: RetrievalMetrics; cutoff: CutoffMetrics };
  popularityCutoff: CutoffMetrics;
  /** Relative Recall@k change from realtime to daily batch, (daily − realtime) / realtime. */
  dailyDrop: number;
  /** Whether the model's realtime Recall@k is above both floors' realtime Recall@k. */
  beatsFloors: boolean;
  /** Whether the model's cutoff Recall@k is above both floors' cutoff Recall@k. */
  beatsFloorsCutoff: boolean;
  /** The users of the cutoff evaluation (aligned with every `cutoff.perUser`). */
  cutoffUsers: number[];
  /** The users of the realtime and daily evaluation (aligned with their `perUser`). */
  realtimeUsers: number[];
  options: Required<PinnerformerEvalOptions>;
}

/** Group of a realtime case's future items: `session` (the anchor's own session continues) or `later`. */
export const SESSION_GROUPS = ['session', 'later'] as const;

/**
 * Splits realtime future items by the simulator's ground-truth sessions: an
 * item first engaged with before the anchor's session ends is a session
 * continuation, everything else is later.
 */
export function sessionContinuation(world: TrainingWorld): ItemGrouping {
  const sim = World.create(world.manifest.options);
  const endOf = new Map<string, number>();
  return (c: EvalCase, p: number): string => {
    const key = `${c.user}:${c.anchorMs}`;
    let end = endOf.get(key);
    if (end === undefined) {
      const tl = sim.timeline(c.user);
      let s = -1;
      while (s + 1 < tl.sessionStarts.length && tl.sessionStarts[s + 1]! <= c.anchorMs) s++;
      end = s >= 0 ? tl.sessions[s]!.endMs : -Infinity;
      endOf.set(key, end);
    }
    return (c.futureFirstMs[p] as number) <= end ? 'session' : 'later';
  };
}

/** Adds the held-out users' part to cutoff metrics. */
export function withHeldOut(m: RetrievalMetrics, cases: readonly EvalCase[]): CutoffMetrics {
  const s = meanAndStdError(m.perUser.filter((_, u) => (cases[u] as EvalCase).heldOut));
  return { ...m, heldOut: { recallAtK: s.mean, stdError: s.stdError, users: s.n } };
}

/** Fills the defaults of `PinnerformerEvalOptions`. */
export function resolveEvalOptions(options: PinnerformerEvalOptions = {}): Required<PinnerformerEvalOptions> {
  return {
    windowDays: options.windowDays ?? 14,
    anchorDays: options.anchorDays ?? 7,
    seed: options.seed ?? 1,
    indexSize: options.indexSize ?? 2000,
    k: options.k ?? 10,
    population: options.population ?? 'all',
  };
}

/** Recall@k over a 14-day window against a random index, P90 coverage@k, both floors: realtime, daily batch and cutoff. */
export function evaluatePinnerformer(
  world: TrainingWorld,
  user: { spec: ModelSpec; store: WeightStore },
  item: { spec: ModelSpec; store: WeightStore },
  options: PinnerformerEvalOptions = {},
): PinnerformerEvaluation {
  const o = resolveEvalOptions(options);
  const cases = buildEvalCases(world, o);
  if (cases.length === 0) throw new RangeError('no held-out user has a positive action in the anchor period and one after it');
  const cutoffCases = buildCutoffCases(world, { windowDays: o.windowDays, population: o.population });
  const index = randomIndex(world.manifest.counts.items, o.indexSize, o.seed);
  const maxLen = Number(user.spec.hyperparams['maxLen']);
  const split = sessionContinuation(world);
  const model = pinnerformerMethod('pinnerformer', world, user, item);
  try {
    const realtime = evaluateRetrieval(model, cases, index, 'realtime', o.k, split);
    const daily = evaluateRetrieval(model, cases, index, 'daily', o.k, split);
    const cutoff = withHeldOut(evaluateRetrieval(model, cutoffCases, index, 'cutoff', o.k), cutoffCases);
    const popular = popularityMethod(world);
    const popularity = evaluateRetrieval(popular, cases, index, 'realtime', o.k, split);
    const popularityCutoff = withHeldOut(evaluateRetrieval(popular, cutoffCases, index, 'cutoff', o.k), cutoffCases);
    const content = meanContentMethod(world, maxLen);
    const meanContent = {
      realtime: evaluateRetrieval(content, cases, index, 'realtime', o.k, split),
      daily: evaluateRetrieval(content, cases, index, 'daily', o.k, split),
      cutoff: withHeldOut(evaluateRetrieval(content, cutoffCases, index, 'cutoff', o.k), cutoffCases),
    };
    return {
      model: { realtime, daily, cutoff },
      popularity,
      meanContent,
      popularityCutoff,
      dailyDrop: (daily.recallAtK - realtime.recallAtK) / realtime.recallAtK,
      beatsFloors: realtime.recallAtK > popularity.recallAtK && realtime.recallAtK > meanContent.realtime.recallAtK,
      beatsFloorsCutoff: cutoff.recallAtK > popularityCutoff.recallAtK && cutoff.recallAtK > meanContent.cutoff.recallAtK,
      cutoffUsers: cutoffCases.map((c) => c.user),
      realtimeUsers: cases.map((c) => c.user),
      options: o,
    };
  } finally {
    model.dispose?.();
  }
}
