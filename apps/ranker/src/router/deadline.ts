import { PinrankError } from '@pinrank/service-kit';

/**
 * The time budget of one request. Every outgoing call's deadline derives from
 * it: the request's end minus a margin kept for the router's own work, and
 * optionally capped by a per-stage timeout.
 */
export class RequestDeadline {
  /** Epoch ms at which the request must have answered. */
  readonly endMs: number;

  constructor(
    endMs: number,
    private readonly marginMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.endMs = endMs;
  }

  /** From the incoming call's deadline, or `defaultMs` from now when the caller set none. */
  static fromCall(deadline: Date | undefined, defaultMs: number, marginMs: number, now: () => number = Date.now): RequestDeadline {
    const t = now();
    const end = deadline && Number.isFinite(deadline.getTime()) ? Math.min(deadline.getTime(), t + 24 * 3600_000) : t + defaultMs;
    return new RequestDeadline(end, marginMs, now);
  }

  /** Milliseconds left before the request's end (never negative). */
  remainingMs(): number {
    return Math.max(0, this.endMs - this.now());
  }

  /**
   * The deadline for an outgoing call: end − margin, or now + capMs when that
   * is sooner. Thrown by: too little time left for any call — DEADLINE_EXCEEDED naming `stage`.
   */
  forCall(stage: string, capMs?: number): Date {
    const t = this.now();
    let end = this.endMs - this.marginMs;
    if (capMs !== undefined) end = Math.min(end, t + capMs);
    if (end <= t) throw new PinrankError('DEADLINE_EXCEEDED', `deadline reached before ${stage}`);
    return new Date(end);
  }
}
