import * as tf from '@tensorflow/tfjs';
import { compareWithReference, randomTensor, setUpWasm, TOLERANCE } from '../testing/reference';

beforeAll(setUpWasm);

describe('in-memory Slice, SplitV and Unpack on wasm', () => {
  it.each([
    { name: 'leading rows (contiguous)', shape: [6, 5, 4], begin: [2, 0, 0], size: [3, 5, 4] },
    { name: 'first K rows of a sequence', shape: [3, 10, 8], begin: [0, 0, 0], size: [3, 4, 8] },
    { name: 'inner columns', shape: [5, 9], begin: [1, 2], size: [3, 4] },
    { name: 'middle box of rank 4', shape: [3, 4, 5, 6], begin: [1, 1, 2, 3], size: [2, 2, 2, 3] },
    { name: 'rank 5', shape: [2, 3, 2, 3, 4], begin: [1, 0, 1, 1, 0], size: [1, 3, 1, 2, 4] },
    { name: 'size -1 to the end', shape: [4, 7], begin: [1, 3], size: [-1, -1] },
    { name: 'empty box', shape: [4, 7], begin: [1, 3], size: [0, 2] },
  ])('slice matches the reference: $name', async ({ shape, begin, size }) => {
    const error = await compareWithReference(() => tf.slice(randomTensor(shape, 7), begin, size));
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('slices int32 and bool tensors', async () => {
    const error = await compareWithReference(() => {
      const ints = tf.tensor3d([...Array(24).keys()], [2, 3, 4], 'int32');
      return [tf.cast(tf.slice(ints, [0, 1, 1], [2, 2, 2]), 'float32'), tf.cast(tf.slice(tf.greater(ints, 10), [1, 0, 2], [1, 3, 2]), 'float32')];
    });
    expect(error).toBe(0);
  });

  it('split matches the reference on the last and a middle axis, with gradients', async () => {
    const error = await compareWithReference(() => {
      const x = randomTensor([4, 6, 8], 8);
      const pieces = [...tf.split(x, 2, -1), ...tf.split(x, [1, 3, 2], 1)];
      const weights = pieces.map((p, i) => randomTensor(p.shape, 20 + i));
      const grad = tf.grad((v: tf.Tensor) =>
        tf.addN([...tf.split(v, 2, -1), ...tf.split(v, [1, 3, 2], 1)].map((p, i) => tf.sum(tf.mul(p, weights[i] ?? 1)))),
      )(x);
      return [...pieces, grad];
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('unstack matches the reference on every axis, with gradients', async () => {
    const error = await compareWithReference(() => {
      const x = randomTensor([3, 4, 5], 9);
      const outs = [0, 1, 2, -1].flatMap((axis) => tf.unstack(x, axis));
      const grad = tf.grad((v: tf.Tensor) => tf.addN(tf.unstack(v, 1).map((p, i) => tf.mul(tf.sum(p), i + 1))))(x);
      return [...outs, grad];
    });
    expect(error).toBeLessThan(TOLERANCE);
  });
});
