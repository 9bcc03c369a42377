import * as tf from '@tensorflow/tfjs';
import { logSumExp } from './log-sum-exp';
import { compareWithReference, randomTensor, setUpWasm, TOLERANCE } from '../testing/reference';

beforeAll(setUpWasm);

const axesCases: { name: string; shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
  { name: 'last axis', shape: [6, 7], axis: -1, keepDims: false },
  { name: 'sequence axis (max-pool)', shape: [3, 10, 8], axis: 1, keepDims: false },
  { name: 'two axes kept', shape: [2, 3, 4, 5], axis: [1, 3], keepDims: true },
  { name: 'leading axis', shape: [5, 4], axis: 0, keepDims: false },
];

describe('fast reduction gradients', () => {
  it.each(axesCases)('max value and gradient match the reference: $name', async ({ shape, axis, keepDims }) => {
    const error = await compareWithReference(() => {
      const x = randomTensor(shape, 21);
      const y = tf.max(x, axis, keepDims);
      const w = randomTensor(y.shape, 22);
      return [y, tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.max(v, axis, keepDims), w)))(x)];
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it.each(axesCases)('sum gradient matches the reference: $name', async ({ shape, axis, keepDims }) => {
    const error = await compareWithReference(() => {
      const x = randomTensor(shape, 23);
      const w = randomTensor(tf.sum(x, axis, keepDims).shape, 24);
      return tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.sum(v, axis, keepDims), w)))(x);
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it.each(axesCases)('mean gradient matches the reference: $name', async ({ shape, axis, keepDims }) => {
    const error = await compareWithReference(() => {
      const x = randomTensor(shape, 28);
      const w = randomTensor(tf.mean(x, axis, keepDims).shape, 29);
      return tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.mean(v, axis, keepDims), w)))(x);
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('layer normalisation gradients (moments) match the reference', async () => {
    const error = await compareWithReference(() => {
      const x = randomTensor([3, 5, 8], 30);
      const w = randomTensor([3, 5, 8], 31);
      const norm = (v: tf.Tensor): tf.Tensor => {
        const { mean, variance } = tf.moments(v, -1, true);
        return tf.div(tf.sub(v, mean), tf.sqrt(tf.add(variance, 1e-5)));
      };
      return tf.grad((v: tf.Tensor) => tf.sum(tf.mul(norm(v), w)))(x);
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it.each(axesCases)('logSumExp value and gradient match tf.logSumExp: $name', async ({ shape, axis, keepDims }) => {
    const error = await compareWithReference(() => {
      const x = tf.mul(randomTensor(shape, 25), 20);
      const lse = tf.getBackend() === 'cpu' ? (v: tf.Tensor) => tf.logSumExp(v, axis, keepDims) : (v: tf.Tensor) => logSumExp(v, axis, keepDims);
      const w = randomTensor(tf.logSumExp(x, axis, keepDims).shape, 26);
      return [lse(x), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(lse(v), w)))(x)];
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('logSumExp trains variables through tf.variableGrads', async () => {
    const error = await compareWithReference(() => {
      const logits = tf.variable(randomTensor([4, 9], 27));
      const lse = tf.getBackend() === 'cpu' ? tf.logSumExp : logSumExp;
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.sub(lse(logits, -1), tf.max(logits, -1))) as tf.Scalar, [logits]);
      const out = [value, ...Object.values(grads)];
      logits.dispose();
      return out;
    });
    expect(error).toBeLessThan(TOLERANCE);
  });
});
