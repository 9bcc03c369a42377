import { StageTiming } from '@pinrank/proto';

/** A monotonic clock in milliseconds (performance.now in production; a controlled clock in tests). */
export type Clock = () => number;

/**
 * When each stage of one request ran. Concurrent calls of one stage (the
 * chunks) merge into one span from the first start to the last end; stages
 * that ran at the same time overlap, which the timings show by their starts.
 */
export class StageClock {
  private readonly spans = new Map<string, { start: number; end: number }>();
  private readonly t0: number;

  constructor(private readonly now: Clock = () => performance.now()) {
    this.t0 = now();
  }

  /** Records that `stage` ran from `start` to `end` (values of this clock). */
  record(stage: string, start: number, end: number): void {
    const s = this.spans.get(stage);
    if (!s) this.spans.set(stage, { start, end });
    else this.spans.set(stage, { start: Math.min(s.start, start), end: Math.max(s.end, end) });
  }

  /** Times `fn` as `stage` (also when it throws). */
  async time<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const start = this.now();
    try {
      return await fn();
    } finally {
      this.record(stage, start, this.now());
    }
  }

  /** The stages in order of start, then "total"; each with its start relative to the request's. */
  timings(): StageTiming[] {
    const out = [...this.spans.entries()]
      .sort((a, b) => a[1].start - b[1].start)
      .map(([stage, s]) => StageTiming.fromPartial({ stage, ms: round(s.end - s.start), startMs: round(s.start - this.t0) }));
    out.push(StageTiming.fromPartial({ stage: 'total', ms: round(this.now() - this.t0), startMs: 0 }));
    return out;
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
