import * as tf from '@tensorflow/tfjs';
import { compareWithReference, onFastWasm, randomTensor, setUpWasm, TOLERANCE } from '../testing/reference';

beforeAll(setUpWasm);

describe('fast Tile kernel and gradient', () => {
  it.each([
    { name: 'rank 1', shape: [5], reps: [3] },
    { name: 'rank 2 both axes', shape: [3, 4], reps: [2, 3] },
    { name: 'sequence broadcast of a column', shape: [4, 1, 6], reps: [1, 10, 1] },
    { name: 'innermost scalar repeat', shape: [3, 5, 1], reps: [1, 1, 7] },
    { name: 'rank 4 mixed', shape: [2, 3, 1, 2], reps: [2, 1, 4, 3] },
    { name: 'no repetition', shape: [2, 3], reps: [1, 1] },
  ])('tile and its gradient match the reference: $name', async ({ shape, reps }) => {
    const error = await compareWithReference(() => {
      const x = randomTensor(shape, 11);
      const w = randomTensor(shape.map((d, i) => d * (reps[i] ?? 1)), 12);
      return [tf.tile(x, reps), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.tile(v, reps), w)))(x)];
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('tiles int32 and bool tensors exactly', async () => {
    const error = await compareWithReference(() => {
      const ints = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
      return [tf.cast(tf.tile(ints, [2, 2]), 'float32'), tf.cast(tf.tile(tf.greater(ints, 3), [3, 1]), 'float32')];
    });
    expect(error).toBe(0);
  });

  it('broadcastTo (which runs on Tile) and its gradient match the reference', async () => {
    const error = await compareWithReference(() => {
      const x = randomTensor([3, 1, 4], 13);
      const w = randomTensor([2, 3, 5, 4], 14);
      return [tf.broadcastTo(x, [2, 3, 5, 4]), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.broadcastTo(v, [2, 3, 5, 4]), w)))(x)];
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('differentiates rank-5 tiles, which the stock gradient rejects', async () => {
    const [tiled, grad] = await onFastWasm(() => {
      const x = tf.ones([1, 2, 1, 2, 1]);
      return [tf.tile(x, [2, 1, 3, 1, 2]), tf.grad((v: tf.Tensor) => tf.sum(tf.tile(v, [2, 1, 3, 1, 2])))(x)];
    });
    expect(tiled?.shape).toEqual([2, 2, 3, 2, 2]);
    expect(Array.from(grad?.values ?? [])).toEqual([12, 12, 12, 12]);
  });
});
