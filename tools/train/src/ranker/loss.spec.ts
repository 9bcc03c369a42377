import * as tf from '@tensorflow/tfjs';
import { DEFAULT_LABEL_WEIGHTS, headTargets, targetsAndWeights, weightedBce } from './loss';

describe('ranker loss', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('maps outcomes to head targets (save, click, hide)', () => {
    expect(headTargets(1)).toEqual([0, 0, 0]);
    expect(headTargets(2)).toEqual([0, 1, 0]);
    expect(headTargets(3)).toEqual([1, 0, 0]);
    expect(headTargets(4)).toEqual([0, 1, 0]);
    expect(headTargets(5)).toEqual([0, 0, 1]);
    expect(() => headTargets(0)).toThrow(RangeError);
  });

  it('takes per-head weights from the label-weight matrix row of the outcome', () => {
    const { targets, weights } = targetsAndWeights([1, 5, 3], DEFAULT_LABEL_WEIGHTS);
    expect([...targets]).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0]);
    // A hide doubles the save and click heads' weights.
    expect([...weights]).toEqual([1, 1, 1, 2, 2, 1, 1, 1, 1]);
  });

  it('is the weighted sum of per-head binary cross-entropies over examples', () => {
    const probs = [0.9, 0.2, 0.4, 0.3, 0.6, 0.05];
    const y = [1, 0, 1, 0, 1, 0];
    const w = [1, 2, 0.5, 2, 1, 3];
    let expected = 0;
    for (let i = 0; i < 6; i++) expected -= w[i]! * (y[i]! * Math.log(probs[i]!) + (1 - y[i]!) * Math.log(1 - probs[i]!));
    expected /= 2;
    const loss = weightedBce(tf, tf.tensor2d(probs, [2, 3]), tf.tensor2d(y, [2, 3]), tf.tensor2d(w, [2, 3]));
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
    // A zero weight removes a head's term entirely.
    const zero = weightedBce(tf, tf.tensor2d([0.5, 0.999], [1, 2]), tf.tensor2d([1, 0], [1, 2]), tf.tensor2d([1, 0], [1, 2]));
    expect(zero.dataSync()[0]).toBeCloseTo(Math.log(2), 5);
  });

  it('stays finite at saturated probabilities', () => {
    const loss = weightedBce(tf, tf.tensor2d([0, 1], [1, 2]), tf.tensor2d([1, 0], [1, 2]), tf.ones([1, 2]));
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
  });
});
