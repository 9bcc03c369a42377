import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { degradedFlagToJSON, type DegradedFlag, type StageTiming } from '@pinrank/proto';
import { type AdmissionController } from './admission';
import { type OverloadReason } from './overload-error';
import { type VectorCache } from './vector-cache';

/** Seconds buckets for request stages: 0.5 ms .. 5 s. */
const STAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** "DEGRADED_FLAG_LITE_MODEL" → "lite_model". */
const flagLabel = (f: DegradedFlag): string => degradedFlagToJSON(f).replace(/^DEGRADED_FLAG_/, '').toLowerCase();

/**
 * The router's request metrics: the per-stage latency that responses report
 * (`timings`) as a histogram, and degraded responses by flag, so dashboards
 * and alerts see what each response says about itself.
 */
export class RouterMetrics {
  private readonly stages: Histogram<'method' | 'stage'>;
  private readonly responses: Counter<'method' | 'degraded'>;
  private readonly degraded: Counter<'method' | 'flag'>;
  private readonly refused: Counter<'method' | 'reason'>;
  /** Request log entries dropped (the NATS request log while NATS is unreachable and its outage buffer is full). */
  readonly requestLogDropped: Counter;

  /**
   * `admission`: the controller whose limit, in-flight count and expected
   * latency are reported as gauges (none when off); `vectorCache`: the copy
   * of the embedding-store's answers whose rows are reported (none when off).
   */
  constructor(registry: Registry, admission?: AdmissionController, vectorCache?: VectorCache) {
    const registers = [registry];
    if (vectorCache) {
      new Gauge({
        name: 'pinrank_router_vector_cache_rows',
        help: "Rows held in the router's copy of the embedding-store's answers, by kind (content; tower and user, summed over the snapshots kept).",
        labelNames: ['kind'],
        registers,
        collect() {
          const rows = vectorCache.rows();
          for (const kind of ['content', 'tower', 'user'] as const) this.set({ kind }, rows[kind]);
        },
      });
    }
    this.requestLogDropped = new Counter({
      name: 'pinrank_router_request_log_dropped_total',
      help: 'Request log entries dropped: the NATS request log drops what does not fit its outage buffer while NATS is unreachable.',
      registers,
    });
    this.refused = new Counter({
      name: 'pinrank_router_refused_total',
      help: 'Requests refused RESOURCE_EXHAUSTED for load, by method and reason (limit, deadline, pool_busy, fallback_full).',
      labelNames: ['method', 'reason'],
      registers,
    });
    if (admission) {
      new Gauge({
        name: 'pinrank_router_admission_limit',
        help: 'The adaptive concurrency limit of incoming Rank and Recommend requests.',
        registers,
        collect() {
          this.set(admission.limit);
        },
      });
      new Gauge({
        name: 'pinrank_router_admission_inflight',
        help: 'Incoming requests admitted and not yet answered.',
        registers,
        collect() {
          this.set(admission.inflight);
        },
      });
      new Gauge({
        name: 'pinrank_router_admission_queued',
        help: 'Incoming requests waiting for a slot under the concurrency limit.',
        registers,
        collect() {
          this.set(admission.queued);
        },
      });
      new Gauge({
        name: 'pinrank_router_admission_expected_latency_seconds',
        help: 'The latency a new request is expected to take (moving average of recent answers), which the deadline check compares with the time a request has left.',
        registers,
        collect() {
          this.set((admission.expectedMs ?? 0) / 1000);
        },
      });
    }
    this.stages = new Histogram({
      name: 'pinrank_router_stage_duration_seconds',
      help: 'Time of each stage of a served request (features, content, tower, encoder, heads or encoder+heads when chained, retrieve, total), by method.',
      labelNames: ['method', 'stage'],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.responses = new Counter({
      name: 'pinrank_router_responses_total',
      help: 'Responses sent, by method and whether any degraded-path flag was set (degraded="true").',
      labelNames: ['method', 'degraded'],
      registers,
    });
    this.degraded = new Counter({
      name: 'pinrank_router_degraded_responses_total',
      help: 'Responses that took a degraded path, by method and flag (a response with two flags counts under each).',
      labelNames: ['method', 'flag'],
      registers,
    });
  }

  /** Records one request refused for load. */
  observeRefusal(method: 'Rank' | 'Recommend', reason: OverloadReason): void {
    this.refused.inc({ method, reason });
  }

  /** Records one response: its stage timings and degraded flags. */
  observe(method: 'Rank' | 'Recommend', timings: readonly StageTiming[], degraded: readonly DegradedFlag[]): void {
    for (const t of timings) this.stages.observe({ method, stage: t.stage }, t.ms / 1000);
    this.responses.inc({ method, degraded: degraded.length > 0 ? 'true' : 'false' });
    for (const f of degraded) this.degraded.inc({ method, flag: flagLabel(f) });
  }
}
