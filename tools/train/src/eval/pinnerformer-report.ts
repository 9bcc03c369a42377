import { type ModelSpec, type WeightStore } from '@pinrank/models';
import { type TrainingWorld } from '../data/world-data';
import { buildEvalCases, randomIndex, type EvalCaseOptions } from './eval-cases';
import { evaluateRetrieval, meanContentMethod, pinnerformerMethod, popularityMethod, type RetrievalMetrics } from './retrieval-eval';

/** Options of `evaluatePinnerformer`. */
export interface PinnerformerEvalOptions extends EvalCaseOptions {
  /** Random catalog items in the retrieval index (default 2000, capped at the catalog). */
  indexSize?: number;
  /** k of Recall@k and coverage@k (default 10). */
  k?: number;
}

/** The evaluation of one trained model against the two floors, realtime and daily batch. */
export interface PinnerformerEvaluation {
  model: { realtime: RetrievalMetrics; daily: RetrievalMetrics };
  popularity: RetrievalMetrics;
  meanContent: { realtime: RetrievalMetrics; daily: RetrievalMetrics };
  /** Relative Recall@k change from realtime to daily batch, (daily − realtime) / realtime. */
  dailyDrop: number;
  /** Whether the model's realtime Recall@k is above both floors' realtime Recall@k. */
  beatsFloors: boolean;
  options: Required<PinnerformerEvalOptions>;
}

/** Recall@k over a 14-day window on held-out users against a random index, P90 coverage@k, both floors, realtime vs daily batch. */
export function evaluatePinnerformer(
  world: TrainingWorld,
  user: { spec: ModelSpec; store: WeightStore },
  item: { spec: ModelSpec; store: WeightStore },
  options: PinnerformerEvalOptions = {},
): PinnerformerEvaluation {
  const o: Required<PinnerformerEvalOptions> = {
    windowDays: options.windowDays ?? 14,
    anchorDays: options.anchorDays ?? 7,
    seed: options.seed ?? 1,
    indexSize: options.indexSize ?? 2000,
    k: options.k ?? 10,
  };
  const cases = buildEvalCases(world, o);
  if (cases.length === 0) throw new RangeError('no held-out user has a positive action in the anchor period and one after it');
  const index = randomIndex(world.manifest.counts.items, o.indexSize, o.seed);
  const maxLen = Number(user.spec.hyperparams['maxLen']);
  const model = pinnerformerMethod('pinnerformer', world, user, item);
  try {
    const realtime = evaluateRetrieval(model, cases, index, 'realtime', o.k);
    const daily = evaluateRetrieval(model, cases, index, 'daily', o.k);
    const popularity = evaluateRetrieval(popularityMethod(world), cases, index, 'realtime', o.k);
    const content = meanContentMethod(world, maxLen);
    const meanContent = { realtime: evaluateRetrieval(content, cases, index, 'realtime', o.k), daily: evaluateRetrieval(content, cases, index, 'daily', o.k) };
    return {
      model: { realtime, daily },
      popularity,
      meanContent,
      dailyDrop: (daily.recallAtK - realtime.recallAtK) / realtime.recallAtK,
      beatsFloors: realtime.recallAtK > popularity.recallAtK && realtime.recallAtK > meanContent.realtime.recallAtK,
      options: o,
    };
  } finally {
    model.dispose?.();
  }
}
