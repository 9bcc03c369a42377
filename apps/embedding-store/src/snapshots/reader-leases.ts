import { type SnapshotRecord } from './snapshot-record';

/** A reader's hold on one version: its data is not removed until every lease is released. */
export interface SnapshotLease {
  /** The version being read. */
  readonly record: SnapshotRecord;
  /** Ends the hold (call exactly once, in a finally; later calls do nothing). */
  release(): void;
}

/**
 * Counts the readers of each snapshot version and runs work once a version
 * has none left, so an evicted version's data is removed only after the last
 * request reading it has finished. Taking a lease is synchronous: a request
 * resolves its version exactly once.
 */
export class ReaderLeases {
  private readonly readers = new Map<string, number>();
  private readonly drainWaiters = new Map<string, Array<() => void>>();
  private readonly pending = new Set<Promise<void>>();

  /** Takes a lease on `record`'s version. */
  acquire(record: SnapshotRecord): SnapshotLease {
    const { version } = record;
    this.readers.set(version, this.count(version) + 1);
    let released = false;
    return {
      record,
      release: () => {
        if (released) return;
        released = true;
        const left = this.count(version) - 1;
        if (left > 0) {
          this.readers.set(version, left);
          return;
        }
        this.readers.delete(version);
        for (const wake of this.drainWaiters.get(version) ?? []) wake();
        this.drainWaiters.delete(version);
      },
    };
  }

  /** Leases held on `version` now. */
  count(version: string): number {
    return this.readers.get(version) ?? 0;
  }

  /** Resolves once `version` has no reader (at once when it has none now). */
  async drained(version: string): Promise<void> {
    if (this.count(version) === 0) return;
    await new Promise<void>((resolve) => this.drainWaiters.set(version, [...(this.drainWaiters.get(version) ?? []), resolve]));
  }

  /**
   * Runs `work` once `version` has drained. The returned promise settles with
   * the work (handle its failure); {@link ReaderLeases.idle} waits for it too.
   */
  afterDrain(version: string, work: () => Promise<void>): Promise<void> {
    const task = this.drained(version).then(work);
    const settled = (): void => {
      this.pending.delete(tracked);
    };
    const tracked: Promise<void> = task.then(settled, settled);
    this.pending.add(tracked);
    return task;
  }

  /** True while work given to {@link ReaderLeases.afterDrain} is waiting or running. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Resolves when no work given to {@link ReaderLeases.afterDrain} is left (including work added meanwhile). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
