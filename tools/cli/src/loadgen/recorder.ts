import { build, type Histogram } from 'hdr-histogram-js';

/** Latencies are kept in microseconds, 3 significant digits, up to one hour. */
const HIGHEST_US = 3_600_000_000;

function newHistogram(): Histogram {
  // Pure-JS histogram: no WebAssembly instance to initialise, and works in any realm (jest too).
  return build({ useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Percentiles of one histogram, in milliseconds. */
export interface LatencySummary {
  /** Requests recorded. */
  count: number;
  /** Mean latency (ms). */
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  /** Largest latency (ms). */
  max: number;
}

/** Counters of the measured phase (warm-up requests are counted apart and not in the histograms). */
export interface LoadCounts {
  /** Requests sent after the warm-up. */
  sent: number;
  /** Answered OK. */
  ok: number;
  /** Failed, all statuses together. */
  errors: number;
  /** Failures by gRPC status name (e.g. RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED). */
  errorsByStatus: Record<string, number>;
  /** Open loop: requests due while `maxOutstanding` were in flight, never sent. */
  dropped: number;
  /** Requests sent during the warm-up (not measured). */
  warmupSent: number;
}

/**
 * Records measured outcomes into HDR histograms: one for successful calls and
 * one for failed ones (a fast error must not make the service look fast).
 */
export class LatencyRecorder {
  private readonly okHist = newHistogram();
  private readonly errHist = newHistogram();
  private readonly counts: LoadCounts = { sent: 0, ok: 0, errors: 0, errorsByStatus: {}, dropped: 0, warmupSent: 0 };

  /** Counts a request sent; `measured` is false during the warm-up. */
  sent(measured: boolean): void {
    if (measured) this.counts.sent++;
    else this.counts.warmupSent++;
  }

  /** Counts a request that was due but not sent because too many were outstanding. */
  dropped(): void {
    this.counts.dropped++;
  }

  /** Records a measured success of latency `ms`. */
  ok(ms: number): void {
    this.counts.ok++;
    this.okHist.recordValue(toMicros(ms));
  }

  /** Records a measured failure with gRPC status name `status` and latency `ms`. */
  error(status: string, ms: number): void {
    this.counts.errors++;
    this.counts.errorsByStatus[status] = (this.counts.errorsByStatus[status] ?? 0) + 1;
    this.errHist.recordValue(toMicros(ms));
  }

  /** A copy of the counters. */
  snapshot(): LoadCounts {
    return { ...this.counts, errorsByStatus: { ...this.counts.errorsByStatus } };
  }

  /** Percentiles of successful calls. */
  okLatency(): LatencySummary {
    return summarize(this.okHist);
  }

  /** Percentiles of failed calls. */
  errorLatency(): LatencySummary {
    return summarize(this.errHist);
  }

  /** The 99th percentile of successful calls so far, in ms (0 before any). */
  okP99(): number {
    return this.okHist.totalCount === 0 ? 0 : this.okHist.getValueAtPercentile(99) / 1000;
  }
}

function toMicros(ms: number): number {
  // Clamp to the histogram's range: 0 would be lost as "below lowest", and a negative value is a clock bug we do not want to throw on.
  return Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000)));
}

function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const max = h.maxValue / 1000;
  // A percentile is reported as the top of its bucket; never let it exceed the largest value seen.
  const at = (p: number): number => Math.min(max, h.getValueAtPercentile(p) / 1000);
  return { count: h.totalCount, mean: h.mean / 1000, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max };
}
