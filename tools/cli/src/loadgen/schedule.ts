/**
 * The open loop's timetable: request n is due at `startMs + n * 1000 / qps`,
 * whatever the server does. Latency is measured from these times, so a stall
 * of the server (or of this process) shows up in the percentiles instead of
 * silently lowering the send rate (coordinated omission).
 */
export class OpenLoopSchedule {
  private readonly intervalMs: number;

  /** A timetable of `qps` requests per second starting at `startMs`. Thrown by: qps not positive (RangeError). */
  constructor(
    readonly startMs: number,
    readonly qps: number,
  ) {
    if (!(qps > 0) || !Number.isFinite(qps)) throw new RangeError(`qps must be a positive number, got ${qps}`);
    this.intervalMs = 1000 / qps;
  }

  /** The time request `n` (0-based) is due. */
  dueAt(n: number): number {
    return this.startMs + n * this.intervalMs;
  }

  /** How many requests are due by `nowMs` (those with dueAt <= nowMs). */
  dueBy(nowMs: number): number {
    if (nowMs < this.startMs) return 0;
    // The epsilon keeps a request due exactly at `nowMs` from being lost to rounding of n * interval.
    return Math.floor(((nowMs - this.startMs) * this.qps) / 1000 + 1e-9) + 1;
  }

  /** How many requests fall before `endMs` (dueAt < endMs). */
  countBefore(endMs: number): number {
    if (!Number.isFinite(endMs)) return Infinity;
    if (endMs <= this.startMs) return 0;
    return Math.ceil(((endMs - this.startMs) * this.qps) / 1000 - 1e-9);
  }
}
