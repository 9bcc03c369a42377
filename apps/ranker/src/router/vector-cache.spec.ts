import { VectorCache } from './vector-cache';

const row = (v: number, width = 2): Float32Array => new Float32Array(width).fill(v);

describe('VectorCache', () => {
  it('gives cached content vectors in the order asked and lists the rest as missing', () => {
    const c = new VectorCache({ items: 10, users: 10 });
    c.rememberContent(['x', 'y'], new Float32Array([1, 1, 2, 2]), 2);
    const got = c.contentOf(['y', 'z', 'x'], 2);
    expect(got?.ids).toEqual(['y', 'x']);
    expect([...(got?.vectors ?? [])]).toEqual([2, 2, 1, 1]);
    expect(got?.missing).toEqual(['z']);
    expect(c.contentOf(['x'], 3)).toBeUndefined();
  });

  it('answers tower lookups from the last active snapshot, or a pinned one, and keeps two snapshots', () => {
    const c = new VectorCache({ items: 10, users: 10 });
    const tower = (snapshot: string, pinned: boolean, v: number) =>
      c.rememberTower({ snapshot, pinned, producerModelVersion: 'pf', itemIds: ['i'], vectors: row(v), width: 2, userId: 'u', user: row(v + 0.5) });
    tower('s1', false, 1);
    tower('s2', false, 2);
    let got = c.towerOf({ userId: 'u', itemIds: ['i'], pinned: undefined, width: 2 });
    expect(got?.snapshot).toBe('s2');
    expect([...(got?.items.vectors ?? [])]).toEqual([2, 2]);
    expect([...(got?.user ?? [])]).toEqual([2.5, 2.5]);
    expect(c.towerOf({ userId: 'u', itemIds: ['i'], pinned: 's1', width: 2 })?.snapshot).toBe('s1');
    // A pinned third snapshot evicts the older one that is not active, never the active one.
    tower('s3', true, 3);
    expect(c.towerOf({ userId: 'u', itemIds: ['i'], pinned: 's1', width: 2 })).toBeUndefined();
    got = c.towerOf({ userId: 'other', itemIds: ['i', 'j'], pinned: undefined, width: 2 });
    expect(got?.snapshot).toBe('s2');
    expect(got?.user).toBeUndefined();
    expect(got?.items.missing).toEqual(['j']);
    expect(c.rows()).toEqual({ content: 0, tower: 2, user: 2 });
  });

  it('has nothing to give before any lookup succeeded', () => {
    const c = new VectorCache({ items: 10, users: 0 });
    expect(c.contentOf(['x'], 2)).toBeUndefined();
    expect(c.towerOf({ userId: 'u', itemIds: ['x'], pinned: undefined, width: 2 })).toBeUndefined();
  });
});
