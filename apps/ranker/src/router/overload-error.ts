import { PinrankError } from '@pinrank/service-kit';

/** Why the router refused a request for load (the `reason` label of pinrank_router_refused_total). */
export type OverloadReason =
  /** The adaptive concurrency limit is reached (admission.ts). */
  | 'limit'
  /** The time left before the caller's deadline cannot cover the expected latency (admission.ts). */
  | 'deadline'
  /** Every worker tried for a call answered that it is busy (queue full, or it cannot meet the deadline). */
  | 'pool_busy'
  /** The fallback pool already runs as many chunks as it may take (fallback-policy.ts). */
  | 'fallback_full';

/**
 * RESOURCE_EXHAUSTED for load, with the reason it was refused: the caller may
 * retry later (with backoff) or elsewhere; nothing is broken.
 */
export class OverloadError extends PinrankError {
  constructor(
    readonly reason: OverloadReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('RESOURCE_EXHAUSTED', message, options);
  }
}
