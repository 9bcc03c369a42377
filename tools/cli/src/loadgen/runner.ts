import { SYSTEM_CLOCK, type LoadClock, type TimerHandle } from './clock';
import { type LoadOptions } from './options';
import { LatencyRecorder, type LatencySummary, type LoadCounts } from './recorder';
import { OpenLoopSchedule } from './schedule';
import { type LoadRequest } from './workload';

/** How one call ended: OK, or a gRPC status name (`UNKNOWN` for a sender that threw). */
export type CallOutcome = { ok: true } | { ok: false; status: string };

/** Sends one request with a deadline; resolves with its outcome (it should not reject, but a rejection counts as UNKNOWN). */
export type LoadSender = (request: LoadRequest, deadlineMs: number) => Promise<CallOutcome>;

/** Where a run is, reported every `progressIntervalMs`. */
export interface LoadProgress {
  /** ms since the start (warm-up included). */
  elapsedMs: number;
  /** Whether the warm-up is over. */
  measuring: boolean;
  /** Counters of the measured phase so far. */
  counts: LoadCounts;
  /** Calls in flight. */
  outstanding: number;
  /** Completions per second over the last interval (warm-up included). */
  currentQps: number;
  /** p99 of successful measured calls so far, ms. */
  p99Ms: number;
}

/** Why the run stopped issuing requests. */
export type StopReason = 'duration' | 'requests' | 'interrupted';

/** What a run measured. */
export interface LoadResult {
  /** Why it stopped. */
  stoppedBy: StopReason;
  /** Length of the measured window in ms (from the end of the warm-up). */
  measuredMs: number;
  /** Counters of the measured phase. */
  counts: LoadCounts;
  /** Successful calls per second over the measured window. */
  throughput: number;
  /** Requests sent per second over the measured window. */
  sendRate: number;
  /** Latency of successful calls (open loop: from the scheduled send time). */
  okLatency: LatencySummary;
  /** Latency of failed calls. */
  errorLatency: LatencySummary;
}

/** What `runLoad` needs besides the options. */
export interface LoadRunDeps {
  /** Sends a request. */
  send: LoadSender;
  /** The next request to send. */
  nextRequest: () => LoadRequest;
  /** Time and timers (default: the process clock). */
  clock?: LoadClock;
  /** Aborting stops issuing; in-flight calls are awaited (each is bounded by its deadline) and what was measured is returned. */
  signal?: AbortSignal;
  /** Called every `progressIntervalMs`. */
  onProgress?: (p: LoadProgress) => void;
}

/**
 * Runs a load to completion: an open loop on a fixed timetable or a closed
 * loop of `concurrency` callers, for the warm-up plus `durationMs` or until
 * `requests` measured requests. Resolves once every call has ended.
 */
export function runLoad(options: LoadOptions, deps: LoadRunDeps): Promise<LoadResult> {
  return new LoadRun(options, deps).run();
}

class LoadRun {
  private readonly clock: LoadClock;
  private readonly rec = new LatencyRecorder();
  private readonly startMs: number;
  private readonly warmupEndMs: number;
  private readonly endMs: number;
  private outstanding = 0;
  private measuredIssued = 0;
  private completed = 0;
  private stopReason: StopReason | undefined;
  private stopAtMs = 0;
  private lastCompletionMs = 0;
  private timers = new Set<TimerHandle>();
  private finish: () => void = () => undefined;
  /** Resolves once the run has stopped issuing and every call has ended. */
  private readonly drained = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(
    private readonly opts: LoadOptions,
    private readonly deps: LoadRunDeps,
  ) {
    this.clock = deps.clock ?? SYSTEM_CLOCK;
    this.startMs = this.clock.now();
    this.warmupEndMs = this.startMs + opts.warmupMs;
    this.endMs = this.warmupEndMs + opts.durationMs;
  }

  async run(): Promise<LoadResult> {
    const onAbort = (): void => this.stop('interrupted', this.clock.now());
    if (this.deps.signal?.aborted) this.stop('interrupted', this.startMs);
    this.deps.signal?.addEventListener('abort', onAbort, { once: true });
    this.startProgress();
    try {
      if (this.opts.mode === 'open') await this.openLoop();
      else await this.closedLoop();
    } finally {
      this.deps.signal?.removeEventListener('abort', onAbort);
      for (const t of this.timers) this.clock.clearTimeout(t);
      this.timers.clear();
    }
    return this.result();
  }

  private after(ms: number, fn: () => void): void {
    const handle = this.clock.setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, Math.max(0, ms));
    this.timers.add(handle);
  }

  private stop(reason: StopReason, atMs: number): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.stopAtMs = atMs;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.stopReason && this.outstanding === 0) this.finish();
  }

  /** Claims a measured request slot; false (and the run stops) once `requests` have been issued. */
  private claim(measured: boolean, nowMs: number): boolean {
    if (!measured || this.opts.requests === undefined) return true;
    if (this.measuredIssued >= this.opts.requests) {
      this.stop('requests', nowMs);
      return false;
    }
    this.measuredIssued++;
    return true;
  }

  /** Sends one request and records it against `fromMs` (the scheduled time in the open loop). */
  private async call(fromMs: number, measured: boolean): Promise<void> {
    this.rec.sent(measured);
    this.outstanding++;
    let outcome: CallOutcome;
    try {
      outcome = await this.deps.send(this.deps.nextRequest(), this.opts.deadlineMs);
    } catch {
      outcome = { ok: false, status: 'UNKNOWN' };
    }
    const now = this.clock.now();
    this.outstanding--;
    this.completed++;
    if (measured) {
      this.lastCompletionMs = now;
      if (outcome.ok) this.rec.ok(now - fromMs);
      else this.rec.error(outcome.status, now - fromMs);
    }
    if (this.opts.requests !== undefined && this.measuredIssued >= this.opts.requests && !this.stopReason && measured) {
      // The last allowed request has been issued; stop as soon as it is known, so the window ends at the drain.
      this.stop('requests', now);
    }
    this.maybeFinish();
  }

  private openLoop(): Promise<void> {
    const schedule = new OpenLoopSchedule(this.startMs, this.opts.qps as number);
    const total = schedule.countBefore(this.endMs);
    let n = 0;
    const tick = (): void => {
      if (this.stopReason) return;
      const now = this.clock.now();
      const due = Math.min(schedule.dueBy(now), total);
      for (; n < due && !this.stopReason; n++) {
        const at = schedule.dueAt(n);
        const measured = at >= this.warmupEndMs;
        if (!this.claim(measured, now)) break;
        if (this.outstanding >= this.opts.maxOutstanding) {
          if (measured) this.rec.dropped();
          continue;
        }
        void this.call(at, measured);
      }
      if (this.stopReason) return;
      if (n >= total) this.stop('duration', this.endMs);
      else this.after(schedule.dueAt(n) - this.clock.now(), tick);
    };
    tick();
    return this.drained;
  }

  private async closedLoop(): Promise<void> {
    if (Number.isFinite(this.opts.durationMs)) this.after(this.endMs - this.clock.now(), () => this.stop('duration', this.endMs));
    const worker = async (): Promise<void> => {
      while (!this.stopReason) {
        const t0 = this.clock.now();
        if (t0 >= this.endMs) {
          this.stop('duration', this.endMs);
          break;
        }
        const measured = t0 >= this.warmupEndMs;
        if (!this.claim(measured, t0)) break;
        await this.call(t0, measured);
      }
    };
    await Promise.all(Array.from({ length: this.opts.concurrency }, worker));
    await this.drained;
  }

  private startProgress(): void {
    const onProgress = this.deps.onProgress;
    if (!onProgress) return;
    let lastCompleted = 0;
    let lastMs = this.startMs;
    const report = (): void => {
      if (this.stopReason) return;
      const now = this.clock.now();
      const dt = now - lastMs;
      onProgress({
        elapsedMs: now - this.startMs,
        measuring: now >= this.warmupEndMs,
        counts: this.rec.snapshot(),
        outstanding: this.outstanding,
        currentQps: dt > 0 ? ((this.completed - lastCompleted) * 1000) / dt : 0,
        p99Ms: this.rec.okP99(),
      });
      lastCompleted = this.completed;
      lastMs = now;
      this.after(this.opts.progressIntervalMs, report);
    };
    this.after(this.opts.progressIntervalMs, report);
  }

  private result(): LoadResult {
    const reason = this.stopReason ?? 'duration';
    const windowEnd = reason === 'duration' ? this.endMs : reason === 'requests' ? Math.max(this.lastCompletionMs, this.stopAtMs) : this.stopAtMs;
    const measuredMs = Math.max(0, windowEnd - this.warmupEndMs);
    const counts = this.rec.snapshot();
    const perSecond = (n: number): number => (measuredMs > 0 ? (n * 1000) / measuredMs : 0);
    return {
      stoppedBy: reason,
      measuredMs,
      counts,
      throughput: perSecond(counts.ok),
      sendRate: perSecond(counts.sent),
      okLatency: this.rec.okLatency(),
      errorLatency: this.rec.errorLatency(),
    };
  }
}
