import * as tf from '@tensorflow/tfjs';
import { compareWithReference, randomTensor, setUpWasm, TOLERANCE } from '../testing/reference';

beforeAll(setUpWasm);

describe('fast Transpose on wasm', () => {
  it.each([
    { name: '2-D (blocked, ragged tiles)', shape: [70, 45], perm: [1, 0] },
    { name: 'batched last two axes', shape: [3, 2, 33, 17], perm: [0, 1, 3, 2] },
    { name: 'split heads (last axis kept)', shape: [4, 10, 2, 6], perm: [0, 2, 1, 3] },
    { name: 'rank 5, last axis kept', shape: [2, 3, 4, 2, 5], perm: [3, 0, 2, 1, 4] },
    { name: 'identity permutation', shape: [3, 4], perm: [0, 1] },
    { name: 'other permutation (stock path)', shape: [3, 4, 5], perm: [2, 0, 1] },
  ])('transpose and its gradient match the reference: $name', async ({ shape, perm }) => {
    const error = await compareWithReference(() => {
      const x = randomTensor(shape, 80);
      const y = tf.transpose(x, perm);
      const w = randomTensor(y.shape, 81);
      return [y, tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.transpose(v, perm), w)))(x)];
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('transposes int32 and bool tensors exactly', async () => {
    const error = await compareWithReference(() => {
      const ints = tf.tensor3d([...Array(24).keys()], [2, 3, 4], 'int32');
      return [
        tf.cast(tf.transpose(ints, [1, 0, 2]), 'float32'),
        tf.cast(tf.transpose(ints, [0, 2, 1]), 'float32'),
        tf.cast(tf.transpose(tf.greater(ints, 7), [1, 0, 2]), 'float32'),
      ];
    });
    expect(error).toBe(0);
  });
});
