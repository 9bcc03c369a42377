import { PinrankError } from './errors';

/**
 * The abort signal of one served call, made on first use. Most handlers never
 * read it, and a signal with its deadline timer is a cost on every call; when
 * read, it is already aborted if the call was cancelled or its deadline passed.
 */
export class CallSignal {
  private controller: AbortController | undefined;
  private reason: unknown;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deadline: Date | undefined) {}

  /** Aborted when the client cancels, the deadline passes, or {@link abort} is called. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason !== undefined) {
        this.controller.abort(this.reason);
      } else if (this.deadline) {
        const ms = this.deadline.getTime() - Date.now();
        if (ms <= 0) {
          this.abort(deadlineExceeded());
        } else {
          this.timer = setTimeout(() => this.abort(deadlineExceeded()), ms);
          this.timer.unref();
        }
      }
    }
    return this.controller.signal;
  }

  /** Aborts the call's signal (the first reason wins). */
  abort(reason: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = reason ?? new Error('aborted');
    this.controller?.abort(this.reason);
    this.done();
  }

  /** The call ended: stops the deadline timer. */
  done(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function deadlineExceeded(): PinrankError {
  return new PinrankError('DEADLINE_EXCEEDED', 'deadline exceeded');
}
