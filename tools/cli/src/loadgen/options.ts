/** How requests are issued: on a fixed timetable (open) or by a fixed number of callers (closed). */
export type LoadMode = 'open' | 'closed';

/** What the engine needs to run a load; see `DEFAULT_LOAD_OPTIONS` for defaults. */
export interface LoadOptions {
  /** `open`: requests at `qps` whatever the responses do; `closed`: `concurrency` callers back to back. Default: open when `qps` is given, else closed. */
  mode: LoadMode;
  /** Target requests per second of the open loop (required in open mode). */
  qps?: number;
  /** Callers of the closed loop (default 4). */
  concurrency: number;
  /** Measured time in ms after the warm-up (default 30 000; Infinity when only `requests` bounds the run). */
  durationMs: number;
  /** Stop after this many measured requests (default: no limit). */
  requests?: number;
  /** Warm-up in ms: requests scheduled (open) or sent (closed) in it are not measured (default 2000). */
  warmupMs: number;
  /** Deadline of each call in ms (default 1000). */
  deadlineMs: number;
  /** Open loop: requests in flight at most; a request due when this many are outstanding is dropped and counted (default 1024). */
  maxOutstanding: number;
  /** Interval of the progress callback in ms (default 1000). */
  progressIntervalMs: number;
}

/** Options as given: everything but what has a default is optional. */
export type LoadOptionsInput = Partial<LoadOptions>;

/** Defaults of every option that has one. */
export const DEFAULT_LOAD_OPTIONS = {
  concurrency: 4,
  durationMs: 30_000,
  warmupMs: 2000,
  deadlineMs: 1000,
  maxOutstanding: 1024,
  progressIntervalMs: 1000,
} as const;

function positive(name: string, v: number | undefined, integer: boolean): void {
  if (v === undefined) return;
  if (!(v > 0) || (integer && !Number.isInteger(v)) || Number.isNaN(v)) throw new RangeError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
}

/**
 * Fills defaults and validates. Thrown by: an out-of-range value (RangeError);
 * conflicting options, e.g. open mode without `qps` or closed mode with `qps` (TypeError).
 */
export function resolveLoadOptions(input: LoadOptionsInput): LoadOptions {
  const mode: LoadMode = input.mode ?? (input.qps !== undefined ? 'open' : 'closed');
  if (mode !== 'open' && mode !== 'closed') throw new TypeError(`mode must be open or closed, got ${String(mode)}`);
  if (mode === 'open' && input.qps === undefined) throw new TypeError('open mode needs a target qps');
  if (mode === 'closed' && input.qps !== undefined) throw new TypeError('qps applies to open mode only; closed mode takes a concurrency');
  if (mode === 'open' && input.concurrency !== undefined) throw new TypeError('concurrency applies to closed mode only; open mode takes a qps');
  const durationMs = input.durationMs ?? (input.requests !== undefined ? Infinity : DEFAULT_LOAD_OPTIONS.durationMs);
  const out: LoadOptions = {
    mode,
    concurrency: input.concurrency ?? DEFAULT_LOAD_OPTIONS.concurrency,
    durationMs,
    warmupMs: input.warmupMs ?? DEFAULT_LOAD_OPTIONS.warmupMs,
    deadlineMs: input.deadlineMs ?? DEFAULT_LOAD_OPTIONS.deadlineMs,
    maxOutstanding: input.maxOutstanding ?? DEFAULT_LOAD_OPTIONS.maxOutstanding,
    progressIntervalMs: input.progressIntervalMs ?? DEFAULT_LOAD_OPTIONS.progressIntervalMs,
    ...(input.qps !== undefined ? { qps: input.qps } : {}),
    ...(input.requests !== undefined ? { requests: input.requests } : {}),
  };
  positive('qps', out.qps, false);
  positive('concurrency', out.concurrency, true);
  positive('durationMs', out.durationMs, false);
  positive('requests', out.requests, true);
  positive('deadlineMs', out.deadlineMs, false);
  positive('maxOutstanding', out.maxOutstanding, true);
  positive('progressIntervalMs', out.progressIntervalMs, false);
  if (!(out.warmupMs >= 0) || !Number.isFinite(out.warmupMs)) throw new RangeError(`warmupMs must be a finite number >= 0, got ${out.warmupMs}`);
  return out;
}

/** Parses a duration like `30s`, `500ms`, `2m`, `1.5s` or a bare number of seconds into ms. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new RangeError(`expected a duration like 30s, 500ms or 2m, got "${text}"`);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Number(m[1]) * factor;
}
