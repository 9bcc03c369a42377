import { actionPartition, actionStreamPartitions, actionSubject, MAX_ACTION_PARTITIONS } from './action-partitions';

describe('action stream partitions', () => {
  it('hashes a user id with 32-bit FNV-1a over its UTF-8 bytes', () => {
    // Reference values of FNV-1a 32: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(actionPartition('', 2 ** 8)).toBe(0x811c9dc5 % 256);
    expect(actionPartition('a', 200)).toBe(0xe40c292c % 200);
    expect(actionPartition('foobar', 97)).toBe(0xbf9cf968 % 97);
    // UTF-8 bytes, not UTF-16 code units: "é" is 0xc3 0xa9.
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(actionPartition('é', 251)).toBe(h % 251);
  });

  it('spreads users over the partitions and keeps each user on one', () => {
    const counts = new Array<number>(5).fill(0);
    for (let u = 0; u < 10_000; u++) counts[actionPartition(`u${u}`, 5)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(1_700);
    expect(actionSubject('pinrank.actions', 'u42', 5)).toBe(`pinrank.actions.${actionPartition('u42', 5)}`);
    expect(actionSubject('pinrank.actions', 'u42', 5)).toBe(actionSubject('pinrank.actions', 'u42', 5));
  });

  it('names one stream per partition, and keeps the unpartitioned names for one', () => {
    expect(actionStreamPartitions('PINRANK_ACTIONS', 'pinrank.actions', 1)).toEqual([{ stream: 'PINRANK_ACTIONS', subject: 'pinrank.actions' }]);
    expect(actionSubject('pinrank.actions', 'u42', 1)).toBe('pinrank.actions');
    expect(actionStreamPartitions('PINRANK_ACTIONS', 'pinrank.actions', 3)).toEqual([
      { stream: 'PINRANK_ACTIONS_0', subject: 'pinrank.actions.0' },
      { stream: 'PINRANK_ACTIONS_1', subject: 'pinrank.actions.1' },
      { stream: 'PINRANK_ACTIONS_2', subject: 'pinrank.actions.2' },
    ]);
  });

  it('refuses a wildcard subject to partition', () => {
    expect(actionStreamPartitions('S', 'pinrank.actions.>', 1)).toEqual([{ stream: 'S', subject: 'pinrank.actions.>' }]);
    for (const bad of ['pinrank.actions.>', 'pinrank.*.actions', 'pinrank..actions']) {
      expect(() => actionStreamPartitions('S', bad, 3)).toThrow(/must be a plain subject/);
    }
  });

  it('refuses a partition count outside 1..256', () => {
    for (const bad of [0, -1, 1.5, NaN, MAX_ACTION_PARTITIONS + 1]) {
      expect(() => actionPartition('u', bad)).toThrow(/expected an integer in 1\.\.256/);
      expect(() => actionSubject('s', 'u', bad)).toThrow(TypeError);
    }
  });
});
