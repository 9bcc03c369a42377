import { type InferBatchStatistics, type ModelStatistics, type StatisticDuration } from '@pinrank/proto';
import { type BatchInfo, type RejectReason } from './dynamic-batcher';

/** A cumulative count and total nanoseconds (Triton's StatisticDuration). */
class Duration {
  count = 0;
  ns = 0;

  add(ms: number, times = 1): void {
    this.count += times;
    this.ns += Math.max(0, Math.round(ms * 1e6));
  }

  toProto(): StatisticDuration {
    return { count: this.count, ns: this.ns };
  }
}

/** Execution statistics of one batch size. */
interface BatchSizeStats {
  input: Duration;
  infer: Duration;
  output: Duration;
}

/** Everything recorded for one model version. */
class VersionStats {
  lastInference = 0;
  inferenceCount = 0;
  executionCount = 0;
  readonly success = new Duration();
  readonly fail = new Duration();
  readonly queue = new Duration();
  readonly computeInput = new Duration();
  readonly computeInfer = new Duration();
  readonly computeOutput = new Duration();
  readonly bySize = new Map<number, BatchSizeStats>();
}

/**
 * Triton's cumulative per-version inference statistics (what ModelStatistics
 * answers), fed by the batch observer: a successful batch adds one execution
 * and its rows to inference_count, and each of its requests adds its queue
 * wait, the batch's input/infer/output times and its total time to the
 * request-level durations; a failed batch or a refused request counts as a
 * failure. Counters only grow, across reloads of the same version.
 */
export class ModelStatisticsRecorder {
  private readonly versions = new Map<string, VersionStats>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records one finished batch of `model`/`version`. */
  batch(model: string, version: string, info: BatchInfo): void {
    const v = this.stats(model, version);
    v.lastInference = this.now();
    if (!info.ok) {
      for (const q of info.queueMs) v.fail.add(q + info.computeMs);
      return;
    }
    v.executionCount++;
    v.inferenceCount += info.size;
    for (const q of info.queueMs) {
      v.success.add(q + info.computeMs);
      v.queue.add(q);
    }
    v.computeInput.add(info.inputMs * info.requests, info.requests);
    v.computeInfer.add(info.inferMs * info.requests, info.requests);
    v.computeOutput.add(info.outputMs * info.requests, info.requests);
    let size = v.bySize.get(info.size);
    if (!size) v.bySize.set(info.size, (size = { input: new Duration(), infer: new Duration(), output: new Duration() }));
    size.input.add(info.inputMs);
    size.infer.add(info.inferMs);
    size.output.add(info.outputMs);
  }

  /** Records a request refused or dropped before it ran (a failure that took no model time). */
  rejected(model: string, version: string, _reason: RejectReason): void {
    const v = this.stats(model, version);
    v.lastInference = this.now();
    v.fail.add(0);
  }

  /** The statistics of one version in ModelStatistics form (zeros when nothing was recorded). */
  snapshot(model: string, version: string): ModelStatistics {
    const v = this.versions.get(key(model, version)) ?? new VersionStats();
    const batchStats: InferBatchStatistics[] = [...v.bySize.entries()]
      .sort(([a], [b]) => a - b)
      .map(([batchSize, s]) => ({ batchSize, computeInput: s.input.toProto(), computeInfer: s.infer.toProto(), computeOutput: s.output.toProto() }));
    const zero = new Duration().toProto();
    return {
      name: model,
      version,
      lastInference: v.lastInference,
      inferenceCount: v.inferenceCount,
      executionCount: v.executionCount,
      inferenceStats: {
        success: v.success.toProto(),
        fail: v.fail.toProto(),
        queue: v.queue.toProto(),
        computeInput: v.computeInput.toProto(),
        computeInfer: v.computeInfer.toProto(),
        computeOutput: v.computeOutput.toProto(),
        cacheHit: zero,
        cacheMiss: zero,
      },
      batchStats,
    };
  }

  private stats(model: string, version: string): VersionStats {
    const k = key(model, version);
    let v = this.versions.get(k);
    if (!v) this.versions.set(k, (v = new VersionStats()));
    return v;
  }
}

const key = (model: string, version: string): string => `${model}\u0000${version}`;
