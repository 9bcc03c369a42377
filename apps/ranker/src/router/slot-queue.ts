// A first-come-first-served queue of callers waiting for a slot, each for at
// most its own time. The router's admission control and the CPU fallback pool
// both hold one: the owner counts its slots and calls `grantWhile` when one
// frees; a caller whose wait runs out (or whose request is cancelled) leaves
// the queue and its promise rejects with the error the owner names.

/** How one caller waits. */
export interface SlotWait {
  /** Longest wait (ms). */
  maxWaitMs: number;
  /** The error a caller gets when its wait runs out. */
  expired: () => Error;
  /** Rejects with `cancelled()` and leaves the queue when it aborts. */
  signal?: AbortSignal;
  cancelled?: () => Error;
  /**
   * Called when the wait runs out, before the caller is refused: the owner may
   * free a slot here (and call grantWhile); a caller granted so is not refused.
   */
  beforeExpiry?: () => void;
}

interface Waiter<T> {
  grant(slot: T): void;
}

/** `T` is what a granted caller receives (a ticket, or nothing). */
export class SlotQueue<T = void> {
  private readonly waiters: Waiter<T>[] = [];

  /** Callers waiting now. */
  get length(): number {
    return this.waiters.length;
  }

  /** Queues a caller; resolves with its slot when `grantWhile` gives it one. */
  wait(w: SlotWait): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const leave = (): boolean => {
        clearTimeout(timer);
        w.signal?.removeEventListener('abort', onAbort);
        const at = this.waiters.indexOf(waiter);
        if (at < 0) return false;
        this.waiters.splice(at, 1);
        return true;
      };
      const waiter: Waiter<T> = {
        grant: (slot) => {
          leave();
          resolve(slot);
        },
      };
      const timer = setTimeout(() => {
        w.beforeExpiry?.();
        if (leave()) reject(w.expired());
      }, w.maxWaitMs);
      const onAbort = (): void => {
        if (leave()) reject(w.cancelled?.() ?? w.expired());
      };
      w.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Gives slots to waiting callers, oldest first, while `hasRoom()`; `take()` takes each slot (at once, so hasRoom sees it). */
  grantWhile(hasRoom: () => boolean, take: () => T): void {
    while (this.waiters.length > 0 && hasRoom()) {
      const waiter = this.waiters[0] as Waiter<T>;
      waiter.grant(take());
    }
  }
}
