import { TfOps, pinnerformerFeeds, runTfForward, type ModelSpec, type WeightStore } from '@pinrank/models';
import { sequenceAt } from '../data/sequences';
import { type TrainingWorld } from '../data/world-data';
import { type EvalCase } from './eval-cases';
import { expectedRank, meanAndStdError, p90Coverage, topK } from './metrics';

/**
 * When the user vector is computed: at the anchor (realtime), at the end of
 * the previous day (daily batch), or at the split cutoff for every user
 * (cutoff: the paper's protocol; the cases' anchor and daily times are both
 * the cutoff).
 */
export type InferenceMode = 'realtime' | 'daily' | 'cutoff';

/** The time a case's user vector is computed at in `mode`. */
export function queryTime(c: EvalCase, mode: InferenceMode): number {
  return mode === 'realtime' ? c.anchorMs : c.dailyMs;
}

/** A way to score items for users: a user-query vector and item vectors whose dot product is the score. */
export interface RetrievalMethod {
  name: string;
  /** Query vectors of the cases, row-major `[cases, dim]`, as of each case's `queryTime`. */
  queries(cases: readonly EvalCase[], mode: InferenceMode): Float32Array;
  /** Item vectors, row-major `[items, dim]`. */
  items(itemIndices: readonly number[]): Float32Array;
  dim: number;
  /** Frees what the method holds (model weights on the backend). */
  dispose?(): void;
}

/** Scores of items for one case (higher = ranked first); oracles that are not dot products use this directly. */
export type CaseScorer = (caseIndex: number, items: readonly number[]) => ArrayLike<number>;

/** Recall@k of one group of a case's future items (e.g. session continuation vs later). */
export interface GroupRecall {
  /** Mean over users with at least one item of the group. */
  recallAtK: number;
  /** Standard error of that mean (sample std / √users). */
  stdError: number;
  users: number;
  positives: number;
  /** Per case, aligned with the cases: the user's recall on the group's items, or null without any. */
  perUser: Array<number | null>;
}

/** Retrieval metrics of one method on one set of cases. */
export interface RetrievalMetrics {
  method: string;
  mode: InferenceMode;
  /** Mean over users of the share of their future positives ranked in the top k against the index. */
  recallAtK: number;
  /** Standard error of `recallAtK` over users (sample std / √users). */
  stdError: number;
  k: number;
  /** P90 coverage@k of the top-k lists over the index. */
  p90CoverageAtK: number;
  users: number;
  positives: number;
  indexSize: number;
  /** Per-user recall, aligned with the cases (for paired differences between methods on the same cases). */
  perUser: number[];
  /** Recall on groups of future items, when the evaluation splits them. */
  groups?: Record<string, GroupRecall>;
}

/** Assigns each future item of a case to a group (by its position in `futureItems`). */
export type ItemGrouping = (c: EvalCase, itemPosition: number) => string;

/**
 * Recall@k: each future positive of a user is ranked against the random index
 * (index items that are themselves among the user's future positives are left
 * out); a positive ranked below k counts as retrieved. Per-user recall is
 * averaged over users.
 */
export function evaluateRetrieval(
  method: RetrievalMethod,
  cases: readonly EvalCase[],
  index: readonly number[],
  mode: InferenceMode,
  k = 10,
  grouping?: ItemGrouping,
): RetrievalMetrics {
  const dim = method.dim;
  const queries = method.queries(cases, mode);
  const indexVectors = method.items(index);
  const scorer: CaseScorer = (u, items) => {
    const q = queries.subarray(u * dim, (u + 1) * dim);
    const vectors = items === index ? indexVectors : method.items(items);
    const out = new Float32Array(items.length);
    for (let i = 0; i < items.length; i++) out[i] = dot(q, vectors, i * dim, dim);
    return out;
  };
  return evaluateRetrievalScorer(method.name, scorer, cases, index, mode, k, grouping);
}

/** `evaluateRetrieval` for any scorer (the scores of the index and of a case's future items come from `scorer`). */
export function evaluateRetrievalScorer(
  name: string,
  scorer: CaseScorer,
  cases: readonly EvalCase[],
  index: readonly number[],
  mode: InferenceMode,
  k = 10,
  grouping?: ItemGrouping,
): RetrievalMetrics {
  const tops: number[][] = [];
  const perUser: number[] = [];
  const groupHits = new Map<string, Array<{ hits: number; n: number } | null>>();
  let positives = 0;
  cases.forEach((c, u) => {
    const indexScores = scorer(u, index);
    const future = new Set(c.futureItems);
    const skip = (i: number): boolean => future.has(index[i] as number);
    const posScores = scorer(u, c.futureItems);
    let hits = 0;
    const mine = new Map<string, { hits: number; n: number }>();
    c.futureItems.forEach((_, p) => {
      const hit = expectedRank(posScores[p] as number, indexScores, skip) < k;
      if (hit) hits++;
      if (grouping) {
        const g = grouping(c, p);
        const e = mine.get(g) ?? { hits: 0, n: 0 };
        e.n++;
        if (hit) e.hits++;
        mine.set(g, e);
      }
    });
    for (const g of mine.keys()) if (!groupHits.has(g)) groupHits.set(g, Array.from({ length: u }, () => null));
    for (const [g, list] of groupHits) list.push(mine.get(g) ?? null);
    perUser.push(hits / c.futureItems.length);
    positives += c.futureItems.length;
    tops.push(topK(indexScores, k));
  });
  const { mean, stdError } = meanAndStdError(perUser);
  const metrics: RetrievalMetrics = {
    method: name,
    mode,
    recallAtK: mean,
    stdError,
    k,
    p90CoverageAtK: p90Coverage(tops, index.length),
    users: cases.length,
    positives,
    indexSize: index.length,
    perUser,
  };
  if (grouping) {
    metrics.groups = {};
    for (const [g, list] of [...groupHits].sort(([a], [b]) => a.localeCompare(b))) {
      const values = list.filter((e): e is { hits: number; n: number } => e !== null).map((e) => e.hits / e.n);
      const s = meanAndStdError(values);
      metrics.groups[g] = {
        recallAtK: s.mean,
        stdError: s.stdError,
        users: values.length,
        positives: list.reduce((a, e) => a + (e?.n ?? 0), 0),
        perUser: list.map((e) => (e ? e.hits / e.n : null)),
      };
    }
  }
  return metrics;
}

function dot(q: Float32Array, m: Float32Array, offset: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += q[d]! * m[offset + d]!;
  return s;
}

/** Floor: item popularity among training positives (the same list for every user). */
export function popularityMethod(world: TrainingWorld): RetrievalMethod {
  return {
    name: 'popularity',
    dim: 1,
    queries: (cases) => new Float32Array(cases.length).fill(1),
    items: (items) => Float32Array.from(items, (i) => Math.log1p(world.itemCounts[i] ?? 0)),
  };
}

/** Floor: the mean content vector of the user's last M positive actions, scored against item content vectors. */
export function meanContentMethod(world: TrainingWorld, maxLen: number): RetrievalMethod {
  const D = world.dimension;
  return {
    name: 'mean-content',
    dim: D,
    queries: (cases, mode) => {
      const out = new Float32Array(cases.length * D);
      cases.forEach((c, u) => {
        const seq = sequenceAt(world, c.user, queryTime(c, mode), maxLen);
        for (let r = 0; r < seq.length; r++)
          for (let d = 0; d < D; d++) out[u * D + d]! += seq.itemVectors[r * D + d]! / seq.length;
      });
      return out;
    },
    items: (items) => {
      const out = new Float32Array(items.length * D);
      items.forEach((i, r) => out.set(world.content.subarray(i * D, (i + 1) * D), r * D));
      return out;
    },
  };
}

/** A trained PinnerFormer pair (user encoder + item tower) run on TensorFlow.js with its weights. */
export function pinnerformerMethod(
  name: string,
  world: TrainingWorld,
  user: { spec: ModelSpec; store: WeightStore },
  item: { spec: ModelSpec; store: WeightStore },
  batchSize = 64,
): RetrievalMethod {
  const maxLen = Number(user.spec.hyperparams['maxLen']);
  const dim = Number(user.spec.hyperparams['outDim']);
  const D = world.dimension;
  const userOps = new TfOps(user.store);
  const itemOps = new TfOps(item.store);
  const itemCache = new Map<number, Float32Array>();
  return {
    name,
    dim,
    queries: (cases, mode) => {
      const out = new Float32Array(cases.length * dim);
      for (let s = 0; s < cases.length; s += batchSize) {
        const part = cases.slice(s, s + batchSize);
        const seqs = part.map((c) => sequenceAt(world, c.user, queryTime(c, mode), maxLen));
        out.set(runTfForward(user.spec, userOps, pinnerformerFeeds(seqs))['user_embedding']!.data, s * dim);
      }
      return out;
    },
    items: (items) => {
      const missing = [...new Set(items.filter((i) => !itemCache.has(i)))];
      for (let s = 0; s < missing.length; s += 4096) {
        const part = missing.slice(s, s + 4096);
        const x = new Float32Array(part.length * D);
        part.forEach((i, r) => x.set(world.content.subarray(i * D, (i + 1) * D), r * D));
        const emb = runTfForward(item.spec, itemOps, { item_vectors: { dtype: 'float32', shape: [part.length, D], data: x } })['item_embedding']!.data;
        part.forEach((i, r) => itemCache.set(i, emb.slice(r * dim, (r + 1) * dim)));
      }
      const out = new Float32Array(items.length * dim);
      items.forEach((i, r) => out.set(itemCache.get(i)!, r * dim));
      return out;
    },
    dispose: () => {
      userOps.dispose();
      itemOps.dispose();
    },
  };
}
