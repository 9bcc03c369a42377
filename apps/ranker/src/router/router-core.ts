import { randomUUID } from 'node:crypto';
import {
  degradedFlagToJSON,
  DegradedFlag,
  RankResponse,
  RecommendResponse,
  StageTiming,
  type RankRequest,
  type RecommendRequest,
} from '@pinrank/proto';
import { PinrankError, type CallContext } from '@pinrank/service-kit';
import { RequestDeadline } from './deadline';
import { type ExperimentStore } from './experiments/experiment-store';
import { type Treatment } from './experiments/experiment-plan';
import { type RankCall, type RankDeps, type RankOutcome, RankPipeline } from './rank-pipeline';
import { type RequestLog } from './request-log';
import { type RouterMetrics } from './router-metrics';
import { validateRankRequest, validateRecommendRequest } from './validate';

/** Dependencies of the router's request handling. */
export interface RouterCoreDeps extends RankDeps {
  requestLog: RequestLog | undefined;
  experiments: ExperimentStore;
  /** Stage latency and degraded-response metrics; none when absent. */
  routerMetrics?: RouterMetrics;
}

/** The experiment fields of a response. */
function experimentFields(t: Treatment): Pick<RankResponse, 'experiment' | 'arm' | 'assignments' | 'holdout'> {
  return {
    experiment: t.arms[0]?.experiment ?? '',
    arm: t.arms[0]?.name ?? '',
    assignments: t.arms.map((a) => ({ layer: a.layer, experiment: a.experiment, arm: a.name })),
    holdout: t.holdout,
  };
}

/** The Ranker API's logic, independent of the gRPC wiring: Rank and Recommend over a {@link RankPipeline}. */
export class RouterCore {
  private readonly pipeline: RankPipeline;

  constructor(private readonly deps: RouterCoreDeps) {
    this.pipeline = new RankPipeline(deps);
  }

  /** Handles Rank: validation, the user's experiment treatment, weights (request > arm > defaults), the pipeline, the request log. */
  async rank(req: RankRequest, ctx: CallContext): Promise<RankResponse> {
    const { options: o } = this.deps;
    const t = this.deps.experiments.current.treatmentOf(req.userId);
    validateRankRequest(req, o.maxCandidates, t.models.heads.headNames);
    const call = this.callFor(ctx);
    this.annotate(ctx, t);
    const weights = Object.keys(req.headWeights).length > 0 ? req.headWeights : t.headWeights;
    const requestTimeMs = req.requestTimeMs || Date.now();
    const out = await this.measured('Rank', t, () =>
      this.pipeline.rank(
        {
          userId: req.userId,
          candidates: req.candidateItemIds,
          requestTimeMs,
          topK: req.topK,
          weights,
          models: t.models,
          scorer: t.scorer,
          ...(t.snapshotVersion ? { snapshotVersion: t.snapshotVersion } : {}),
        },
        call,
      ),
    );
    const res = RankResponse.fromPartial({ ...out, requestId: call.requestId, ...experimentFields(t) });
    ctx.span.setAttributes({
      'pinrank.candidate_count': req.candidateItemIds.length,
      'pinrank.snapshot_version': out.snapshotVersion,
      'pinrank.request_id': res.requestId,
    });
    this.log('Rank', req.userId, requestTimeMs, req.candidateItemIds.length, out, res.requestId, t, ctx);
    return res;
  }

  /**
   * Handles Recommend: the realtime sequence (with records, for the saved and
   * hidden items to exclude) → Retrieve on the user's vector → Rank over the
   * retrieved items in the same snapshot → top k. A user unknown to retrieval
   * (or retrieval unavailable) gets the popularity list ranked instead, flagged.
   */
  async recommend(req: RecommendRequest, ctx: CallContext): Promise<RecommendResponse> {
    const { options: o } = this.deps;
    validateRecommendRequest(req, o.maxCandidates);
    const t = this.deps.experiments.current.treatmentOf(req.userId);
    const call = this.callFor(ctx);
    this.annotate(ctx, t);
    return this.measured('Recommend', t, () => this.recommendFor(req, ctx, call, t));
  }

  private async recommendFor(req: RecommendRequest, ctx: CallContext, call: RankCall, t: Treatment): Promise<RecommendResponse> {
    const { options: o, upstreams, popularity } = this.deps;
    const t0 = performance.now();
    const requestTimeMs = req.requestTimeMs || Date.now();
    const wanted = Math.max(req.k, req.candidates || o.recommendCandidates);
    const seq = await upstreams.sequence(req.userId, requestTimeMs, o.sequenceLength, true, o.sequenceTimeoutMs, call);
    const exclude = [...new Set(seq.sequence.savedOrHidden)];
    const tRetrieve = performance.now();
    let candidates: string[];
    let snapshotVersion: string | undefined;
    let fallbackReason: string | undefined;
    try {
      const res = await upstreams.retrieve(
        { query: { $case: 'userId', value: req.userId }, k: Math.min(wanted, 1000), excludeItemIds: exclude, snapshotVersion: t.snapshotVersion ?? '' },
        o.embeddingsTimeoutMs,
        call,
      );
      candidates = res.items.map((i) => i.itemId);
      snapshotVersion = res.snapshotVersion || undefined;
      if (candidates.length === 0) fallbackReason = 'retrieval returned no items';
    } catch (err) {
      const e = PinrankError.from(err);
      if (e.code !== 'NOT_FOUND' && e.code !== 'UNAVAILABLE' && e.code !== 'FAILED_PRECONDITION') throw e;
      candidates = [];
      fallbackReason = e.message;
    }
    const retrieveMs = performance.now() - tRetrieve;
    if (fallbackReason !== undefined) {
      const excluded = new Set(exclude);
      candidates = popularity.ranked.filter((id) => !excluded.has(id)).slice(0, wanted);
      ctx.logger.info({ userId: req.userId, reason: fallbackReason }, 'recommend: popularity fallback');
      if (candidates.length === 0) {
        throw new PinrankError('UNAVAILABLE', `no candidates for user ${req.userId}: ${fallbackReason}, and no popularity list is configured`);
      }
    }
    const pinned = snapshotVersion ?? t.snapshotVersion;
    const out = await this.pipeline.rank(
      {
        userId: req.userId,
        candidates,
        requestTimeMs,
        topK: Math.min(req.k, candidates.length),
        weights: t.headWeights,
        models: t.models,
        scorer: t.scorer,
        sequence: Promise.resolve(seq),
        ...(pinned ? { snapshotVersion: pinned } : {}),
      },
      call,
    );
    if (fallbackReason !== undefined) out.degraded = [...new Set([...out.degraded, DegradedFlag.DEGRADED_FLAG_POPULARITY_FALLBACK])].sort((a, b) => a - b);
    const timings = [
      StageTiming.fromPartial({ stage: 'retrieve', ms: Math.round(retrieveMs * 1000) / 1000 }),
      ...out.timings.filter((t) => t.stage !== 'total'),
      StageTiming.fromPartial({ stage: 'total', ms: Math.round((performance.now() - t0) * 1000) / 1000 }),
    ];
    const res = RecommendResponse.fromPartial({
      items: out.items,
      modelVersions: out.modelVersions,
      snapshotVersion: out.snapshotVersion,
      timings,
      degraded: out.degraded,
      requestId: call.requestId,
      ...experimentFields(t),
    });
    this.log('Recommend', req.userId, requestTimeMs, candidates.length, out, res.requestId, t, ctx);
    return res;
  }

  /** Puts the user's experiment arms on the request's span. */
  private annotate(ctx: CallContext, t: Treatment): void {
    ctx.span.setAttributes({
      'pinrank.experiment': t.arms[0]?.experiment ?? '',
      'pinrank.arm': t.arms[0]?.name ?? '',
      'pinrank.experiment.assignments': t.arms.map((a) => a.key),
      'pinrank.experiment.holdout': t.holdout,
    });
  }

  /** Runs a request and counts it under the user's arms with its status, latency and item count. */
  private async measured<R extends { items: unknown[]; degraded: DegradedFlag[]; timings: StageTiming[] }>(method: 'Rank' | 'Recommend', t: Treatment, run: () => Promise<R>): Promise<R> {
    const start = performance.now();
    const seconds = (): number => (performance.now() - start) / 1000;
    try {
      const out = await run();
      this.deps.routerMetrics?.observe(method, out.timings, out.degraded);
      this.deps.experiments.metrics.record(t, { method, code: 'OK', seconds: seconds(), items: out.items.length, degraded: out.degraded.length > 0 });
      return out;
    } catch (err) {
      this.deps.experiments.metrics.record(t, { method, code: PinrankError.from(err).code, seconds: seconds(), items: 0, degraded: false });
      throw err;
    }
  }

  private callFor(ctx: CallContext): RankCall {
    const o = this.deps.options;
    const given = ctx.metadata.get('x-request-id')[0];
    const requestId = typeof given === 'string' && given.length > 0 && given.length <= 128 ? given : randomUUID();
    return {
      deadline: RequestDeadline.fromCall(ctx.deadline, o.defaultDeadlineMs, o.deadlineMarginMs),
      requestId,
      parent: ctx,
      onDegraded: (flag, reason) => ctx.logger.info({ requestId, flag: degradedFlagToJSON(flag), reason }, 'degraded path'),
    };
  }

  private log(
    method: 'Rank' | 'Recommend',
    userId: string,
    requestTimeMs: number,
    candidates: number,
    out: RankOutcome,
    requestId: string,
    t: Treatment,
    ctx: CallContext,
  ): void {
    const log = this.deps.requestLog;
    if (!log) return;
    const heads = t.models.heads.headNames;
    log.write({
      ts: Date.now(),
      requestId,
      traceId: ctx.span.spanContext().traceId,
      method,
      userId,
      requestTimeMs,
      candidates,
      items: out.items.map((i) => [i.itemId, i.score, heads.map((h) => i.headScores[h] ?? 0)]),
      heads,
      modelVersions: out.modelVersions,
      snapshotVersion: out.snapshotVersion,
      degraded: out.degraded.map(degradedFlagToJSON),
      unknownItemIds: out.unknownItemIds,
      ...(t.arms[0] ? { experiment: t.arms[0].experiment, arm: t.arms[0].name, assignments: t.arms.map((a) => [a.layer, a.experiment, a.name]) } : {}),
      ...(t.holdout ? { holdout: true } : {}),
    });
  }
}
