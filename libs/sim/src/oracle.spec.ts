import { ACTION } from './affinity';
import { generateWorld } from './generate';
import { AffinityOracle } from './oracle';

describe('AffinityOracle', () => {
  const { world, table } = generateWorld({ seed: 21, users: 400, items: 2000, days: 20 });
  const oracle = new AffinityOracle(world);

  it('is calibrated against the log it generated', () => {
    // The log was drawn from the oracle's probabilities: expected and observed counts agree.
    const expected = [0, 0, 0, 0, 0, 0];
    const observed = [0, 0, 0, 0, 0, 0];
    const one = new Uint32Array(1);
    for (let k = 0; k < table.length; k++) {
      one[0] = table.itemIndex[k] as number;
      for (const t of [ACTION.SAVE, ACTION.CLICK, ACTION.HIDE]) {
        expected[t]! += oracle.probabilityOf(t, table.userIndex[k] as number, table.timestampMs[k] as number, one)[0] as number;
      }
      observed[table.actionType[k] as number]!++;
    }
    for (const t of [ACTION.SAVE, ACTION.CLICK, ACTION.HIDE]) {
      // Within 4 standard deviations of a Poisson count.
      expect(Math.abs(observed[t]! - expected[t]!)).toBeLessThan(4 * Math.sqrt(expected[t]!));
      expect(expected[t]).toBeGreaterThan(300);
    }
  });

  it('answers by string ids with probabilities that sum to one', () => {
    const k = 123;
    const truth = oracle.affinity(`u${table.userIndex[k]}`, table.timestampMs[k] as number, `i${table.itemIndex[k]}`);
    const p = truth.probabilities;
    expect(p.impression + p.click + p.save + p.closeup + p.hide).toBeCloseTo(1, 12);
    expect(truth.score).toBeCloseTo(
      world.options.affinity.longTermWeight * truth.longTerm +
        world.options.affinity.sessionWeight * truth.session +
        world.options.affinity.popularityWeight * truth.popularityZ,
      12,
    );
    expect(() => oracle.affinity('u400', 0, 'i0')).toThrow(RangeError);
    expect(() => oracle.affinity('u0', 0, 'x1')).toThrow(RangeError);
  });

  it('follows the session intent: full inside a session, fading after it, and scoring intent items higher', () => {
    const tl = world.timeline(5);
    const s = tl.sessions[0]!;
    const inside = oracle.intentAt(5, s.startMs);
    expect(inside).toMatchObject({ strength: 1, sessionIndex: 0 });
    expect(inside.topics[0]).toBe(s.intentTopics[0]);
    const halfLife = world.options.intentHalfLifeMin * 60_000;
    expect(oracle.intentAt(5, s.endMs + halfLife).strength).toBeCloseTo(0.5, 9);
    expect(oracle.intentAt(5, s.startMs - 1).strength).toBe(0);
    // Items of the intent topic outscore items of a topic the user never cares about.
    const intentTopic = s.intentTopics[0];
    const foreign = [...Array(world.options.topics).keys()].find(
      (t) => t !== intentTopic && t !== s.intentTopics[1] && !tl.profile.topics.includes(t),
    ) as number;
    const pick = (topic: number): number[] =>
      [...Array(world.options.items).keys()].filter((i) => world.items.primaryTopic[i] === topic && (world.items.secondaryTopic[i] as number) < 0);
    const mean = (xs: Float64Array): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(oracle.scores(5, s.startMs, pick(intentTopic)))).toBeGreaterThan(mean(oracle.scores(5, s.startMs, pick(foreign))) + 3);
  });

  it('longTermScores leave the session intent out: equal to scores outside any session, lower inside one for intent items', () => {
    const tl = world.timeline(5);
    const s = tl.sessions[0]!;
    const items = [...Array(60).keys()];
    // Before the first session there is no intent: both agree exactly.
    expect(Array.from(oracle.longTermScores(5, s.startMs - 1, items))).toEqual(Array.from(oracle.scores(5, s.startMs - 1, items)));
    // Inside a session the full score adds sessionWeight x the intent match, which is never negative.
    const full = oracle.scores(5, s.startMs, items);
    const longTerm = oracle.longTermScores(5, s.startMs, items);
    items.forEach((_, k) => expect(full[k]).toBeGreaterThanOrEqual(longTerm[k]! - 1e-12));
    const intentItem = [...Array(world.options.items).keys()].find((i) => world.items.primaryTopic[i] === s.intentTopics[0])!;
    expect(oracle.scores(5, s.startMs, [intentItem])[0]).toBeGreaterThan(oracle.longTermScores(5, s.startMs, [intentItem])[0]! + 1);
  });
});
