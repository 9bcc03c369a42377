import { Metadata } from '@grpc/grpc-js';
import { PinrankError } from '@pinrank/service-kit';
import { computeIsolated, type RequestOutcome } from './batch-isolation';
import { requestRows, splitOutputs, stackInputs, stackKey, type StackingLayout } from './batch-stacking';
import { type TensorMap } from './host-tensor';

/** Per-request scheduling options. */
export interface ScheduleOptions {
  /** Absolute deadline in the batcher's clock (epoch ms by default); expired requests never reach compute. */
  deadline?: number | undefined;
  /** Aborts the request while it is queued (a cancelled call). */
  signal?: AbortSignal | undefined;
}

/**
 * What a model's scheduler offers its server (Triton's Scheduler contract):
 * queue a request, count what is in flight, and stop after draining.
 */
export interface Scheduler {
  /** Queues one request; resolves with its own outputs. Rejects with a PinrankError. */
  enqueue(inputs: TensorMap, options?: ScheduleOptions): Promise<TensorMap>;
  /** Requests queued or computing. */
  inflightCount(): number;
  /** Refuses new requests, runs everything already queued, and resolves when idle. */
  stop(): Promise<void>;
}

/** Runs one (stacked) batch on the model. */
export type BatchCompute = (inputs: TensorMap) => Promise<TensorMap>;

/**
 * Why a request was refused or dropped without being computed. `cannot_meet_deadline`:
 * refused at enqueue because the work queued ahead would outlast its deadline.
 */
export type RejectReason = 'queue_full' | 'cannot_meet_deadline' | 'deadline' | 'cancelled' | 'stopped' | 'invalid';

/** The queue's state when a request arrives, as refusals report it (also as trailers `pinrank-queue-*`). */
export interface QueueState {
  /** Requests waiting. */
  depth: number;
  /** Most requests that may wait. */
  limit: number;
  /** Rows waiting. */
  rows: number;
  /** Batches computing. */
  computing: number;
  /** Estimated ms until a request queued now would be answered (the work ahead and its own); undefined before any batch has run. */
  expectedMs: number | undefined;
}

/**
 * One finished batch. `computeMs` is the whole execution, split into
 * stacking the requests (`inputMs`), running the model (`inferMs`) and
 * splitting the outputs per request (`outputMs`).
 */
export interface BatchInfo {
  /** Rows along axis 0 of the outputs. */
  size: number;
  /** Requests in the batch. */
  requests: number;
  /** How long each request waited in the queue. */
  queueMs: readonly number[];
  computeMs: number;
  inputMs: number;
  inferMs: number;
  outputMs: number;
  ok: boolean;
  /** The batch was taken from the newest end of a standing queue (see `newestFirstWhenStanding`). */
  newestFirst: boolean;
}

/** Hooks for metrics; called synchronously, must not throw. */
export interface BatchObserver {
  /** One batch finished (successfully or not). */
  onBatch?(info: BatchInfo): void;
  /** A request was refused or dropped before compute. */
  onReject?(reason: RejectReason): void;
  /**
   * A batch failed and was split until the failing requests ran alone.
   * `blamed` says whether the failures were put on the requests' inputs or on the model.
   */
  onIsolated?(info: { requests: number; runs: number; failed: number; blamed: 'request' | 'model' }): void;
}

/** How much work requests carry and how much one batch may hold (e.g. N×S×S of an attention model). */
export interface BatchWork {
  /** Work of one request. */
  of(inputs: TensorMap): number;
  /** Most work in one batch; a bigger single request still runs alone. */
  maxPerBatch: number;
}

/** Options of {@link DynamicBatcher}; defaults noted per field. */
export interface DynamicBatcherOptions {
  /** Model label used in error messages. */
  label: string;
  compute: BatchCompute;
  layout: StackingLayout;
  /** Most rows (axis 0 of the outputs) in one batch; a bigger single request runs alone. */
  maxBatchSize: number;
  /** Longest a request waits for others before its batch runs (while another batch computes; see `dispatchWhenIdle`). */
  maxQueueDelayMs: number;
  /**
   * When no batch is computing, run what is queued at the end of the current
   * event-loop turn instead of waiting `maxQueueDelayMs` for company: an idle
   * model gains nothing by waiting, and requests that arrive together still
   * share a batch. Under load a batch is computing, so requests queue and
   * batch as before. Default true.
   */
  dispatchWhenIdle?: boolean;
  /**
   * Adaptive LIFO: when a queue stands (its oldest request has waited more than
   * `maxQueueDelayMs` plus two batches' compute time, i.e. arrivals outpace the
   * model), the next batch is taken from the newest requests. Under FIFO a
   * standing queue makes every request wait about as long as the deadline
   * allows, so most answers come too late and goodput collapses; newest first
   * keeps answering the requests that still have time while the oldest ones
   * expire and leave the queue. Once the queue drains, order is FIFO again;
   * an oldest request without a deadline is served in order (it would never
   * expire).
   * Default true.
   */
  newestFirstWhenStanding?: boolean;
  /**
   * False: every request is its own batch (queue, deadlines and order as
   * above, no stacking). For a compute that would run a stacked batch as one
   * call per request anyway (a `user_rows` model on a CPU, `perUserCompute`),
   * stacking only copies, and it holds every request's answer until the last
   * one in the batch is computed. Default true.
   */
  stacking?: boolean;
  /** Most requests waiting; more are answered RESOURCE_EXHAUSTED at once. */
  queueLimit: number;
  /** Batches computing at the same time; default 1. */
  maxConcurrentBatches?: number;
  /** Clock for queue delays and deadlines; default Date.now. */
  now?: () => number;
  observer?: BatchObserver;
  /** Work bound of a batch besides its rows; default none. */
  work?: BatchWork;
  /**
   * Runs the model on inputs known to be good, after a batch in which no
   * request succeeded: true puts the failures on the requests (INVALID_ARGUMENT),
   * false or no probe on the model (INTERNAL). Default none.
   */
  probe?: () => Promise<boolean>;
}

/** Weight of a finished batch in the moving average of compute ms per row. */
const MS_PER_ROW_ALPHA = 0.2;

/** The queue state as response trailers, so callers can see why they were refused. */
function queueMetadata(q: QueueState): Metadata {
  const md = new Metadata();
  md.set('pinrank-queue-depth', String(q.depth));
  md.set('pinrank-queue-limit', String(q.limit));
  md.set('pinrank-queue-rows', String(q.rows));
  if (q.expectedMs !== undefined) md.set('pinrank-queue-expected-ms', String(Math.round(q.expectedMs)));
  return md;
}

type Filled = Required<Omit<DynamicBatcherOptions, 'observer' | 'work' | 'probe'>> &
  Pick<DynamicBatcherOptions, 'work' | 'probe'> & { observer: BatchObserver };

/** The limits a batcher runs with (after defaults), as ModelConfig reports them. */
export type BatcherLimits = Pick<Filled, 'maxBatchSize' | 'maxQueueDelayMs' | 'queueLimit' | 'maxConcurrentBatches'> & { mode: StackingLayout['mode'] };

/** Fills defaults and validates options. Thrown by: a limit out of range — as TypeError. */
function addDefaults(o: DynamicBatcherOptions): Filled {
  const filled: Filled = {
    ...o,
    maxConcurrentBatches: o.maxConcurrentBatches ?? 1,
    dispatchWhenIdle: o.dispatchWhenIdle ?? true,
    newestFirstWhenStanding: o.newestFirstWhenStanding ?? true,
    stacking: o.stacking ?? true,
    now: o.now ?? Date.now,
    observer: o.observer ?? {},
  };
  for (const key of ['maxBatchSize', 'queueLimit', 'maxConcurrentBatches'] as const) {
    if (!Number.isInteger(filled[key]) || filled[key] < 1) throw new TypeError(`DynamicBatcher: ${key} must be an integer >= 1, got ${filled[key]}`);
  }
  if (!(filled.maxQueueDelayMs >= 0)) throw new TypeError(`DynamicBatcher: maxQueueDelayMs must be >= 0, got ${filled.maxQueueDelayMs}`);
  return filled;
}

interface Pending {
  inputs: TensorMap;
  rows: number;
  work: number;
  key: string;
  enqueuedAt: number;
  deadline: number | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve: (outputs: TensorMap) => void;
  reject: (err: PinrankError) => void;
}

/**
 * A per-model dynamic batcher: stacks queued requests (per the model's
 * stacking layout) up to `maxBatchSize` rows or until the oldest has waited
 * `maxQueueDelayMs`, drops expired and cancelled requests before compute, and
 * splits outputs back per request.
 */
export class DynamicBatcher implements Scheduler {
  private readonly o: Filled;
  private readonly queue: Pending[] = [];
  private running = 0;
  private computing = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The end-of-turn check that runs the queue on an idle model (dispatchWhenIdle). */
  private idleCheck: NodeJS.Immediate | undefined;
  /** True while that check pumps: an idle model may then run a batch that is neither full nor due. */
  private idleTurn = false;
  private stopped = false;
  private readonly idleWaiters: Array<() => void> = [];
  /** Moving average of compute ms per row of finished batches; undefined until one has run. */
  private msPerRow: number | undefined;
  /** Moving average of compute ms per finished batch; undefined until one has run. */
  private msPerBatch: number | undefined;
  /** Batches computing: their rows and when they started (batcher clock). */
  private readonly runningBatches = new Set<{ rows: number; startedAt: number }>();

  constructor(options: DynamicBatcherOptions) {
    this.o = addDefaults(options);
  }

  /** The limits in force (what the model's config asked, after caps and defaults). */
  get limits(): BatcherLimits {
    const { maxBatchSize, maxQueueDelayMs, queueLimit, maxConcurrentBatches, layout } = this.o;
    return { maxBatchSize, maxQueueDelayMs, queueLimit, maxConcurrentBatches, mode: layout.mode };
  }

  enqueue(inputs: TensorMap, options: ScheduleOptions = {}): Promise<TensorMap> {
    const { now, observer, label } = this.o;
    if (this.stopped) return this.refuse('stopped', new PinrankError('UNAVAILABLE', `model ${label} is unloading; retry`));
    let rows: number;
    try {
      rows = requestRows(inputs, this.o.layout);
    } catch (err) {
      return this.refuse('invalid', PinrankError.from(err));
    }
    if (options.signal?.aborted) return this.refuse('cancelled', new PinrankError('CANCELLED', 'request cancelled'));
    if (options.deadline !== undefined && options.deadline <= now()) {
      return this.refuse('deadline', new PinrankError('DEADLINE_EXCEEDED', `deadline passed before model ${label} was queued`));
    }
    if (this.queue.length >= this.o.queueLimit) {
      const q = this.queueState(rows);
      return this.refuse(
        'queue_full',
        new PinrankError('RESOURCE_EXHAUSTED', `model ${label}: queue full (${q.depth} of ${q.limit} requests waiting, ${q.computing} batch(es) computing); retry later or on another worker`, {
          metadata: queueMetadata(q),
        }),
      );
    }
    // Refuse at once what would only expire in the queue: the work ahead is known, its time is estimated.
    if (options.deadline !== undefined && (this.queue.length > 0 || this.running >= this.o.maxConcurrentBatches)) {
      const q = this.queueState(rows);
      const left = options.deadline - now();
      if (q.expectedMs !== undefined && q.expectedMs > left) {
        return this.refuse(
          'cannot_meet_deadline',
          new PinrankError(
            'RESOURCE_EXHAUSTED',
            `model ${label} cannot meet the deadline: about ${Math.round(q.expectedMs)} ms of work queued ahead (${q.depth} requests, ${q.rows} rows waiting, ${q.computing} batch(es) computing), ${Math.max(0, Math.round(left))} ms left; retry on another worker or later`,
            { metadata: queueMetadata(q) },
          ),
        );
      }
    }
    return new Promise<TensorMap>((resolve, reject) => {
      const work = this.o.work?.of(inputs) ?? 0;
      const p: Pending = { inputs, rows, work, key: stackKey(inputs), enqueuedAt: now(), deadline: options.deadline, signal: options.signal, onAbort: undefined, resolve, reject };
      if (p.signal) {
        p.onAbort = () => {
          const at = this.queue.indexOf(p);
          if (at < 0) return;
          this.queue.splice(at, 1);
          observer.onReject?.('cancelled');
          reject(new PinrankError('CANCELLED', 'request cancelled while queued'));
          this.pump();
        };
        p.signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.queue.push(p);
      this.pump();
    });
  }

  inflightCount(): number {
    return this.queue.length + this.computing;
  }

  /**
   * The queue as a request of `rows` rows arriving now finds it, with the time
   * it would take to answer: what the running batches have left, the queued
   * rows spread over the concurrent batches, then its own rows.
   */
  queueState(rows = 1): QueueState {
    const now = this.o.now();
    const queuedRows = this.queue.reduce((a, p) => a + p.rows, 0);
    const per = this.msPerRow;
    let expectedMs: number | undefined;
    if (per !== undefined) {
      let runningLeft = 0;
      for (const b of this.runningBatches) runningLeft = Math.max(runningLeft, b.rows * per - (now - b.startedAt));
      const slotFree = this.running >= this.o.maxConcurrentBatches ? Math.max(0, runningLeft) : 0;
      expectedMs = slotFree + (queuedRows * per) / this.o.maxConcurrentBatches + rows * per;
    }
    return { depth: this.queue.length, limit: this.o.queueLimit, rows: queuedRows, computing: this.running, expectedMs };
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.pump();
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private refuse(reason: RejectReason, err: PinrankError): Promise<never> {
    this.o.observer.onReject?.(reason);
    return Promise.reject(err);
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.running === 0;
  }

  /** Starts every batch that is due and arms the timer for the next one. */
  private pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const { now, maxQueueDelayMs, maxConcurrentBatches } = this.o;
    this.dropExpired();
    while (this.queue.length > 0 && this.running < maxConcurrentBatches) {
      const newest = this.standing();
      const { count, full } = this.plan(newest);
      const head = this.queue[0]!;
      const idle = this.idleTurn && this.running === 0;
      if (!full && !this.stopped && !idle && now() - head.enqueuedAt < maxQueueDelayMs) break;
      this.dispatch(this.takeBatch(count, newest), newest);
    }
    if (this.o.dispatchWhenIdle && this.queue.length > 0 && this.running === 0 && !this.idleCheck) {
      this.idleCheck = setImmediate(() => {
        this.idleCheck = undefined;
        this.idleTurn = true;
        try {
          this.pump();
        } finally {
          this.idleTurn = false;
        }
      });
    }
    if (this.queue.length > 0) {
      let due = Infinity;
      if (this.running < maxConcurrentBatches) due = this.queue[0]!.enqueuedAt + maxQueueDelayMs;
      for (const p of this.queue) if (p.deadline !== undefined && p.deadline < due) due = p.deadline;
      if (due !== Infinity) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, Math.max(0, due - now()));
      }
    }
    if (this.isIdle()) this.idleWaiters.splice(0).forEach((w) => w());
  }

  /**
   * Whether the queue stands: its oldest request has waited past the batching
   * delay plus two batches' compute. Only while that request has a deadline:
   * one without could otherwise wait behind newer arrivals for as long as the
   * overload lasts, so it is served in order.
   */
  private standing(): boolean {
    if (!this.o.newestFirstWhenStanding || this.queue.length < 2) return false;
    const head = this.queue[0]!;
    if (head.deadline === undefined) return false;
    return this.o.now() - head.enqueuedAt > this.o.maxQueueDelayMs + 2 * (this.msPerBatch ?? Infinity);
  }

  /** The queue in the order the next batch is taken from: oldest first, or newest first when the queue stands. */
  private inOrder(newest: boolean): Pending[] {
    return newest ? [...this.queue].reverse() : this.queue;
  }

  /**
   * How many queued requests (counting only those stackable with the first in
   * the given order) the next batch takes, and whether it is full.
   */
  private plan(newest = false): { count: number; full: boolean } {
    if (this.o.layout.mode === 'none' || !this.o.stacking) return { count: 1, full: true };
    const order = this.inOrder(newest);
    const head = order[0]!;
    const maxWork = this.o.work?.maxPerBatch ?? Infinity;
    let rows = 0;
    let work = 0;
    let count = 0;
    for (const p of order) {
      if (p.key !== head.key) continue;
      if (count > 0 && (rows + p.rows > this.o.maxBatchSize || work + p.work > maxWork)) return { count, full: true };
      rows += p.rows;
      work += p.work;
      count++;
      if (rows >= this.o.maxBatchSize || work >= maxWork) return { count, full: true };
    }
    return { count, full: false };
  }

  private takeBatch(count: number, newest = false): Pending[] {
    const order = this.inOrder(newest);
    const key = order[0]!.key;
    const batch: Pending[] = [];
    for (const p of order) {
      if (batch.length >= count) break;
      if (p.key === key) batch.push(p);
    }
    const taken = new Set(batch);
    for (let i = this.queue.length - 1; i >= 0; i--) if (taken.has(this.queue[i]!)) this.queue.splice(i, 1);
    // Stacked in arrival order either way.
    return newest ? batch.reverse() : batch;
  }

  private dropExpired(): void {
    const t = this.o.now();
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const p = this.queue[i]!;
      if (p.deadline !== undefined && p.deadline <= t) {
        this.queue.splice(i, 1);
        this.detach(p);
        this.o.observer.onReject?.('deadline');
        p.reject(new PinrankError('DEADLINE_EXCEEDED', `deadline passed while queued for model ${this.o.label}`));
      }
    }
  }

  private detach(p: Pending): void {
    if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
  }

  private dispatch(batch: Pending[], newestFirst = false): void {
    const { now, observer, compute, layout } = this.o;
    const t = now();
    batch.forEach((p) => this.detach(p));
    const queueMs = batch.map((p) => t - p.enqueuedAt);
    const size = batch.reduce((a, p) => a + p.rows, 0);
    this.running++;
    this.computing += batch.length;
    const slot = { rows: size, startedAt: t };
    this.runningBatches.add(slot);
    const started = performance.now();
    let stacked = started;
    let inferred: number | undefined;
    const finish = (ok: boolean): void => {
      const end = performance.now();
      this.running--;
      this.computing -= batch.length;
      this.runningBatches.delete(slot);
      if (ok && size > 0) {
        const sample = (end - started) / size;
        this.msPerRow = this.msPerRow === undefined ? sample : this.msPerRow + MS_PER_ROW_ALPHA * (sample - this.msPerRow);
        const took = end - started;
        this.msPerBatch = this.msPerBatch === undefined ? took : this.msPerBatch + MS_PER_ROW_ALPHA * (took - this.msPerBatch);
      }
      const inferEnd = inferred ?? end;
      observer.onBatch?.({
        size,
        requests: batch.length,
        queueMs,
        computeMs: end - started,
        inputMs: stacked - started,
        inferMs: inferEnd - stacked,
        outputMs: end - inferEnd,
        ok,
        newestFirst,
      });
      this.pump();
    };
    // The first run is the whole batch: its stacking, model and splitting times are what the statistics report.
    let first = true;
    const runGroup = async (group: readonly Pending[]): Promise<TensorMap[]> => {
      const timed = first;
      first = false;
      const inputs = stackInputs(group.map((p) => p.inputs), layout);
      if (timed) stacked = performance.now();
      const outputs = await compute(inputs);
      if (timed) inferred = performance.now();
      return splitOutputs(outputs, group.map((p) => p.rows));
    };
    void computeIsolated(batch, runGroup)
      .then(async ({ outcomes, runs }) => {
        const failed = outcomes.filter((o) => !o.ok).length;
        if (failed > 0) {
          const blamed = failed < batch.length || (await this.probeSucceeds()) ? 'request' : 'model';
          observer.onIsolated?.({ requests: batch.length, runs, failed, blamed });
          batch.forEach((p, i) => this.settle(p, outcomes[i]!, blamed));
        } else {
          batch.forEach((p, i) => this.settle(p, outcomes[i]!, 'request'));
        }
        finish(failed === 0);
      })
      .catch((err: unknown) => {
        // Only a bug in the code above lands here; never leave a caller waiting.
        batch.forEach((p) => p.reject(this.failure(err, 'model')));
        finish(false);
      });
  }

  private settle(p: Pending, outcome: RequestOutcome, blamed: 'request' | 'model'): void {
    if (outcome.ok) p.resolve(outcome.outputs);
    else p.reject(this.failure(outcome.error, blamed));
  }

  private async probeSucceeds(): Promise<boolean> {
    try {
      return (await this.o.probe?.()) === true;
    } catch {
      return false;
    }
  }

  /** A failed computation as the caller sees it: the runtime's text stays in `cause` (logged by the server, never sent). */
  private failure(err: unknown, blamed: 'request' | 'model'): PinrankError {
    if (err instanceof PinrankError) return err;
    const { label } = this.o;
    return blamed === 'request'
      ? new PinrankError('INVALID_ARGUMENT', `model ${label} cannot compute this request: the model fails on its input values while it computes other inputs; check them against the model's contract`, { cause: err })
      : // Unexpected: the server logs the runtime's words with the trace id; the client gets a generic INTERNAL.
        new PinrankError('INTERNAL', `model ${label} failed to compute: ${PinrankError.from(err).message}`, { cause: err, unexpected: true });
  }
}
