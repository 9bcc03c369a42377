import { type ExperimentScorer } from '@pinrank/contracts';
import { DegradedFlag, RankResponse, type RankedItem, type RankRequest } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';
import { lookupContent, lookupTower, type TowerVectors } from './embedding-lookups';
import { experimentFields, type Treatment } from './experiments/experiment-plan';
import { type FallbackPolicy, type ScoringRoute } from './fallback-policy';
import { PoolUnavailableError, type Inference, type ModelCall } from './infer-client';
import { encoderInputs, gatherRows, headsFeatureInputs, type NamedTensors } from './model-inputs';
import { type ModelSet, type PoolName } from './model-set';
import { type Popularity } from './popularity';
import { type RequestContext } from './request-context';
import { type ResolvedRouterOptions } from './router-options';
import { rankByUtility, type ScoredCandidate } from './scoring';
import { type SequenceResult, type Upstreams } from './upstreams';
import { validateRankRequest } from './validate';
import { type VectorCache } from './vector-cache';

// One Rank request, top to bottom:
//   1. validate
//   2. fetch in parallel: the realtime sequence (feature-server), the
//      candidates' content vectors and, in the same moment, the user's and the
//      candidates' tower vectors (embedding-store; one snapshot, pinned or active)
//   3. the encoder per chunk of candidates (transact_encoder, on the pool its
//      config places it in; fallback-policy.ts decides what follows a gone pool)
//   4. the heads per chunk (ranking_heads, or ranking_heads_lite)
//   5. utility ranking
//   6. the response: items, versions, snapshot, stage timings, degraded flags
// Recommend (recommend-request.ts) runs stages 2-5 through rankCandidates with
// the same RequestContext, so its flags and timings are this request's.

/** What the pipeline runs against. */
export interface RankDeps {
  options: ResolvedRouterOptions;
  upstreams: Upstreams;
  inference: Inference;
  fallback: FallbackPolicy;
  popularity: Popularity;
  /** Last-known embedding-store vectors, read only while the store does not answer; none when off. */
  vectorCache?: VectorCache | undefined;
}

/** What stages 2-5 rank: validated ids and resolved weights, under one treatment. */
export interface RankInput {
  userId: string;
  candidates: readonly string[];
  /** Epoch ms; the sequence is taken as of this time. */
  requestTimeMs: number;
  topK: number;
  weights: Record<string, number>;
  /** The models to call (the router's, or an experiment arm's pins). */
  models: ModelSet;
  /** "lite" scores with ranking_heads_lite alone (an experiment arm). */
  scorer: ExperimentScorer;
  /** Snapshot version to pin (Recommend: the one retrieval used; or an experiment arm's); default the active one. */
  snapshotVersion?: string;
  /** The sequence when the caller has fetched it already (Recommend, for its exclusions). */
  sequence?: Promise<SequenceResult>;
}

/** The ranking and what the response and the request log report about it (timings and flags are on the RequestContext). */
export interface RankOutcome {
  items: RankedItem[];
  modelVersions: Record<string, string>;
  snapshotVersion: string;
  unknownItemIds: string[];
}

/** A served request: the response, and what the request log adds to it. */
export interface Served<R> {
  response: R;
  /** The time the ranking was computed as of (epoch ms). */
  requestTimeMs: number;
  /** Candidates ranked (as asked for Rank, as retrieved for Recommend). */
  candidates: number;
  unknownItemIds: string[];
}

/** Handles Rank: all six stages. Thrown as PinrankError for every failure that has no degraded path. */
export async function rankRequest(req: RankRequest, t: Treatment, ctx: RequestContext, deps: RankDeps): Promise<Served<RankResponse>> {
  // 1. Validate; the request's weights, else the user's arms', else the defaults.
  validateRankRequest(req, deps.options.maxCandidates, t.models.heads.headNames);
  const requestTimeMs = req.requestTimeMs || Date.now();
  const out = await rankCandidates(
    {
      userId: req.userId,
      candidates: req.candidateItemIds,
      requestTimeMs,
      topK: req.topK,
      weights: Object.keys(req.headWeights).length > 0 ? req.headWeights : t.headWeights,
      models: t.models,
      scorer: t.scorer,
      ...(t.snapshotVersion ? { snapshotVersion: t.snapshotVersion } : {}),
    },
    ctx,
    deps,
  );
  // 6. Response.
  const response = RankResponse.fromPartial({ ...out, timings: ctx.clock.timings(), degraded: ctx.degraded(), requestId: ctx.requestId, ...experimentFields(t) });
  return { response, requestTimeMs, candidates: req.candidateItemIds.length, unknownItemIds: out.unknownItemIds };
}

/** Stage 2a: the realtime sequence, timed as "features"; an unavailable one is empty and flagged, never an error. */
export function fetchSequence(q: { userId: string; asOfMs: number; includeRecords: boolean; models: ModelSet }, ctx: RequestContext, deps: RankDeps): Promise<SequenceResult> {
  const o = deps.options;
  return ctx.clock.time('features', async () => {
    const query = { userId: q.userId, asOfMs: q.asOfMs, includeRecords: q.includeRecords, length: o.sequenceLength, width: q.models.widths.content, timeoutMs: o.sequenceTimeoutMs };
    const r = await deps.upstreams.sequence(query, ctx);
    if (r.failure) ctx.flag(DegradedFlag.DEGRADED_FLAG_SEQUENCE_UNAVAILABLE, r.failure);
    return r;
  });
}

/** Stages 2-5 for validated input. */
export async function rankCandidates(input: RankInput, ctx: RequestContext, deps: RankDeps): Promise<RankOutcome> {
  const o = deps.options;
  const { models } = input;

  // 2. Fetch: three calls started together. Content vectors belong to no
  // snapshot; the tower lookup reads one (pinned, or the active one it names).
  const lookup = { upstreams: deps.upstreams, models, timeoutMs: o.embeddingsTimeoutMs, cache: deps.vectorCache };
  const sequence = input.sequence ?? fetchSequence({ userId: input.userId, asOfMs: input.requestTimeMs, includeRecords: false, models }, ctx, deps);
  const contentCall = ctx.clock.time('content', () => lookupContent(input.candidates, lookup, ctx));
  const towerCall = ctx.clock.time('tower', () =>
    lookupTower({ userId: input.userId, itemIds: input.candidates, pinned: input.snapshotVersion, mismatch: o.snapshotMismatch }, lookup, ctx),
  );
  // The chunks await it; a failure must not surface as an unhandled rejection before they do.
  towerCall.catch(() => undefined);
  const content = await contentCall;
  const unknown = [...content.unknownItemIds];
  if (unknown.length > 0 && o.unknownCandidates === 'refuse') {
    throw new PinrankError('INVALID_ARGUMENT', `candidate_item_ids: ${unknown.length} unknown item(s): ${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ', ...' : ''}`);
  }
  // Candidates the store could not be asked about (it was down) are dropped like those without vectors, never refused.
  unknown.push(...content.uncachedItemIds);
  if (content.itemIds.length === 0) {
    ctx.flag(DegradedFlag.DEGRADED_FLAG_UNKNOWN_CANDIDATES_DROPPED, `all ${unknown.length} candidate(s) are unknown`);
    return { items: [], modelVersions: {}, snapshotVersion: input.snapshotVersion ?? '', unknownItemIds: unknown };
  }

  // 3 + 4. Encoder, then heads, per chunk; chunks run concurrently.
  const run: ChunkRun = { ctx, deps, models, route: deps.fallback.firstRoute(models, input.scorer, ctx), sequence, tower: towerCall, versions: {} };
  const D = models.widths.content;
  const chunks: Promise<ScoredCandidate[]>[] = [];
  for (let start = 0; start < content.itemIds.length; start += o.chunkSize) {
    const end = Math.min(content.itemIds.length, start + o.chunkSize);
    chunks.push(scoreChunk(run, content.itemIds.slice(start, end), content.vectors.subarray(start * D, end * D)));
  }
  const settled = await Promise.allSettled(chunks);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    // A pool with no usable worker for a call that has no fallback (the heads): the service is unavailable, not broken.
    if (failed.reason instanceof PoolUnavailableError) throw new PinrankError('UNAVAILABLE', failed.reason.message, { cause: failed.reason });
    throw failed.reason;
  }

  // 5. Utility ranking; candidates without a tower vector are dropped, listed and flagged.
  const scored = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
  const scoredIds = new Set(scored.map((c) => c.itemId));
  unknown.push(...content.itemIds.filter((id) => !scoredIds.has(id)));
  if (unknown.length > 0) ctx.flag(DegradedFlag.DEGRADED_FLAG_UNKNOWN_CANDIDATES_DROPPED, `${unknown.length} candidate(s) without vectors dropped`);
  return {
    items: rankByUtility(scored, models.heads.headNames, input.weights, input.topK),
    modelVersions: run.versions,
    snapshotVersion: (await towerCall).snapshotVersion,
    unknownItemIds: unknown,
  };
}

/** What the chunks of one request share. */
interface ChunkRun {
  ctx: RequestContext;
  deps: RankDeps;
  models: ModelSet;
  /** The route every chunk starts on (a chunk may fall back on its own). */
  route: ScoringRoute;
  sequence: Promise<SequenceResult>;
  tower: Promise<TowerVectors>;
  /** Model name → the version that served it. */
  versions: Record<string, string>;
}

/** Stages 3 and 4 for one chunk of candidates with content vectors `cand`. */
async function scoreChunk(run: ChunkRun, ids: string[], cand: Float32Array): Promise<ScoredCandidate[]> {
  const { sequence } = await run.sequence;
  const route = run.route;
  if (route.scorer === 'full' && chains(run, route)) {
    try {
      return await scoreChained(run, ids, cand, sequence, route);
    } catch (err) {
      // As in scoreSplit: a gone or failing pool falls back; a busy one refuses the request.
      if (!(err instanceof PoolUnavailableError)) throw err;
      const next = run.deps.fallback.afterEncoderPoolFailed(run.models, err.message, run.ctx);
      if (next.scorer !== 'full') return scoreSplit(run, ids, cand, sequence, next, true);
      // The heads went down with the encoder's pool: both move to the fallback pool (its workers serve both placements), still chained.
      return onFallbackPool(run, next.encoderPool, () => scoreChained(run, ids, cand, sequence, next));
    }
  }
  return scoreSplit(run, ids, cand, sequence, route, false);
}

/** A fallback pool's call, within its cap: it may wait for a slot up to half the time left (fallback-policy.ts). */
function onFallbackPool<T>(run: ChunkRun, pool: PoolName, call: () => Promise<T>): Promise<T> {
  return run.deps.fallback.onFallbackPool(pool, call, { maxWaitMs: run.ctx.deadline.remainingMs() / 2, signal: run.ctx.parent?.signal });
}

/**
 * Whether these models may be chained on the GPU pool should its workers compute on a CPU with the
 * heads loaded (autoChain): the encoder placed on the GPU pool, the heads on the CPU pool, so the
 * heads lose nothing by running on those workers.
 */
export function mayChainOnCpuGpuPool(o: Pick<ResolvedRouterOptions, 'chainModels' | 'autoChain'>, models: ModelSet): boolean {
  return o.chainModels && o.autoChain && models.encoder.placement === 'gpu' && models.heads.placement === 'cpu';
}

/**
 * Whether the encoder and the heads of `route` run as one chained call (chaining on): both placed in
 * its pool, or (autoChain) the route is on the GPU pool and every worker of it computes on a CPU and
 * has the heads loaded.
 */
function chains(run: ChunkRun, route: ScoringRoute & { scorer: 'full' }): boolean {
  const { options, inference } = run.deps;
  const { encoder, heads } = run.models;
  if (!options.chainModels) return false;
  if (heads.placement === route.encoderPool) return true;
  return route.encoderPool === 'gpu' && mayChainOnCpuGpuPool(options, run.models) && inference.computesOnCpuWith?.('gpu', encoder, heads) === true;
}

/** The candidates of a chunk the snapshot has tower vectors for, with their rows in the chunk. */
function withTower(ids: readonly string[], tower: TowerVectors): { ids: string[]; rows: number[] } {
  const kept = { ids: [] as string[], rows: [] as number[] };
  ids.forEach((id, i) => {
    if (tower.rowOf.has(id)) {
      kept.ids.push(id);
      kept.rows.push(i);
    }
  });
  return kept;
}

/**
 * Stages 3 and 4 as one ModelInfer that runs the encoder and feeds its output
 * to the heads on the same worker (chained-infer.ts in @pinrank/inference):
 * the [N, encoded] tensor never crosses the wire. Timed as "encoder+heads".
 */
async function scoreChained(run: ChunkRun, ids: string[], cand: Float32Array, sequence: SequenceResult['sequence'], route: ScoringRoute & { scorer: 'full' }): Promise<ScoredCandidate[]> {
  const { deps, models } = run;
  const tower = await run.tower;
  const kept = withTower(ids, tower);
  const n = kept.ids.length;
  if (n === 0) return [];
  const D = models.widths.content;
  const keptCand = n === ids.length ? cand : gatherRows(cand, kept.rows, D);
  const inputs: NamedTensors = [...encoderInputs(sequence, keptCand, n, deps.options.sequenceMode), ...headsFeatureInputs(kept.ids, tower, sequence, deps.popularity)];
  const H = models.heads.headNames.length;
  const probs = await infer(run, 'encoder+heads', { model: models.encoder, then: models.heads, pool: route.encoderPool, inputs, output: { name: 'probs', rows: n, cols: H }, lastResort: route.lastResort });
  return kept.ids.map((itemId, k) => ({ itemId, probs: probs.subarray(k * H, (k + 1) * H) }));
}

/** Stages 3 and 4 as two calls, the encoder on `route`'s pool and the heads on theirs; `onFallback`: `route` is a fallback already. */
async function scoreSplit(run: ChunkRun, ids: string[], cand: Float32Array, sequence: SequenceResult['sequence'], start: ScoringRoute, onFallback: boolean): Promise<ScoredCandidate[]> {
  const { ctx, deps, models } = run;

  // 3. Encoder, on the route's pool; when that pool cannot run it, the fallback policy picks the next route.
  let route = start;
  let encoded: Float32Array | undefined;
  if (route.scorer === 'full') {
    const inputs = encoderInputs(sequence, cand, ids.length, deps.options.sequenceMode);
    const encode = (r: ScoringRoute & { scorer: 'full' }): Promise<Float32Array> =>
      infer(run, 'encoder', { model: models.encoder, pool: r.encoderPool, inputs, output: { name: 'encoded', rows: ids.length, cols: models.widths.encoded }, lastResort: r.lastResort });
    const encodeOnFallback = (fallback: ScoringRoute & { scorer: 'full' }): Promise<Float32Array> => onFallbackPool(run, fallback.encoderPool, () => encode(fallback));
    if (onFallback) {
      encoded = await encodeOnFallback(route);
    } else {
      try {
        encoded = await encode(route);
      } catch (err) {
        // Only a gone or failing pool falls back; a busy one (RESOURCE_EXHAUSTED) refuses the request instead.
        if (!(err instanceof PoolUnavailableError)) throw err;
        route = deps.fallback.afterEncoderPoolFailed(models, err.message, ctx);
        // On a fallback pool that also runs the heads (the CPU pool), both go as one chained call.
        if (route.scorer === 'full' && chains(run, route)) {
          const next = route;
          return onFallbackPool(run, next.encoderPool, () => scoreChained(run, ids, cand, sequence, next));
        }
        if (route.scorer === 'full') encoded = await encodeOnFallback(route);
      }
    }
  }

  // 4. Heads, for the candidates the snapshot has tower vectors for.
  const tower = await run.tower;
  const kept = withTower(ids, tower);
  const n = kept.ids.length;
  if (n === 0) return [];
  const features = headsFeatureInputs(kept.ids, tower, sequence, deps.popularity);
  const heads = deps.fallback.headsOf(models, route);
  const E = models.widths.encoded;
  const inputs: NamedTensors = encoded ? [['encoded', { dtype: 'float32', dims: [n, E], data: n === ids.length ? encoded : gatherRows(encoded, kept.rows, E) }], ...features] : features;
  const H = heads.model.headNames.length;
  const probs = await infer(run, 'heads', { model: heads.model, pool: heads.pool, inputs, output: { name: 'probs', rows: n, cols: H }, lastResort: heads.lastResort });
  return kept.ids.map((itemId, k) => ({ itemId, probs: probs.subarray(k * H, (k + 1) * H) }));
}

/** One model call, timed as `stage`; records the version that served it. */
async function infer(run: ChunkRun, stage: 'encoder' | 'heads' | 'encoder+heads', call: ModelCall): Promise<Float32Array> {
  const res = await run.ctx.clock.time(stage, () => run.deps.inference.run(call, run.ctx));
  run.versions[call.model.name] = res.modelVersion;
  if (call.then && res.thenVersion) run.versions[call.then.name] = res.thenVersion;
  return res.data;
}
