/** A timer handle returned by `LoadClock.setTimeout`. */
export type TimerHandle = ReturnType<typeof setTimeout>;

/** Time and timers of the engine, injectable so tests can drive it with fake timers. */
export interface LoadClock {
  /** Monotonic milliseconds (fractional). */
  now(): number;
  /** Calls `fn` after `ms`. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer. */
  clearTimeout(handle: TimerHandle): void;
}

/** The process clock: `performance.now()` and the global timers (looked up at each call, so jest fake timers apply). */
export const SYSTEM_CLOCK: LoadClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle),
};
