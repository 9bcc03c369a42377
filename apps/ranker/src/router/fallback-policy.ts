import { type ExperimentScorer } from '@pinrank/contracts';
import { DegradedFlag } from '@pinrank/proto';
import { PinrankError, type ErrorCode } from '@pinrank/service-kit';
import { type ModelSet, type PoolName, type RoutedModel } from './model-set';
import { OverloadError } from './overload-error';
import { SlotQueue } from './slot-queue';
import { type RequestContext } from './request-context';
import { type GpuFallback } from './router-options';

// The router's policy for calls to the inference workers, in one place:
//   1. placement — which pool runs a model: its config's `placement` (or
//      RANKER_PLACEMENT), read in model-set.ts, never decided in code;
//   2. fallback — what a request does when the encoder's pool cannot run it
//      (FallbackPolicy, below), and which degraded flag that sets;
//   3. retry — what one failed ModelInfer attempt means, and whether another
//      worker of the pool is tried (ATTEMPT_RULES; applied by infer-client.ts);
//   4. ejection — how long a failed worker is skipped (EJECTION; applied by
//      worker-pool.ts).

// ---- 2. Fallback ------------------------------------------------------------

/** How a request, or one chunk of it, is scored. */
export type ScoringRoute =
  /** transact_encoder on `encoderPool`, then ranking_heads. `lastResort`: nothing follows a failure of that pool. */
  | { scorer: 'full'; encoderPool: PoolName; lastResort: boolean }
  /** ranking_heads_lite alone, without the sequence. */
  | { scorer: 'lite' };

/** Options of {@link FallbackPolicy}; all required. */
export interface FallbackPolicyOptions {
  /** RANKER_GPU_FALLBACK. */
  mode: GpuFallback;
  /** Name of the lite heads model, for messages. */
  liteModelName: string;
  /** Whether a pool has a worker to call now (health-watched, not ejected). */
  hasHealthyWorker: (pool: PoolName) => boolean;
  /** How many workers of a pool are SERVING and not ejected; default 1 when hasHealthyWorker, else 0. */
  healthyWorkers?: (pool: PoolName) => number;
  /** Encoder chunks the fallback pool runs at once per healthy worker (RANKER_FALLBACK_CHUNKS_PER_WORKER); default 4. */
  fallbackChunksPerWorker?: number;
}

/** Default of FallbackPolicyOptions.fallbackChunksPerWorker. */
export const DEFAULT_FALLBACK_CHUNKS_PER_WORKER = 4;

/**
 * When the encoder moves to the CPU pool and when the lite heads are used
 * (RANKER_GPU_FALLBACK), and the flag each sets:
 *
 * | encoder's pool | cpu_encoder | lite | none |
 * |---|---|---|---|
 * | no healthy worker at the start | encoder tried there anyway, then CPU pool (ENCODER_ON_CPU) | every chunk lite (LITE_MODEL) | UNAVAILABLE |
 * | a chunk's call finds no usable worker | that chunk's encoder on the CPU pool (ENCODER_ON_CPU) | that chunk lite (LITE_MODEL) | UNAVAILABLE |
 *
 * The heads have no fallback: their pool without a usable worker answers
 * UNAVAILABLE, after trying a worker skipped for an earlier failure.
 *
 * A pool that is merely busy (its workers answer RESOURCE_EXHAUSTED) has no
 * fallback either: the request is refused with RESOURCE_EXHAUSTED rather than
 * moved onto a pool that cannot take it. The fallback pool itself takes at most
 * `fallbackChunksPerWorker` encoder chunks per healthy worker at once; more wait
 * briefly for a slot, then are refused with RESOURCE_EXHAUSTED ({@link FallbackPolicy.onFallbackPool}).
 */
export class FallbackPolicy {
  private readonly mode: GpuFallback;
  private readonly perWorker: number;
  private fallbackInFlight = 0;
  private readonly waiting = new SlotQueue();

  constructor(private readonly o: FallbackPolicyOptions) {
    this.mode = o.mode;
    this.perWorker = o.fallbackChunksPerWorker ?? DEFAULT_FALLBACK_CHUNKS_PER_WORKER;
    if (!Number.isInteger(this.perWorker) || this.perWorker < 1) throw new TypeError(`FallbackPolicy: fallbackChunksPerWorker must be an integer >= 1, got ${this.perWorker}`);
  }

  /** Encoder chunks running on a fallback pool now. */
  get fallbackChunksInFlight(): number {
    return this.fallbackInFlight;
  }

  /** Encoder chunks waiting for room on a fallback pool now. */
  get fallbackChunksWaiting(): number {
    return this.waiting.length;
  }

  /**
   * Runs one chunk's call on the fallback `pool` when it has room: at most
   * `fallbackChunksPerWorker` × its healthy workers at once. A chunk that finds
   * it full waits for a slot, first come first served, for at most `maxWaitMs`
   * (the caller derives it from the request's deadline) while no more chunks
   * wait than may run.
   * Thrown by: no room within the wait, or the wait queue full — RESOURCE_EXHAUSTED
   * (OverloadError 'fallback_full'); else as `run`.
   */
  async onFallbackPool<T>(pool: PoolName, run: () => Promise<T>, wait: { maxWaitMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    this.handOver(pool); // the pool may have grown since a slot last freed
    const cap = this.capOf(pool);
    if (this.fallbackInFlight < cap && this.waiting.length === 0) this.fallbackInFlight++;
    else {
      const maxWaitMs = wait.maxWaitMs ?? 0;
      const full = (): OverloadError =>
        new OverloadError(
          'fallback_full',
          `the ${pool} fallback pool is full (${this.fallbackInFlight} chunk(s) in flight, at most ${this.perWorker} per healthy worker, ${this.waiting.length} waiting); retry later`,
        );
      if (maxWaitMs <= 0 || this.waiting.length >= cap) throw full();
      await this.waiting.wait({ maxWaitMs, expired: full, signal: wait.signal, cancelled: () => new PinrankError('CANCELLED', 'request cancelled while waiting for the fallback pool') });
    }
    try {
      return await run();
    } finally {
      this.fallbackInFlight--;
      this.handOver(pool);
    }
  }

  /** Most chunks the fallback `pool` runs at once. */
  private capOf(pool: PoolName): number {
    const healthy = this.o.healthyWorkers ? this.o.healthyWorkers(pool) : this.o.hasHealthyWorker(pool) ? 1 : 0;
    return this.perWorker * Math.max(1, healthy);
  }

  /** Gives free slots to waiting chunks, oldest first. */
  private handOver(pool: PoolName): void {
    const cap = this.capOf(pool);
    this.waiting.grantWhile(
      () => this.fallbackInFlight < cap,
      () => {
        this.fallbackInFlight++;
      },
    );
  }

  /**
   * The route a request starts on: the experiment arm's scorer, else the full
   * model unless the encoder's pool has no healthy worker and the fallback is lite.
   * Thrown by: the lite scorer chosen without a lite model — FAILED_PRECONDITION.
   */
  firstRoute(models: ModelSet, scorer: ExperimentScorer, ctx: RequestContext): ScoringRoute {
    if (scorer === 'lite') {
      if (!models.lite) throw new PinrankError('FAILED_PRECONDITION', `the lite scorer needs ${this.o.liteModelName}, which is not in the model repository`);
      return { scorer: 'lite' };
    }
    const pool = models.encoder.placement;
    if (this.mode === 'lite' && !this.o.hasHealthyWorker(pool)) {
      ctx.flag(DegradedFlag.DEGRADED_FLAG_LITE_MODEL, `${pool} pool has no healthy worker`);
      return { scorer: 'lite' };
    }
    return { scorer: 'full', encoderPool: pool, lastResort: !this.encoderHasFallback(models) };
  }

  /**
   * The route of a chunk whose encoder pool could not run it (`reason`), flagged.
   * Thrown by: no fallback configured (or none possible) — UNAVAILABLE with the reason.
   */
  afterEncoderPoolFailed(models: ModelSet, reason: string, ctx: RequestContext): ScoringRoute {
    if (this.mode === 'cpu_encoder' && models.encoder.placement !== 'cpu') {
      ctx.flag(DegradedFlag.DEGRADED_FLAG_ENCODER_ON_CPU, reason);
      return { scorer: 'full', encoderPool: 'cpu', lastResort: true };
    }
    if (this.mode === 'lite' && models.lite) {
      ctx.flag(DegradedFlag.DEGRADED_FLAG_LITE_MODEL, reason);
      return { scorer: 'lite' };
    }
    throw new PinrankError('UNAVAILABLE', `${reason}; no fallback configured`);
  }

  /**
   * The heads model of a route and its pool; always a last resort (no fallback).
   * Thrown by: the lite route without a lite model — UNAVAILABLE.
   */
  headsOf(models: ModelSet, route: ScoringRoute): { model: RoutedModel & { headNames: string[] }; pool: PoolName; lastResort: true } {
    const model = route.scorer === 'full' ? models.heads : models.lite;
    if (!model) throw new PinrankError('UNAVAILABLE', 'the lite model is not in the model repository');
    return { model, pool: model.placement, lastResort: true };
  }

  private encoderHasFallback(models: ModelSet): boolean {
    return (this.mode === 'cpu_encoder' && models.encoder.placement !== 'cpu') || (this.mode === 'lite' && models.lite !== undefined);
  }
}

// ---- 3. Retry across the workers of a pool ----------------------------------

/** What one failed ModelInfer attempt on a worker says about that worker. */
export type AttemptFailure =
  /** UNAVAILABLE: down, refusing connections, NOT_SERVING or draining. */
  | 'unavailable'
  /** RESOURCE_EXHAUSTED: its queue is full or it cannot meet the deadline. Busy, not broken: never ejected. */
  | 'overloaded'
  /** NOT_FOUND: it does not serve this model or version. */
  | 'model-missing'
  /** CANCELLED by the worker (it is stopping). */
  | 'cancelled'
  /** No answer within the attempt's share of the deadline (a cut link keeps its channel "open"). */
  | 'hung'
  /** INTERNAL, UNKNOWN, DATA_LOSS or ABORTED: the worker failed this call (e.g. a batch it shared with a bad request); the chunk is retried elsewhere. */
  | 'worker-error'
  /** Any other status (INVALID_ARGUMENT, FAILED_PRECONDITION, ...): the worker refused what the router built. */
  | 'failed';

/** How a failed attempt of a kind is treated. */
export interface AttemptRule {
  /** Try another worker of the pool (while attempts are left). */
  tryAnother: boolean;
  /** Whether this worker is ejected (see EJECTION): at once, only after consecutive failures, or never. */
  eject: EjectionKind | undefined;
}

/** The retry and ejection rule of each attempt failure. */
export const ATTEMPT_RULES: Readonly<Record<AttemptFailure, AttemptRule>> = {
  unavailable: { tryAnother: true, eject: 'now' },
  // Overload is not failure: another worker may have room; the busy one stays in the pool.
  overloaded: { tryAnother: true, eject: undefined },
  'model-missing': { tryAnother: true, eject: 'now' },
  cancelled: { tryAnother: true, eject: 'now' },
  hung: { tryAnother: true, eject: 'consecutive' },
  'worker-error': { tryAnother: true, eject: 'consecutive' },
  // The request fails INTERNAL naming model and worker.
  failed: { tryAnother: false, eject: undefined },
};

/**
 * The kind of a failed attempt from its status; 'deadline' when the request's
 * own deadline has passed (the request fails DEADLINE_EXCEEDED), 'hung' when
 * only the attempt's share ran out.
 */
export function classifyAttemptFailure(code: ErrorCode, requestDeadlinePassed: boolean): AttemptFailure | 'deadline' {
  switch (code) {
    case 'DEADLINE_EXCEEDED':
      return requestDeadlinePassed ? 'deadline' : 'hung';
    case 'UNAVAILABLE':
      return 'unavailable';
    case 'RESOURCE_EXHAUSTED':
      return 'overloaded';
    case 'NOT_FOUND':
      return 'model-missing';
    case 'CANCELLED':
      return 'cancelled';
    case 'INTERNAL':
    case 'UNKNOWN':
    case 'DATA_LOSS':
    case 'ABORTED':
      return 'worker-error';
    default:
      return 'failed';
  }
}

/**
 * The timeout of one attempt: half of the time left before the call's
 * deadline when something may follow it (another worker of the pool, or the
 * fallback pool), so a hung worker leaves time for that; all of it when
 * nothing can follow (a slow answer is better than none).
 */
export function attemptTimeoutMs(msToDeadline: number, somethingFollows = true): number {
  return Math.max(1, Math.floor(somethingFollows ? msToDeadline / 2 : msToDeadline));
}

/**
 * Whether an attempt may go to a worker skipped after an earlier failure: only
 * the first attempt of a call no fallback follows (better a worker that may
 * have recovered than a failed request).
 */
export function mayUseSkippedWorker(lastResort: boolean, attemptsMade: number): boolean {
  return lastResort && attemptsMade === 0;
}

/**
 * Whether a last-resort call whose worker failed the call itself (a worker
 * error) may try that same worker once more when the pool has no other: the
 * failure belonged to a batch, not to this chunk.
 */
export function mayRetrySameWorker(lastResort: boolean, failure: AttemptFailure, retriedSame: boolean): boolean {
  return lastResort && failure === 'worker-error' && !retriedSame;
}

// ---- 4. Ejection --------------------------------------------------------------

/**
 * How a failure counts towards a worker's ejection: 'now' (unavailable,
 * refused connection, NOT_SERVING, cancelled by the worker) ejects at once;
 * 'consecutive' (a timeout or a worker error) only after
 * EJECTION.consecutiveFailures of them in a row.
 */
export type EjectionKind = 'now' | 'consecutive';

/** Ejection and slow-start settings (applied by worker-pool.ts). */
export const EJECTION = {
  /** Skip time of a first ejection; the pool's `ejectMs` option overrides it. Each further ejection without a success between doubles it. */
  baseMs: 1000,
  maxMs: 30_000,
  /** Timeouts or worker errors in a row that eject a worker. */
  consecutiveFailures: 3,
  /** Most of a pool ejected at once (at least one worker may be). */
  maxEjectedShare: 0.5,
  /** A worker that turns SERVING gets a share of traffic that grows from `slowStartMinWeight` to all over this time, and is not ejected for slow calls meanwhile. */
  slowStartMs: 3000,
  slowStartMinWeight: 0.1,
} as const;

/** How long a worker is skipped on its `ejections`-th ejection in a row. */
export function ejectionMs(ejections: number, baseMs: number = EJECTION.baseMs): number {
  return Math.min(EJECTION.maxMs, baseMs * 2 ** (Math.max(1, ejections) - 1));
}

/** How many workers of a pool of `size` may be ejected at once. */
export function maxEjected(size: number): number {
  return Math.max(1, Math.floor(size * EJECTION.maxEjectedShare));
}

/** The share of picks a worker SERVING for `servingMs` takes (1 once its slow start is over). */
export function slowStartWeight(servingMs: number): number {
  if (servingMs >= EJECTION.slowStartMs) return 1;
  const f = Math.max(0, servingMs) / EJECTION.slowStartMs;
  return EJECTION.slowStartMinWeight + (1 - EJECTION.slowStartMinWeight) * f;
}
