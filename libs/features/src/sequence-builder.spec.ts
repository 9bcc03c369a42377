import { ActionType } from '@pinrank/proto';
import { buildSequence } from './sequence-builder';
import { SequenceTimeline } from './sequence-timeline';
import { stackSequences } from './stack-sequences';
import type { SequenceAction } from './sequence-types';

const D = 4;
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z: float32 cannot hold epoch ms exactly

function act(id: string, type: number, ts: number, fill = 0): SequenceAction {
  return { actionId: id, itemId: `i-${id}`, actionType: type, timestampMs: ts, surface: 1, durationMs: 0, vector: new Float32Array(D).fill(fill) };
}

/** A small deterministic pseudo-random log with duplicates and out-of-order arrival. */
function randomLog(n: number, seed: number): SequenceAction[] {
  let s = seed >>> 0;
  const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const types = [1, 2, 3, 4, 5];
  const log: SequenceAction[] = [];
  for (let i = 0; i < n; i++) {
    const ts = T0 + Math.floor(rnd() * 3_600_000) * 10; // 10 ms grid → ties happen
    log.push(act(`a${i}`, types[Math.floor(rnd() * types.length)] as number, ts, i));
    if (rnd() < 0.1) log.push(act(`a${i}`, log[log.length - 1]!.actionType, ts, i));
  }
  return log;
}

describe('buildSequence', () => {
  it('orders newest first, excludes impressions and future actions, pads, and computes float64 ages', () => {
    const asOf = T0 + 10_000;
    const seq = buildSequence(
      [
        act('old', ActionType.ACTION_TYPE_SAVE, T0, 1),
        act('imp', ActionType.ACTION_TYPE_IMPRESSION, T0 + 5_000, 2),
        act('new', ActionType.ACTION_TYPE_HIDE, T0 + 9_500, 3),
        act('future', ActionType.ACTION_TYPE_CLICK, T0 + 20_000, 4),
      ],
      { asOfMs: asOf, maxLen: 4, dimension: D },
    );
    expect(seq.length).toBe(2);
    expect(seq.rows.map((r) => r.actionId)).toEqual(['new', 'old']);
    expect(Array.from(seq.actionTypes)).toEqual([5n, 3n, 0n, 0n]);
    expect(Array.from(seq.agesS)).toEqual([0.5, 10, -1, -1]);
    expect(Array.from(seq.itemVectors)).toEqual([3, 3, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('keeps sub-second ages exact near today\'s epoch (float32 of epoch ms would lose ~131 s)', () => {
    const seq = buildSequence([act('a', ActionType.ACTION_TYPE_CLICK, T0 + 1)], { asOfMs: T0 + 251, dimension: D });
    expect(seq.agesS[0]).toBeCloseTo(0.25, 6);
  });

  it('drops duplicate action ids and truncates to maxLen keeping the newest', () => {
    const log = [act('a', 3, T0 + 1), act('a', 3, T0 + 1), act('b', 3, T0 + 2), act('c', 3, T0 + 3)];
    const seq = buildSequence(log, { asOfMs: T0 + 10, maxLen: 2, dimension: D });
    expect(seq.rows.map((r) => r.actionId)).toEqual(['c', 'b']);
  });

  it('does not depend on arrival order, including timestamp ties', () => {
    const log = randomLog(300, 7);
    const shuffled = [...log].reverse();
    const a = buildSequence(log, { asOfMs: T0 + 20_000_000, dimension: D });
    const b = buildSequence(shuffled, { asOfMs: T0 + 20_000_000, dimension: D });
    expect(b.rows.map((r) => r.actionId)).toEqual(a.rows.map((r) => r.actionId));
    expect(b.itemVectors).toEqual(a.itemVectors);
  });

  it('returns a valid all-padding sequence for no actions', () => {
    const seq = buildSequence([], { asOfMs: T0 });
    expect(seq.length).toBe(0);
    expect(seq.actionTypes.length).toBe(100);
    expect(seq.itemVectors.length).toBe(100 * 32);
    expect(seq.agesS.every((a) => a === -1)).toBe(true);
  });

  it('refuses bad options with a clear message', () => {
    expect(() => buildSequence([], { asOfMs: T0, maxLen: 0 })).toThrow(/maxLen must be an integer in 1..1000, got 0/);
    expect(() => buildSequence([], { asOfMs: NaN })).toThrow(/asOfMs must be a finite/);
    expect(() => buildSequence([act('x', 3, T0)], { asOfMs: T0, dimension: 8 })).toThrow(/content vector has 4 values, expected 8/);
  });
});

describe('SequenceTimeline', () => {
  it('gives exactly buildSequence\'s tensors at every request time of a replayed log', () => {
    const log = randomLog(500, 11);
    const timeline = new SequenceTimeline(log, { maxLen: 50, dimension: D });
    for (let k = 0; k < 60; k++) {
      const asOf = T0 + k * 600_000 + 5;
      const a = timeline.at(asOf);
      const b = buildSequence(log, { asOfMs: asOf, maxLen: 50, dimension: D });
      expect(a.rows.map((r) => r.actionId)).toEqual(b.rows.map((r) => r.actionId));
      expect(a.actionTypes).toEqual(b.actionTypes);
      expect(a.agesS).toEqual(b.agesS);
      expect(a.itemVectors).toEqual(b.itemVectors);
    }
  });

  it('with(extra) equals a timeline of the longer log and leaves the original alone', () => {
    const log = randomLog(200, 5);
    const extra = [act('x1', 3, T0 + 36_000_000), act('x2', 5, T0 + 36_000_100), act('a0', 5, T0 + 36_000_200)];
    const timeline = new SequenceTimeline(log, { maxLen: 20, dimension: D });
    const asOf = T0 + 36_000_500;
    const merged = timeline.with(extra).at(asOf);
    const want = buildSequence([...log, ...extra], { asOfMs: asOf, maxLen: 20, dimension: D });
    expect(merged.rows.map((r) => r.actionId)).toEqual(want.rows.map((r) => r.actionId));
    expect(merged.rows.slice(0, 2).map((r) => r.actionId)).toEqual(['x2', 'x1']);
    expect(timeline.at(asOf).rows.map((r) => r.actionId)).not.toContain('x1');
  });
});

describe('stackSequences', () => {
  it('stacks users as rows and refuses mismatched shapes', () => {
    const s1 = buildSequence([act('a', 3, T0, 1)], { asOfMs: T0, maxLen: 2, dimension: D });
    const s2 = buildSequence([act('b', 5, T0, 2)], { asOfMs: T0 + 1000, maxLen: 2, dimension: D });
    const st = stackSequences([s1, s2]);
    expect(st.users).toBe(2);
    expect(Array.from(st.actionTypes)).toEqual([3n, 0n, 5n, 0n]);
    expect(Array.from(st.agesS)).toEqual([0, -1, 1, -1]);
    const s3 = buildSequence([], { asOfMs: T0, maxLen: 3, dimension: D });
    expect(() => stackSequences([s1, s3])).toThrow(/sequence 1 is \[3, 4\], expected \[2, 4\]/);
    expect(() => stackSequences([])).toThrow(/at least one/);
  });
});
