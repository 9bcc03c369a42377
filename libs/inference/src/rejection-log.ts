import { type Logger } from 'pino';
import { type ErrorCode } from '@pinrank/service-kit';

/** Status codes of requests the worker refused or dropped rather than failed on. */
export const REJECTION_CODES: ReadonlySet<ErrorCode> = new Set(['RESOURCE_EXHAUSTED', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'CANCELLED', 'UNAVAILABLE', 'NOT_FOUND']);

/**
 * Logs refused inference requests (queue full, invalid, past their deadline)
 * with the caller's trace id, at most once per second per model and status:
 * an overloaded worker refuses thousands a second, and one line that counts
 * the ones it left out says as much.
 */
export class RejectionLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs one rejection on `logger` (a call's logger carries its trace id), or counts it when one was logged within the interval. */
  record(logger: Logger, fields: { model: string; version: string; code: ErrorCode; reason: string }): void {
    const key = `${fields.model}\u0000${fields.code}`;
    const t = this.now();
    const prev = this.last.get(key);
    if (prev && t - prev.at < this.intervalMs) {
      prev.suppressed++;
      return;
    }
    this.last.set(key, { at: t, suppressed: 0 });
    const reason = fields.reason.length > 200 ? `${fields.reason.slice(0, 200)}…` : fields.reason;
    logger.warn({ ...fields, reason, ...(prev?.suppressed ? { suppressed: prev.suppressed } : {}) }, 'inference request rejected');
  }
}
