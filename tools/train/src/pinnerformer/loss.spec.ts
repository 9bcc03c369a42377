import * as tf from '@tensorflow/tfjs';
import { initTraining } from '../init-training';
import { MASKED_LOGIT, buildLogitBias, sampledSoftmaxLoss, type LogitBiasInput } from './loss';

beforeAll(async () => {
  await initTraining();
});

const counts = new Map([
  [10, 100],
  [11, 1],
  [12, 10],
  [13, 5],
]);
const base: LogitBiasInput = {
  targetItems: [10, 11, 12],
  targetRows: [0, 1, 1],
  randomItems: [13, 14],
  ownPositives: [new Set([10]), new Set([11, 12, 14])],
  negatives: 'mixed',
  logQ: true,
  itemProbability: (i) => (counts.get(i) ?? 0.5) / 116,
  numItems: 1000,
};

function lossOf(scores: number[][], bias: Float32Array, invTau = 1): number {
  return tf.tidy(() => {
    const T = scores.length;
    const C = scores[0]!.length;
    // users = identity rows, candidates = the score matrix transposed: users · candidatesᵀ = scores.
    const users = tf.eye(T, C);
    const candidates = tf.transpose(tf.tensor2d(scores));
    const padded = tf.concat([candidates, tf.zeros([C, C - T])], 1);
    return sampledSoftmaxLoss(tf, users, padded, tf.scalar(invTau), tf.tensor2d(bias, [T, C])).dataSync()[0]!;
  });
}

describe('buildLogitBias', () => {
  it('subtracts log of each item’s expected count in the mixed pool (in-batch T·q + uniform R/N)', () => {
    const bias = buildLogitBias(base);
    const C = 5;
    const expected = (item: number): number => -Math.log(3 * ((counts.get(item) ?? 0.5) / 116) + 2 / 1000);
    // Row 0 (user 0 owns item 10 only): positive column 0 and the unmasked negatives carry the correction.
    expect(bias[0]).toBeCloseTo(expected(10), 5);
    expect(bias[1]).toBeCloseTo(expected(11), 5);
    expect(bias[2]).toBeCloseTo(expected(12), 5);
    expect(bias[3]).toBeCloseTo(expected(13), 5);
    expect(bias[4]).toBeCloseTo(expected(14), 5);
    // A popular item is pushed down relative to a rare one by about log of the count ratio.
    expect(bias[1]! - bias[0]!).toBeGreaterThan(Math.log(100) - 0.2);
    expect(bias.length).toBe(3 * C);
  });

  it('is zero without logQ, except for masked columns', () => {
    const bias = buildLogitBias({ ...base, logQ: false });
    expect(Array.from(bias.subarray(0, 5))).toEqual([0, 0, 0, 0, 0]);
  });

  it("masks the row's own positives and accidental hits, never the target's own column", () => {
    const bias = buildLogitBias(base);
    const C = 5;
    // Row of target 1 (user 1 owns 11, 12, 14): column 1 is its positive (kept), 2 and 4 are own positives.
    expect(bias[1 * C + 1]).not.toBe(MASKED_LOGIT);
    expect(bias[1 * C + 2]).toBe(MASKED_LOGIT);
    expect(bias[1 * C + 4]).toBe(MASKED_LOGIT);
    expect(bias[1 * C + 0]).not.toBe(MASKED_LOGIT);
    expect(bias[1 * C + 3]).not.toBe(MASKED_LOGIT);
    // Target 2 (same user): its own column 2 is kept, column 1 (the user's item 11) is masked.
    expect(bias[2 * C + 2]).not.toBe(MASKED_LOGIT);
    expect(bias[2 * C + 1]).toBe(MASKED_LOGIT);
    // An in-batch duplicate of the positive is an accidental hit.
    const dup = buildLogitBias({ ...base, targetItems: [10, 10, 12], ownPositives: [new Set(), new Set()] });
    expect(dup[0 * C + 1]).toBe(MASKED_LOGIT);
    expect(dup[1 * C + 0]).toBe(MASKED_LOGIT);
  });

  it('random-only keeps only the diagonal of the in-batch block, and its uniform correction cancels', () => {
    const bias = buildLogitBias({ ...base, negatives: 'random' });
    const C = 5;
    expect(bias[0 * C + 1]).toBe(MASKED_LOGIT);
    expect(bias[0 * C + 2]).toBe(MASKED_LOGIT);
    const scores = [
      [2, 0.5, 0.1, 0.3, -0.2],
      [0.4, 1, 0.2, 0.9, 0.1],
      [0.3, 0.2, 0.7, -0.5, 0.6],
    ];
    expect(lossOf(scores, bias)).toBeCloseTo(lossOf(scores, buildLogitBias({ ...base, negatives: 'random', logQ: false })), 4);
  });

  it('in-batch only takes no random items', () => {
    expect(() => buildLogitBias({ ...base, negatives: 'in-batch' })).toThrow(RangeError);
    expect(buildLogitBias({ ...base, negatives: 'in-batch', randomItems: [] }).length).toBe(9);
  });
});

describe('sampledSoftmaxLoss', () => {
  const scores = [
    [2, 0.5, 0.1, 0.3, -0.2],
    [0.4, 1, 0.2, 0.9, 0.1],
    [0.3, 0.2, 0.7, -0.5, 0.6],
  ];

  it('equals the hand-computed softmax cross-entropy with the bias', () => {
    const bias = buildLogitBias(base);
    const C = 5;
    let expected = 0;
    scores.forEach((row, t) => {
      const logits = row.map((s, j) => s * 3 + bias[t * C + j]!);
      const max = Math.max(...logits);
      const lse = max + Math.log(logits.reduce((a, l) => a + Math.exp(l - max), 0));
      expected += lse - logits[t]!;
    });
    expect(lossOf(scores, bias, 3)).toBeCloseTo(expected / 3, 4);
  });

  it("does not move when a masked own positive's score changes, but does for an unmasked negative", () => {
    const bias = buildLogitBias(base);
    const before = lossOf(scores, bias);
    const maskedChanged = scores.map((r) => [...r]);
    maskedChanged[1]![2] = 50; // own positive of target 1's user
    expect(lossOf(maskedChanged, bias)).toBeCloseTo(before, 6);
    const openChanged = scores.map((r) => [...r]);
    openChanged[1]![3] = 5; // random negative 13
    expect(lossOf(openChanged, bias)).toBeGreaterThan(before + 0.5);
  });
});
