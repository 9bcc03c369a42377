import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type BatchObserver, type RejectReason } from './dynamic-batcher';
import { ModelStatisticsRecorder } from './model-statistics';

/** The lifecycle states `pinrank_model_state` reports (the names RepositoryIndex uses). */
const MODEL_STATES = ['LOADING', 'READY', 'UNLOADING', 'UNAVAILABLE'] as const;

/** One model version and its lifecycle state, as the model manager's index lists it. */
export interface VersionState {
  name: string;
  version: string;
  state: (typeof MODEL_STATES)[number];
}

const SECONDS_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048];

/**
 * Prometheus metrics of the inference worker, per model and version: queue
 * and compute time, batch sizes, requests in flight, rejections, request
 * success and failure (Triton's nv_inference_request_success/_failure), the
 * lifecycle state and the execution provider in use; plus the cumulative
 * statistics ModelStatistics answers, fed by the same batch observer.
 */
export class InferenceMetrics {
  /** Triton-style cumulative statistics per model version. */
  readonly statistics: ModelStatisticsRecorder;
  private readonly success: Counter<'model' | 'version'>;
  private readonly failure: Counter<'model' | 'version' | 'reason'>;
  private readonly state: Gauge<'model' | 'version' | 'state'>;
  private states: (() => readonly VersionState[]) | undefined;
  private readonly queue: Histogram<'model' | 'version'>;
  private readonly compute: Histogram<'model' | 'version' | 'provider'>;
  private readonly batchSize: Histogram<'model' | 'version'>;
  private readonly batches: Counter<'model' | 'version' | 'outcome'>;
  private readonly rejections: Counter<'model' | 'version' | 'reason'>;
  private readonly inflight: Gauge<'model' | 'version'>;
  private readonly provider: Gauge<'model' | 'version' | 'provider'>;
  private readonly isolated: Counter<'model' | 'version'>;
  private readonly newestFirst: Counter<'model' | 'version'>;
  private readonly failedRequests: Counter<'model' | 'version' | 'blamed'>;
  private readonly streamCancels: Counter<'outcome'>;

  constructor(registry: Registry, now: () => number = Date.now) {
    const registers = [registry];
    this.statistics = new ModelStatisticsRecorder(now);
    this.success = new Counter({ name: 'pinrank_inference_request_success_total', help: 'Inference requests that completed, by model and version (a batch of many requests counts each).', labelNames: ['model', 'version'], registers });
    this.failure = new Counter({ name: 'pinrank_inference_request_failure_total', help: 'Inference requests that failed, by model, version and reason (queue_full, cannot_meet_deadline, deadline, cancelled, stopped, invalid, error).', labelNames: ['model', 'version', 'reason'], registers });
    this.state = new Gauge({
      name: 'pinrank_model_state',
      help: 'Lifecycle state of each model version this worker knows: 1 for its current state (LOADING, READY, UNLOADING, UNAVAILABLE), 0 for the others.',
      labelNames: ['model', 'version', 'state'],
      registers,
      collect: () => this.refreshStates(),
    });
    this.queue = new Histogram({ name: 'inference_queue_duration_seconds', help: 'Time a request waited in the batcher queue.', labelNames: ['model', 'version'], buckets: SECONDS_BUCKETS, registers });
    this.compute = new Histogram({ name: 'inference_compute_duration_seconds', help: 'Time one batch spent in the model.', labelNames: ['model', 'version', 'provider'], buckets: SECONDS_BUCKETS, registers });
    this.batchSize = new Histogram({ name: 'inference_batch_size', help: 'Rows (axis 0 of the outputs) per executed batch.', labelNames: ['model', 'version'], buckets: BATCH_BUCKETS, registers });
    this.batches = new Counter({ name: 'inference_batches_total', help: 'Executed batches by outcome (ok, error).', labelNames: ['model', 'version', 'outcome'], registers });
    this.rejections = new Counter({ name: 'inference_rejections_total', help: 'Requests refused or dropped before compute, by reason (queue_full, cannot_meet_deadline, deadline, cancelled, stopped, invalid).', labelNames: ['model', 'version', 'reason'], registers });
    this.inflight = new Gauge({ name: 'inference_inflight_requests', help: 'Requests queued or computing.', labelNames: ['model', 'version'], registers, collect: () => this.refresh() });
    this.newestFirst = new Counter({
      name: 'inference_batches_newest_first_total',
      help: 'Batches taken from the newest end of a standing queue (arrivals outpaced the model; the oldest requests were left to expire).',
      labelNames: ['model', 'version'],
      registers,
    });
    this.isolated = new Counter({ name: 'inference_batch_splits_total', help: 'Failed batches split and re-run until the failing requests ran alone.', labelNames: ['model', 'version'], registers });
    this.failedRequests = new Counter({
      name: 'inference_request_failures_total',
      help: 'Requests that failed in the model, by what was blamed: request (its inputs; answered INVALID_ARGUMENT) or model (answered INTERNAL).',
      labelNames: ['model', 'version', 'blamed'],
      registers,
    });
    this.streamCancels = new Counter({
      name: 'inference_stream_cancels_total',
      help: 'Cancel messages on ModelStreamInfer streams, by outcome: cancelled (a request with that id was in flight) or not_in_flight (it had been answered, or never came).',
      labelNames: ['outcome'],
      registers,
    });
    this.provider = new Gauge({ name: 'inference_model_provider', help: '1 for the execution provider each loaded model version runs on.', labelNames: ['model', 'version', 'provider'], registers });
  }

  /** A batch observer that records into these metrics for one model version. */
  observer(model: string, version: string, provider: string): BatchObserver {
    return {
      onBatch: (info) => {
        for (const q of info.queueMs) this.queue.observe({ model, version }, q / 1000);
        this.compute.observe({ model, version, provider }, info.computeMs / 1000);
        this.batchSize.observe({ model, version }, info.size);
        this.batches.inc({ model, version, outcome: info.ok ? 'ok' : 'error' });
        if (info.newestFirst) this.newestFirst.inc({ model, version });
        // A failed batch is split and its requests are counted by onIsolated.
        if (info.ok) this.success.inc({ model, version }, info.requests);
        this.statistics.batch(model, version, info);
      },
      onReject: (reason) => this.rejected(model, version, reason),
      onIsolated: (info) => {
        if (info.requests > 1) this.isolated.inc({ model, version });
        this.failedRequests.inc({ model, version, blamed: info.blamed }, info.failed);
        // A split batch: those that ran alone and succeeded did succeed.
        this.success.inc({ model, version }, info.requests - info.failed);
        this.failure.inc({ model, version, reason: 'error' }, info.failed);
      },
    };
  }

  /** Counts a request refused before it ran (by the batcher, or before it: e.g. an input that breaks the contract). */
  rejected(model: string, version: string, reason: RejectReason): void {
    this.rejections.inc({ model, version, reason });
    this.failure.inc({ model, version, reason });
    this.statistics.rejected(model, version, reason);
  }

  /** Counts a cancel message of a stream: whether it found its request in flight. */
  streamCancel(found: boolean): void {
    this.streamCancels.inc({ outcome: found ? 'cancelled' : 'not_in_flight' });
  }

  /** Reports `pinrank_model_state` from `index` (read at scrape time). */
  trackStates(index: () => readonly VersionState[]): void {
    this.states = index;
  }

  private refreshStates(): void {
    if (!this.states) return;
    this.state.reset();
    for (const m of this.states()) {
      for (const state of MODEL_STATES) this.state.set({ model: m.name, version: m.version, state }, m.state === state ? 1 : 0);
    }
  }

  /** Tracks a version's in-flight count (read at scrape time) and marks its provider. */
  track(model: string, version: string, provider: string, inflightCount: () => number): void {
    this.provider.set({ model, version, provider }, 1);
    this.inflightSources.set(`${model}\u0000${version}`, { model, version, count: inflightCount });
  }

  /** Removes an unloaded version's gauges. */
  untrack(model: string, version: string, provider: string): void {
    this.provider.remove({ model, version, provider });
    this.inflight.remove({ model, version });
    this.inflightSources.delete(`${model}\u0000${version}`);
  }

  /** Refreshes the in-flight gauge; called by the scrape (collect) hook. */
  refresh(): void {
    for (const s of this.inflightSources.values()) this.inflight.set({ model: s.model, version: s.version }, s.count());
  }

  private readonly inflightSources = new Map<string, { model: string; version: string; count: () => number }>();
}
