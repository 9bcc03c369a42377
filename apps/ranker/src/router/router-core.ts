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
import { assignArm } from './experiment';
import { type RankCall, type RankDeps, type RankOutcome, RankPipeline } from './rank-pipeline';
import { type RequestLog } from './request-log';
import { validateRankRequest, validateRecommendRequest } from './validate';

/** Dependencies of the router's request handling. */
export interface RouterCoreDeps extends RankDeps {
  requestLog: RequestLog | undefined;
}

/** The Ranker API's logic, independent of the gRPC wiring: Rank and Recommend over a {@link RankPipeline}. */
export class RouterCore {
  private readonly pipeline: RankPipeline;

  constructor(private readonly deps: RouterCoreDeps) {
    this.pipeline = new RankPipeline(deps);
  }

  /** Handles Rank: validation, weights (request > experiment arm > defaults), the pipeline, the request log. */
  async rank(req: RankRequest, ctx: CallContext): Promise<RankResponse> {
    const { options: o, models } = this.deps;
    validateRankRequest(req, o.maxCandidates, models.heads.headNames);
    const call = this.callFor(ctx);
    const assignment = assignArm(o.experiment, req.userId);
    const weights = Object.keys(req.headWeights).length > 0 ? req.headWeights : (assignment?.arm.headWeights ?? o.headWeights);
    const requestTimeMs = req.requestTimeMs || Date.now();
    const out = await this.pipeline.rank(
      { userId: req.userId, candidates: req.candidateItemIds, requestTimeMs, topK: req.topK, weights },
      call,
    );
    const res = RankResponse.fromPartial({
      ...out,
      requestId: call.requestId,
      experiment: assignment?.experiment ?? '',
      arm: assignment?.arm.name ?? '',
    });
    ctx.span.setAttributes({
      'pinrank.candidate_count': req.candidateItemIds.length,
      'pinrank.snapshot_version': out.snapshotVersion,
      'pinrank.request_id': res.requestId,
    });
    this.log('Rank', req.userId, requestTimeMs, req.candidateItemIds.length, out, res.requestId, res.experiment, res.arm);
    return res;
  }

  /**
   * Handles Recommend: the realtime sequence (with records, for the saved and
   * hidden items to exclude) → Retrieve on the user's vector → Rank over the
   * retrieved items in the same snapshot → top k. A user unknown to retrieval
   * (or retrieval unavailable) gets the popularity list ranked instead, flagged.
   */
  async recommend(req: RecommendRequest, ctx: CallContext): Promise<RecommendResponse> {
    const { options: o, upstreams, popularity } = this.deps;
    validateRecommendRequest(req, o.maxCandidates);
    const call = this.callFor(ctx);
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
      const res = await upstreams.retrieve({ query: { $case: 'userId', value: req.userId }, k: Math.min(wanted, 1000), excludeItemIds: exclude }, o.embeddingsTimeoutMs, call);
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
    const assignment = assignArm(o.experiment, req.userId);
    const weights = assignment?.arm.headWeights ?? o.headWeights;
    const out = await this.pipeline.rank(
      {
        userId: req.userId,
        candidates,
        requestTimeMs,
        topK: Math.min(req.k, candidates.length),
        weights,
        sequence: Promise.resolve(seq),
        ...(snapshotVersion ? { snapshotVersion } : {}),
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
      experiment: assignment?.experiment ?? '',
      arm: assignment?.arm.name ?? '',
    });
    this.log('Recommend', req.userId, requestTimeMs, candidates.length, out, res.requestId, res.experiment, res.arm);
    return res;
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
    experiment: string,
    arm: string,
  ): void {
    const log = this.deps.requestLog;
    if (!log) return;
    const heads = this.deps.models.heads.headNames;
    log.write({
      ts: Date.now(),
      requestId,
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
      ...(experiment ? { experiment, arm } : {}),
    });
  }
}
