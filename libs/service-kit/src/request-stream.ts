// The request messages of a client- or bidi-streaming call, as its handler
// reads them. Read straight from the call's 'data' events into a short queue:
// Node's own async iterator over a Readable waits for a 'readable' event (one
// process.nextTick per message) and each wrapping async generator adds its own
// promises, which on a lookup stream came to a measurable part of every
// request (docs/benchmarks.md, service kit).
import { type Readable } from 'node:stream';
import { PinrankError } from './errors';
import { decodedOrThrow } from './request-decoding';

/**
 * Messages read ahead of the handler before the call is paused (then the
 * call's own buffer, HTTP/2 flow control and the peer hold back the rest):
 * the same as a Readable's own object-mode high-water mark.
 */
export const REQUEST_READ_AHEAD = 16;

/** Read slots at the queue's front dropped at once, when the queue never empties. */
const COMPACT_AFTER = 64;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * An async iterator over a streaming call's request messages. It ends with
 * the call's input, or when {@link endWhen}'s signal aborts or the reader
 * returns early (the call itself is left open: a bidi call still writes its
 * answers). It throws INVALID_ARGUMENT at a message that could not be decoded
 * (the messages before it are read first), CANCELLED when the call closes
 * before its input ended, and a call error as it happens; after throwing it
 * is done.
 */
export class RequestStream<T> implements AsyncIterableIterator<T> {
  private readonly queue: unknown[] = [];
  private head = 0;
  private resolveNext: ((r: IteratorResult<T>) => void) | undefined;
  private rejectNext: ((err: unknown) => void) | undefined;
  /** open: reading; ended: the input ended (queued messages are still read); stopped: nothing more is read. */
  private state: 'open' | 'ended' | 'stopped' = 'open';
  private failure: unknown;
  private paused = false;
  private stopSignal: AbortSignal | undefined;

  constructor(
    private readonly call: Readable,
    private readonly methodPath: string,
    private readonly readAhead = REQUEST_READ_AHEAD,
  ) {
    call.on('data', this.onData);
    call.on('end', this.onEnd);
    call.on('error', this.onError);
    call.on('close', this.onClose);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * Ends the iteration when `signal` aborts (a server's drain): a pending read
   * resolves done and messages not yet read are left unread.
   */
  endWhen(signal: AbortSignal | undefined): this {
    if (!signal || this.state === 'stopped') return this;
    if (signal.aborted) {
      this.stop();
      return this;
    }
    this.stopSignal?.removeEventListener('abort', this.onStop);
    this.stopSignal = signal;
    signal.addEventListener('abort', this.onStop, { once: true });
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.queue.length) {
      const m = this.queue[this.head];
      this.queue[this.head++] = undefined;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      } else if (this.head >= COMPACT_AFTER) {
        // A reader that never quite catches up never empties the queue: drop the slots it has read.
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (this.paused && this.queue.length - this.head <= this.readAhead >> 1) {
        this.paused = false;
        this.call.resume();
      }
      try {
        return Promise.resolve({ value: this.decoded(m), done: false });
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      return Promise.reject(err);
    }
    if (this.state !== 'open') return Promise.resolve(DONE);
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      this.resolveNext = resolve;
      this.rejectNext = reject;
    });
  }

  /** The reader is done early: stops reading (the call stays open). */
  return(): Promise<IteratorResult<T>> {
    this.stop();
    return Promise.resolve(DONE);
  }

  /** A decoded message, or INVALID_ARGUMENT (and nothing more is read). */
  private decoded(m: unknown): T {
    try {
      return decodedOrThrow(m, this.methodPath) as T;
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  private readonly onData = (m: unknown): void => {
    if (this.state !== 'open') return;
    const resolve = this.resolveNext;
    if (resolve) {
      const reject = this.rejectNext as (err: unknown) => void;
      this.resolveNext = this.rejectNext = undefined;
      let value: T;
      try {
        value = this.decoded(m);
      } catch (err) {
        reject(err);
        return;
      }
      resolve({ value, done: false });
      return;
    }
    this.queue.push(m);
    if (!this.paused && this.queue.length - this.head >= this.readAhead) {
      this.paused = true;
      this.call.pause();
    }
  };

  private readonly onEnd = (): void => {
    if (this.state !== 'open') return;
    this.state = 'ended';
    this.detach();
    this.settleWaiting();
  };

  private readonly onError = (err: unknown): void => this.fail(err);

  private readonly onClose = (): void => {
    // Closed before its input ended: the client cancelled, or the connection went away.
    this.fail(new PinrankError('CANCELLED', `the request stream of ${this.methodPath.replace(/^\//, '')} closed before it ended`));
  };

  private readonly onStop = (): void => this.stop();

  /** Nothing more is read; a waiting read fails with `err` (or the next read does). */
  private fail(err: unknown): void {
    if (this.state !== 'open') return;
    const reject = this.rejectNext;
    this.resolveNext = this.rejectNext = undefined;
    this.stop();
    if (reject) reject(err);
    else this.failure = err;
  }

  private stop(): void {
    this.state = 'stopped';
    this.queue.length = 0;
    this.head = 0;
    this.detach();
    if (!this.paused) {
      this.paused = true;
      this.call.pause();
    }
    this.settleWaiting();
  }

  private settleWaiting(): void {
    const resolve = this.resolveNext;
    this.resolveNext = this.rejectNext = undefined;
    resolve?.(DONE);
  }

  private detach(): void {
    this.call.off('data', this.onData);
    this.call.off('end', this.onEnd);
    this.call.off('error', this.onError);
    this.call.off('close', this.onClose);
    this.stopSignal?.removeEventListener('abort', this.onStop);
    this.stopSignal = undefined;
  }
}
