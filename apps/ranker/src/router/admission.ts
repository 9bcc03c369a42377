import { PinrankError } from '@pinrank/service-kit';
import { OverloadError } from './overload-error';
import { SlotQueue } from './slot-queue';

// Admission control at the router: an adaptive concurrency limit (a gradient
// limit after Netflix's concurrency-limits library; Envoy's adaptive
// concurrency filter works alike) and a deadline check, both answered before
// any work is done, within milliseconds:
//   - the limit follows latency: while the short-term latency stays within
//     `tolerance` × the no-load latency, it grows by one request per answer;
//     when latency climbs (requests queue somewhere), it shrinks in
//     proportion. The no-load latency is that of requests that ran alone; when
//     none did for `probeIntervalMs`, the limit drops to 1 for a few requests
//     to measure it again (Envoy's minRTT window); a request whose wait for a
//     slot runs out during such a probe ends it instead of being refused;
//     a request refused downstream for load (RESOURCE_EXHAUSTED, a deadline
//     missed) shrinks it by `backoffRatio` at once; a limit the load does not
//     reach does not grow, except back to `initialLimit` after a burst shrank
//     it, while answers stay within tolerance;
//   - at the limit, a request is refused at once by default; with a
//     `queueFactor` it may wait for a slot in a short queue (that many times
//     the limit, first come first served) for about one expected latency,
//     while its deadline would still leave twice the expected latency. A
//     queue trades the accepted requests' latency for goodput: at 2× capacity
//     on the 2-core stack, tolerance 3 with a queue as long as the limit kept
//     1.24× capacity at 5× the p99 of light load, tolerance 1.5 without one
//     0.97× at 1.8× (docs/benchmarks.md#overload);
//   - a request whose remaining deadline is shorter than the expected latency
//     (a moving average of recent answers) is refused at once rather than
//     started and abandoned.

/** Options of {@link AdmissionController}; defaults in {@link ADMISSION_DEFAULTS}. */
export interface AdmissionOptions {
  /** Limit before any latency is known. */
  initialLimit?: number;
  /** The limit never falls below this (>= 1). */
  minLimit?: number;
  /** The limit never rises above this. */
  maxLimit?: number;
  /** How much the short-term latency may exceed the baseline before the limit shrinks (>= 1). */
  tolerance?: number;
  /** Refuse a request whose remaining deadline is below this multiple of the expected latency; 0 turns the check off. */
  deadlineFactor?: number;
  /** Longest time without a measurement of the no-load latency before one is forced; 0: never forced. */
  probeIntervalMs?: number;
  /** Requests that may wait for a slot, as a multiple of the limit; 0: none wait. */
  queueFactor?: number;
  /**
   * Keep adding one request of headroom while latency is above tolerance (the
   * gradient limit's form; the default). It holds the limit at 2 or more
   * whatever the latency (gradient >= 0.5), so two requests that slow each
   * other beyond the tolerance still run together. Off, the limit grows only
   * within tolerance and only shrinks beyond it (additive increase,
   * multiplicative decrease): with `minLimit` 1 it then alternates between
   * one and two requests where two at once exceed the tolerance — lower
   * latency for the accepted requests, less goodput (docs/benchmarks.md#overload).
   */
  growWhenSlow?: boolean;
  /** Clock in ms; default performance.now. */
  now?: () => number;
}

/** Defaults of {@link AdmissionOptions}. */
export const ADMISSION_DEFAULTS = {
  initialLimit: 8,
  minLimit: 2,
  maxLimit: 64,
  tolerance: 1.5,
  deadlineFactor: 1,
  probeIntervalMs: 30_000,
  queueFactor: 0,
  growWhenSlow: true,
} as const;

/** How an admitted request ended, as the limit reads it. */
export type AdmissionOutcome =
  /** Answered: its latency is a sample. */
  | 'ok'
  /** Refused or abandoned downstream for load (RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, UNAVAILABLE): the limit shrinks. */
  | 'overload'
  /** Says nothing about load (a client mistake, a cancelled call). */
  | 'ignore';

/** An admitted request; release it exactly once when it ends. */
export interface AdmissionTicket {
  release(outcome: AdmissionOutcome): void;
}

/** Smoothing of the limit towards each new estimate. */
const SMOOTHING = 0.2;
/** Multiplicative decrease on a request refused or abandoned downstream for load. */
const BACKOFF_RATIO = 0.9;
/** Weight of a new sample in the short-term latency and in the expected latency. */
const SHORT_ALPHA = 0.3;
const EXPECTED_ALPHA = 0.2;
/** Weight of a new sample of a request that ran alone in the no-load latency. */
const NO_LOAD_ALPHA = 0.2;
/** Requests run alone to measure the no-load latency again. */
const PROBE_SAMPLES = 5;
/** Requests the limit grows by per estimate while latency stays within tolerance. */
const HEADROOM = 1;

/**
 * The router's admission control (see the top of this file): `admit` gives a
 * ticket to release when the request ends, or refuses with RESOURCE_EXHAUSTED.
 */
export class AdmissionController {
  private readonly o: Required<Omit<AdmissionOptions, 'now'>>;
  private readonly now: () => number;
  private estimated: number;
  private inflight_ = 0;
  /** Requests admitted so far (to tell a request that ran alone throughout). */
  private admitted = 0;
  private shortMs: number | undefined;
  private noLoadMs: number | undefined;
  private lastNoLoadAt = -Infinity;
  /** Requests still to run alone while the no-load latency is measured; 0 when not probing. */
  private probeLeft = 0;
  private expectedMs_: number | undefined;
  private readonly queue = new SlotQueue<AdmissionTicket>();

  constructor(options: AdmissionOptions = {}) {
    const o = { ...ADMISSION_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([k, v]) => k !== 'now' && v !== undefined)) } as Required<Omit<AdmissionOptions, 'now'>>;
    if (!Number.isInteger(o.minLimit) || o.minLimit < 1) throw new TypeError(`admission: minLimit must be an integer >= 1, got ${o.minLimit}`);
    if (!Number.isInteger(o.maxLimit) || o.maxLimit < o.minLimit) throw new TypeError(`admission: maxLimit must be an integer >= minLimit (${o.minLimit}), got ${o.maxLimit}`);
    if (!Number.isInteger(o.initialLimit) || o.initialLimit < o.minLimit || o.initialLimit > o.maxLimit) {
      throw new TypeError(`admission: initialLimit must be an integer in ${o.minLimit}..${o.maxLimit}, got ${o.initialLimit}`);
    }
    if (!(o.tolerance >= 1)) throw new TypeError(`admission: tolerance must be >= 1, got ${o.tolerance}`);
    if (!(o.deadlineFactor >= 0)) throw new TypeError(`admission: deadlineFactor must be >= 0, got ${o.deadlineFactor}`);
    if (!(o.queueFactor >= 0)) throw new TypeError(`admission: queueFactor must be >= 0, got ${o.queueFactor}`);
    if (!(o.probeIntervalMs >= 0)) throw new TypeError(`admission: probeIntervalMs must be >= 0, got ${o.probeIntervalMs}`);
    this.o = o;
    this.now = options.now ?? (() => performance.now());
    this.estimated = o.initialLimit;
  }

  /** The concurrency limit in force (whole requests); 1 while the no-load latency is measured. */
  get limit(): number {
    return this.probeLeft > 0 ? 1 : Math.floor(this.estimated);
  }

  /** The latency of requests that ran alone (ms), once known. */
  get noLoadLatencyMs(): number | undefined {
    return this.noLoadMs;
  }

  /** Requests admitted and not yet released. */
  get inflight(): number {
    return this.inflight_;
  }

  /** The latency a new request is expected to take (ms), once known. */
  get expectedMs(): number | undefined {
    return this.expectedMs_;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Most requests that may wait for a slot: `queueFactor` × the limit, plus the
   * slots a probe holds back, even without a queue (factor 0): a probe of the
   * no-load latency must not refuse what the limit would have taken, and a
   * wait that runs out during it ends it.
   */
  private get queueCapacity(): number {
    return Math.ceil(this.estimated * this.o.queueFactor) + (Math.floor(this.estimated) - this.limit);
  }

  /**
   * Admits a request with `remainingMs` before its deadline: at once while
   * under the limit; else it waits for a slot (first come, first served) when
   * the queue has room and its deadline leaves time for the wait and the
   * expected latency. Rejects at once — or when its wait has used up the time
   * it had — with RESOURCE_EXHAUSTED (OverloadError 'limit': limit and queue
   * full; 'deadline': too little time left for the expected latency); CANCELLED
   * when `signal` aborts while it waits.
   */
  admit(remainingMs: number, signal?: AbortSignal): Promise<AdmissionTicket> {
    const expected = this.expectedMs_;
    const busy = this.inflight_ > 0 || this.queue.length > 0;
    // On an idle router the estimate may be stale (it is only renewed by answers): let the request through.
    if (this.o.deadlineFactor > 0 && expected !== undefined && busy && remainingMs < expected * this.o.deadlineFactor) {
      return Promise.reject(
        new OverloadError(
          'deadline',
          `ranker overloaded: the request has ${Math.round(remainingMs)} ms left, requests now take about ${Math.round(expected)} ms; retry with a longer deadline or later`,
        ),
      );
    }
    if (this.probeLeft === 0 && this.o.probeIntervalMs > 0 && this.now() - this.lastNoLoadAt > this.o.probeIntervalMs) this.probeLeft = PROBE_SAMPLES;
    if (this.inflight_ < this.limit && this.queue.length === 0) return Promise.resolve(this.grant());
    // A request waits at most about one expected latency, and only while the time it would have left after the
    // wait still covers twice the expected latency: a later start only risks its deadline downstream.
    const waitMs = expected === undefined ? remainingMs / 2 : Math.min(expected * Math.max(1, this.o.queueFactor), remainingMs - 2 * expected * this.o.deadlineFactor);
    if (this.queue.length >= this.queueCapacity || waitMs <= 0) {
      return Promise.reject(
        new OverloadError('limit', `ranker overloaded: ${this.inflight_} requests in flight (concurrency limit ${this.limit}) and ${this.queue.length} waiting; retry later with backoff`),
      );
    }
    return this.queue.wait({
      maxWaitMs: waitMs,
      signal,
      // A probe must not cost requests: a wait that runs out while the limit is held at 1 to measure the
      // no-load latency ends the probe (it is tried again after probeIntervalMs) and the queue drains.
      beforeExpiry: () => {
        if (this.probeLeft === 0) return;
        this.probeLeft = 0;
        this.lastNoLoadAt = this.now();
        this.drain();
      },
      expired: () => new OverloadError('deadline', `ranker overloaded: no slot (concurrency limit ${this.limit}) within the ${Math.round(waitMs)} ms the request could wait; retry later`),
      cancelled: () => new PinrankError('CANCELLED', 'request cancelled while waiting for admission'),
    });
  }

  /** Takes a slot now. */
  private grant(): AdmissionTicket {
    this.inflight_++;
    const admittedBefore = this.admitted++;
    const inflightAtStart = this.inflight_;
    const started = this.now();
    let released = false;
    return {
      release: (outcome) => {
        if (released) return;
        released = true;
        this.inflight_--;
        if (outcome === 'ok') this.onSample(this.now() - started, inflightAtStart, inflightAtStart === 1 && this.admitted === admittedBefore + 1);
        else if (outcome === 'overload') this.estimated = Math.max(this.o.minLimit, this.estimated * BACKOFF_RATIO);
        this.drain();
      },
    };
  }

  /** Gives free slots to waiting requests, oldest first. */
  private drain(): void {
    this.queue.grantWhile(
      () => this.inflight_ < this.limit,
      () => this.grant(),
    );
  }

  /** One answered request's latency, how many requests were in flight when it started (itself included), and whether it ran alone throughout. */
  private onSample(ms: number, inflight: number, alone: boolean): void {
    const rtt = Math.max(0.01, ms);
    this.expectedMs_ = this.expectedMs_ === undefined ? rtt : this.expectedMs_ + EXPECTED_ALPHA * (rtt - this.expectedMs_);
    this.shortMs = this.shortMs === undefined ? rtt : this.shortMs + SHORT_ALPHA * (rtt - this.shortMs);
    if (alone) {
      this.noLoadMs = this.noLoadMs === undefined ? rtt : this.noLoadMs + NO_LOAD_ALPHA * (rtt - this.noLoadMs);
      this.lastNoLoadAt = this.now();
      if (this.probeLeft > 0) this.probeLeft--;
    }
    if (this.noLoadMs === undefined) return;
    const gradient = Math.max(0.5, Math.min(1, (this.o.tolerance * this.noLoadMs) / this.shortMs));
    if (inflight < this.estimated / 2) {
      // A limit that is not reached says nothing about whether it could be higher; but one that a burst
      // shrank returns towards its start while light load keeps latency within tolerance (else it would
      // stay at the burst's size, and the next slowdown — a worker lost — would meet it at light load).
      if (gradient >= 1 && this.estimated < this.o.initialLimit) this.estimated = Math.min(this.o.initialLimit, this.estimated + SMOOTHING * HEADROOM);
      return;
    }
    // Without growWhenSlow: additive increase only while latency is within tolerance, multiplicative
    // decrease beyond it (a headroom added to a shrinking limit keeps it at 2 or more, gradient >= 0.5).
    const next = this.estimated * gradient + (gradient >= 1 || this.o.growWhenSlow ? HEADROOM : 0);
    this.estimated = Math.max(this.o.minLimit, Math.min(this.o.maxLimit, this.estimated * (1 - SMOOTHING) + next * SMOOTHING));
  }
}
