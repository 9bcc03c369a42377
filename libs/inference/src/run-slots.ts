import { PinrankError } from '@pinrank/service-kit';

/**
 * At most `size` holders at once; the others wait in arrival order. A waiter
 * gives up when its signal aborts (it then holds nothing). ModelStreamInfer
 * runs its requests under one of these, so that a request waiting for a slot
 * can still be cancelled (stream-infer.ts).
 */
export class RunSlots {
  private held = 0;
  private readonly queue: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new TypeError(`RunSlots: size must be an integer >= 1, got ${size}`);
  }

  /** Slots held now. */
  get inUse(): number {
    return this.held;
  }

  /** Requests waiting for a slot now. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Resolves with the release of a slot once one is free (call it once);
   * rejects CANCELLED if `signal` aborts first.
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(new PinrankError('CANCELLED', 'request cancelled before it started'));
    if (this.held < this.size) {
      this.held++;
      return Promise.resolve(this.releaser());
    }
    return new Promise<() => void>((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', giveUp);
        resolve(this.releaser());
      };
      const giveUp = (): void => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        reject(new PinrankError('CANCELLED', 'request cancelled while it waited for a slot on its stream'));
      };
      this.queue.push(grant);
      signal.addEventListener('abort', giveUp, { once: true });
    });
  }

  /** A release that hands the slot to the first waiter, or frees it; only its first call counts. */
  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next(); // the slot passes on: `held` stays
      else this.held--;
    };
  }
}
