import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { readActionLog } from './action-log/reader';
import { type ActionRecord } from './action-log/format';

/** Time source of a replay; tests pass a fake one. */
export interface ReplayClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Options of `replay`. */
export interface ReplayOptions {
  /** Simulated milliseconds per wall-clock millisecond. Default 1; Infinity = as fast as the consumer reads. */
  speedup?: number;
  /** Ends the replay: the iterator throws the signal's reason. */
  signal?: AbortSignal;
  /** Skip records before this timestamp. */
  fromMs?: number;
  /** Stop at the first record at or after this timestamp. */
  untilMs?: number;
  /** Time source. Default: the real clock. */
  clock?: ReplayClock;
}

/** The real clock. */
export const REAL_CLOCK: ReplayClock = {
  now: () => performance.now(),
  sleep: async (ms, signal) => {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  },
};

/**
 * Re-emits time-ordered records at a chosen speed-up: a record with timestamp
 * t is yielded once (t − t₀)/speedup wall milliseconds have passed since the
 * first one (t₀). Records that are already due come out back to back, so a
 * high speed-up is limited only by the consumer. Thrown by: bad options
 * (RangeError), or the signal's reason when aborted.
 */
export async function* replay<T extends { timestampMs: number }>(
  source: AsyncIterable<T> | Iterable<T>,
  options: ReplayOptions = {},
): AsyncGenerator<T> {
  const speedup = options.speedup ?? 1;
  if (!(speedup > 0)) throw new RangeError(`speedup must be > 0, got ${speedup}`);
  const clock = options.clock ?? REAL_CLOCK;
  const { signal, fromMs = -Infinity, untilMs = Infinity } = options;
  let t0: number | undefined;
  let w0 = 0;
  signal?.throwIfAborted();
  for await (const rec of source) {
    signal?.throwIfAborted();
    if (rec.timestampMs < fromMs) continue;
    if (rec.timestampMs >= untilMs) return;
    if (t0 === undefined) {
      t0 = rec.timestampMs;
      w0 = clock.now();
    } else if (Number.isFinite(speedup)) {
      const wait = w0 + (rec.timestampMs - t0) / speedup - clock.now();
      if (wait >= 1) await clock.sleep(wait, signal);
    }
    yield rec;
  }
}

/** Replays an action log file (see `replay` and `readActionLog`). */
export function replayActionLog(path: string, options: ReplayOptions = {}): AsyncGenerator<ActionRecord> {
  return replay(readActionLog(path, options.signal ? { signal: options.signal } : {}), options);
}
