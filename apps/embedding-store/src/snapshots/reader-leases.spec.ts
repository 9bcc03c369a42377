import { snapshotRecord } from '../testing/fixtures';
import { ReaderLeases } from './reader-leases';

/** Lets every already-resolved promise callback run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ReaderLeases', () => {
  const v1 = snapshotRecord('v1', 1);
  const v2 = snapshotRecord('v2', 2);

  it('counts leases per version; a second release of the same lease does nothing', () => {
    const leases = new ReaderLeases();
    const a = leases.acquire(v1);
    const b = leases.acquire(v1);
    leases.acquire(v2);
    expect(a.record).toBe(v1);
    expect([leases.count('v1'), leases.count('v2'), leases.count('v3')]).toEqual([2, 1, 0]);
    a.release();
    a.release();
    expect(leases.count('v1')).toBe(1);
    b.release();
    expect(leases.count('v1')).toBe(0);
  });

  it('runs the work after a drain only once the last reader of that version is done', async () => {
    const leases = new ReaderLeases();
    const a = leases.acquire(v1);
    const b = leases.acquire(v1);
    const other = leases.acquire(v2);
    const done: string[] = [];
    const removal = leases.afterDrain('v1', async () => void done.push('v1 removed'));
    expect(leases.busy).toBe(true);
    a.release();
    other.release();
    await flush();
    expect(done).toEqual([]);
    b.release();
    await removal;
    expect(done).toEqual(['v1 removed']);
    await leases.idle();
    expect(leases.busy).toBe(false);
  });

  it('runs the work at once for a version nobody reads, and hands its failure to the caller', async () => {
    const leases = new ReaderLeases();
    await expect(leases.afterDrain('v1', async () => Promise.reject(new Error('store down')))).rejects.toThrow('store down');
    await leases.idle();
    expect(leases.busy).toBe(false);
  });

  it('idle() waits for work added while it waits', async () => {
    const leases = new ReaderLeases();
    const a = leases.acquire(v1);
    const b = leases.acquire(v2);
    const done: string[] = [];
    void leases.afterDrain('v1', async () => {
      done.push('v1');
      b.release();
    });
    let idle = false;
    const waiting = leases.idle().then(() => (idle = true));
    void leases.afterDrain('v2', async () => void done.push('v2'));
    a.release();
    await waiting;
    expect(idle).toBe(true);
    expect(done).toEqual(['v1', 'v2']);
  });
});
