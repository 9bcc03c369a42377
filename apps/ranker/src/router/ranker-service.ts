import { degradedFlagToJSON, RankerService, type DegradedFlag, type RankedItem, type StageTiming } from '@pinrank/proto';
import { defineService, PinrankError, type CallContext, type ServiceRegistration } from '@pinrank/service-kit';
import { type AdmissionController, type AdmissionOutcome, type AdmissionTicket } from './admission';
import { type ExperimentStore } from './experiments/experiment-store';
import { type Treatment } from './experiments/experiment-plan';
import { rankRequest, type RankDeps, type Served } from './rank-request';
import { recommendRequest } from './recommend-request';
import { RequestContext } from './request-context';
import { OverloadError } from './overload-error';
import { type RequestLog } from './request-log';
import { type RouterMetrics } from './router-metrics';

/** What the Ranker service runs against: the pipeline's dependencies, the experiments and the request log. */
export interface RankerServiceDeps extends RankDeps {
  experiments: ExperimentStore;
  requestLog: RequestLog | undefined;
  /** Stage latency and degraded-response metrics; none when absent. */
  routerMetrics?: RouterMetrics;
  /** Admission control of incoming requests; none admits everything. */
  admission?: AdmissionController;
}

/** What a served response has that the log and the counters read. */
interface LoggedResponse {
  items: RankedItem[];
  timings: StageTiming[];
  modelVersions: Record<string, string>;
  snapshotVersion: string;
  degraded: DegradedFlag[];
  requestId: string;
}

/**
 * The Ranker gRPC service: each call gets one RequestContext and the user's
 * treatment, runs its pipeline (rank-request.ts, recommend-request.ts), and is
 * counted under the user's arms, put on the span and written to the request log.
 */
export function rankerService(deps: RankerServiceDeps): ServiceRegistration {
  const serve = async <R extends LoggedResponse>(
    method: 'Rank' | 'Recommend',
    userId: string,
    call: CallContext,
    run: (t: Treatment, ctx: RequestContext) => Promise<Served<R>>,
  ): Promise<R> => {
    const ctx = RequestContext.fromCall(call, deps.options);
    const ticket = await admit(deps, method, ctx, call);
    const t = deps.experiments.current.treatmentOf(userId);
    annotate(call, t);
    let served: Served<R>;
    try {
      served = await measured(deps, method, t, () => run(t, ctx));
    } catch (err) {
      ticket?.release(admissionOutcome(err));
      if (err instanceof OverloadError) deps.routerMetrics?.observeRefusal(method, err.reason);
      throw err;
    }
    ticket?.release('ok');
    call.span.setAttributes({ 'pinrank.candidate_count': served.candidates, 'pinrank.snapshot_version': served.response.snapshotVersion, 'pinrank.request_id': ctx.requestId });
    writeLog(deps.requestLog, method, userId, served, t, call);
    return served.response;
  };
  return defineService(RankerService, {
    rank: (req, call) => serve('Rank', req.userId, call, (t, ctx) => rankRequest(req, t, ctx, deps)),
    recommend: (req, call) => serve('Recommend', req.userId, call, (t, ctx) => recommendRequest(req, t, ctx, deps)),
  });
}

/**
 * Admits the request (perhaps after a short wait for a slot) or refuses it
 * RESOURCE_EXHAUSTED (counted and on the span); undefined when admission control is off.
 */
async function admit(deps: RankerServiceDeps, method: 'Rank' | 'Recommend', ctx: RequestContext, call: CallContext): Promise<AdmissionTicket | undefined> {
  if (!deps.admission) return undefined;
  try {
    return await deps.admission.admit(ctx.deadline.remainingMs(), call.signal);
  } catch (err) {
    if (err instanceof OverloadError) {
      deps.routerMetrics?.observeRefusal(method, err.reason);
      call.span.setAttributes({ 'pinrank.refused': err.reason });
    }
    throw err;
  }
}

/** What a failed request says about load: refused or abandoned downstream for load shrinks the limit; client mistakes say nothing. */
function admissionOutcome(err: unknown): AdmissionOutcome {
  const code = PinrankError.from(err).code;
  return code === 'RESOURCE_EXHAUSTED' || code === 'DEADLINE_EXCEEDED' || code === 'UNAVAILABLE' ? 'overload' : 'ignore';
}

/** Puts the user's experiment arms on the request's span. */
function annotate(call: CallContext, t: Treatment): void {
  call.span.setAttributes({
    'pinrank.experiment': t.arms[0]?.experiment ?? '',
    'pinrank.arm': t.arms[0]?.name ?? '',
    'pinrank.experiment.assignments': t.arms.map((a) => a.key),
    'pinrank.experiment.holdout': t.holdout,
  });
}

/** Runs a request; counts it under the user's arms with its status, latency and item count, and its stages and flags in the router metrics. */
async function measured<R extends LoggedResponse>(deps: RankerServiceDeps, method: 'Rank' | 'Recommend', t: Treatment, run: () => Promise<Served<R>>): Promise<Served<R>> {
  const { experiments } = deps;
  const start = performance.now();
  const seconds = (): number => (performance.now() - start) / 1000;
  try {
    const served = await run();
    const res = served.response;
    deps.routerMetrics?.observe(method, res.timings, res.degraded);
    experiments.metrics.record(t, { method, code: 'OK', seconds: seconds(), items: res.items.length, degraded: res.degraded.length > 0 });
    return served;
  } catch (err) {
    experiments.metrics.record(t, { method, code: PinrankError.from(err).code, seconds: seconds(), items: 0, degraded: false });
    throw err;
  }
}

/** One line per served request in the request log (when one is configured). */
function writeLog<R extends LoggedResponse>(log: RequestLog | undefined, method: 'Rank' | 'Recommend', userId: string, served: Served<R>, t: Treatment, call: CallContext): void {
  if (!log) return;
  const res = served.response;
  const heads = t.models.heads.headNames;
  log.write({
    ts: Date.now(),
    requestId: res.requestId,
    traceId: call.span.spanContext().traceId,
    method,
    userId,
    requestTimeMs: served.requestTimeMs,
    candidates: served.candidates,
    items: res.items.map((i) => [i.itemId, i.score, heads.map((h) => i.headScores[h] ?? 0)]),
    heads,
    modelVersions: res.modelVersions,
    snapshotVersion: res.snapshotVersion,
    degraded: res.degraded.map(degradedFlagToJSON),
    unknownItemIds: served.unknownItemIds,
    ...(t.arms[0] ? { experiment: t.arms[0].experiment, arm: t.arms[0].name, assignments: t.arms.map((a) => [a.layer, a.experiment, a.name]) } : {}),
    ...(t.holdout ? { holdout: true } : {}),
  });
}
