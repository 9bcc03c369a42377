import { type ErrorCode, PinrankError } from './errors';

/** When and how often a failed call is tried again. Defaults fill in {@link withRetryDefaults}. */
export interface RetryPolicy {
  /** Total attempts including the first; default 3. 1 disables retries. */
  maxAttempts?: number;
  /** Backoff ceiling before the first retry; default 50 ms. */
  initialBackoffMs?: number;
  /** Largest backoff ceiling; default 2 000 ms. */
  maxBackoffMs?: number;
  /** Growth of the ceiling per retry; default 2. */
  multiplier?: number;
  /** Codes worth retrying; default ["UNAVAILABLE"] (the call never reached a handler, or the server is draining). */
  retryOn?: readonly ErrorCode[];
}

/** RetryPolicy with defaults filled in. */
export type ResolvedRetryPolicy = Required<RetryPolicy>;

/** Fills and validates a retry policy; throws TypeError on nonsense values. */
export function withRetryDefaults(policy: RetryPolicy = {}): ResolvedRetryPolicy {
  const p = {
    maxAttempts: policy.maxAttempts ?? 3,
    initialBackoffMs: policy.initialBackoffMs ?? 50,
    maxBackoffMs: policy.maxBackoffMs ?? 2_000,
    multiplier: policy.multiplier ?? 2,
    retryOn: policy.retryOn ?? ['UNAVAILABLE'],
  };
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1) throw new TypeError(`retry: maxAttempts must be an integer >= 1, got ${p.maxAttempts}`);
  if (!(p.initialBackoffMs >= 0) || !(p.maxBackoffMs >= p.initialBackoffMs)) {
    throw new TypeError('retry: need 0 <= initialBackoffMs <= maxBackoffMs');
  }
  if (!(p.multiplier >= 1)) throw new TypeError(`retry: multiplier must be >= 1, got ${p.multiplier}`);
  return p;
}

/** Hooks for tests: the random source and the sleep used between attempts. */
export interface RetryEnvironment {
  /** Uniform [0, 1); default Math.random. */
  random?: () => number;
  /** Waits `ms`, or rejects when `signal` aborts; default a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The backoff before retry number `retry` (1-based): "full jitter", uniform in [0, min(max, initial·multiplier^(retry−1))). */
export function backoffMs(policy: ResolvedRetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** (retry - 1));
  return Math.floor(random() * ceiling);
}

function timerSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, fails with a code not in `retryOn`, runs
 * out of attempts, or the next backoff would pass `deadline`. Errors are
 * normalised to PinrankError; the last one is thrown.
 */
export async function withRetry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  policy: RetryPolicy = {},
  options: { deadline?: Date; signal?: AbortSignal } & RetryEnvironment = {},
): Promise<T> {
  const p = withRetryDefaults(policy);
  const sleep = options.sleep ?? timerSleep;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      const e = PinrankError.from(err);
      if (n >= p.maxAttempts || !p.retryOn.includes(e.code) || options.signal?.aborted) throw e;
      const wait = backoffMs(p, n, options.random);
      if (options.deadline && Date.now() + wait >= options.deadline.getTime()) throw e;
      await sleep(wait, options.signal);
    }
  }
}
