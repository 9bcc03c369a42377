import { Counter, Histogram, type Registry } from 'prom-client';
import { degradedFlagToJSON, type DegradedFlag, type StageTiming } from '@pinrank/proto';

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

  constructor(registry: Registry) {
    const registers = [registry];
    this.stages = new Histogram({
      name: 'pinrank_router_stage_duration_seconds',
      help: 'Time of each stage of a served request (features, content, tower, encoder, heads, retrieve, total), by method.',
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

  /** Records one response: its stage timings and degraded flags. */
  observe(method: 'Rank' | 'Recommend', timings: readonly StageTiming[], degraded: readonly DegradedFlag[]): void {
    for (const t of timings) this.stages.observe({ method, stage: t.stage }, t.ms / 1000);
    this.responses.inc({ method, degraded: degraded.length > 0 ? 'true' : 'false' });
    for (const f of degraded) this.degraded.inc({ method, flag: flagLabel(f) });
  }
}
