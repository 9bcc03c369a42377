import { RowCache } from './row-cache';

const row = (v: number, width = 2): Float32Array => new Float32Array(width).fill(v);

describe('RowCache', () => {
  it('returns what was put, refreshes a row in place and overwrites the oldest row when full', () => {
    const c = new RowCache(2, 2);
    c.put('a', row(1), 0);
    c.put('b', new Float32Array([9, 9, 2, 3]), 2);
    const out = new Float32Array(4);
    expect(c.copyTo('b', out, 2)).toBe(true);
    expect([...out]).toEqual([0, 0, 2, 3]);
    c.put('a', row(5), 0); // refresh: no new slot
    expect(c.size).toBe(2);
    c.put('c', row(7), 0); // full: overwrites the oldest slot (a's)
    expect(c.copyTo('a', out, 0)).toBe(false);
    expect(c.copyTo('b', out, 0)).toBe(true);
    expect(c.copyTo('c', out, 0)).toBe(true);
    expect([...out.subarray(0, 2)]).toEqual([7, 7]);
    expect(c.size).toBe(2);
  });
});

describe('RowCache delete and clear', () => {
  it('forgets one row or all of them, and reuses their slots', () => {
    const c = new RowCache(2, 2);
    c.put('a', row(1), 0);
    c.put('b', row(2), 0);
    const out = new Float32Array(2);
    expect(c.delete('a')).toBe(true);
    expect(c.delete('a')).toBe(false);
    expect(c.copyTo('a', out, 0)).toBe(false);
    expect(c.size).toBe(1);
    c.put('c', row(3), 0); // the ring's next slot was a's
    expect(c.copyTo('b', out, 0)).toBe(true);
    expect(c.copyTo('c', out, 0)).toBe(true);
    expect([...out]).toEqual([3, 3]);
    c.clear();
    expect(c.size).toBe(0);
    expect(c.copyTo('b', out, 0)).toBe(false);
  });

  it('refuses a width or capacity below 1', () => {
    expect(() => new RowCache(0, 1)).toThrow(/width/);
    expect(() => new RowCache(1, 0)).toThrow(/capacity/);
  });
});
