/** Options of {@link RestartPolicy}; every field has a default. */
export interface RestartPolicyOptions {
  /** Delay before the first restart after a quiet period; default 250 ms. */
  initialDelayMs?: number;
  /** Longest delay between restarts; default 10 000 ms. */
  maxDelayMs?: number;
  /** Exits tolerated within `windowMs`; one more stops the stack (a crash loop). 0: never restart. Default 5. */
  maxRestarts?: number;
  /** The window over which exits are counted; default 60 000 ms. */
  windowMs?: number;
  /** Clock; default Date.now. */
  now?: () => number;
}

/** What to do after a process exited. */
export type RestartDecision = { action: 'restart'; delayMs: number; recentExits: number } | { action: 'give-up'; reason: string };

/**
 * When to restart a crashed service: at once-ish after an isolated crash,
 * with doubling delays while it keeps crashing, and never again once it has
 * crashed more than `maxRestarts` times within `windowMs` (a crash loop that
 * restarting cannot fix, e.g. a bad configuration or a port in use).
 */
export class RestartPolicy {
  private readonly exits: number[] = [];
  private readonly o: Required<RestartPolicyOptions>;

  /** Thrown by: a non-positive or non-integer limit — TypeError. */
  constructor(options: RestartPolicyOptions = {}) {
    this.o = {
      initialDelayMs: options.initialDelayMs ?? 250,
      maxDelayMs: options.maxDelayMs ?? 10_000,
      maxRestarts: options.maxRestarts ?? 5,
      windowMs: options.windowMs ?? 60_000,
      now: options.now ?? Date.now,
    };
    for (const key of ['initialDelayMs', 'maxDelayMs', 'maxRestarts', 'windowMs'] as const) {
      const v = this.o[key];
      const min = key === 'initialDelayMs' || key === 'maxRestarts' ? 0 : 1;
      if (!Number.isInteger(v) || v < min) throw new TypeError(`RestartPolicy: ${key} must be an integer >= ${min}, got ${v}`);
    }
  }

  /** Records an exit now and decides. */
  onExit(): RestartDecision {
    const t = this.o.now();
    this.exits.push(t);
    while (this.exits.length > 0 && (this.exits[0] ?? t) <= t - this.o.windowMs) this.exits.shift();
    const recent = this.exits.length;
    if (recent > this.o.maxRestarts) {
      return { action: 'give-up', reason: `exited ${recent} times within ${Math.round(this.o.windowMs / 1000)} s` };
    }
    const delayMs = Math.min(this.o.maxDelayMs, this.o.initialDelayMs * 2 ** (recent - 1));
    return { action: 'restart', delayMs, recentExits: recent };
  }
}
