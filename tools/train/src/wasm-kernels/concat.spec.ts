import * as tf from '@tensorflow/tfjs';
import { compareWithReference, randomTensor, setUpWasm, TOLERANCE } from '../testing/reference';

beforeAll(setUpWasm);

describe('in-memory Concat on wasm', () => {
  it.each([
    { name: 'last axis', shapes: [[4, 3, 2], [4, 3, 5], [4, 3, 1]], axis: -1 },
    { name: 'middle axis', shapes: [[2, 3, 4], [2, 1, 4]], axis: 1 },
    { name: 'first axis', shapes: [[2, 5], [3, 5]], axis: 0 },
    { name: 'with an empty input', shapes: [[3, 0], [3, 4], [3, 2]], axis: 1 },
  ])('concat and its gradient match the reference: $name', async ({ shapes, axis }) => {
    const error = await compareWithReference(() => {
      const xs = shapes.map((s, i) => randomTensor(s, 30 + i));
      const out = tf.concat(xs, axis);
      const w = randomTensor(out.shape, 40);
      return [out, ...tf.grads((...vs: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(vs, axis), w)))(xs)];
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('concatenates int32 and bool tensors exactly', async () => {
    const error = await compareWithReference(() => {
      const a = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
      const b = tf.tensor2d([5, 6], [2, 1], 'int32');
      return [tf.cast(tf.concat([a, b], 1), 'float32'), tf.cast(tf.concat([tf.greater(a, 2), tf.greater(b, 5)], 1), 'float32')];
    });
    expect(error).toBe(0);
  });
});
