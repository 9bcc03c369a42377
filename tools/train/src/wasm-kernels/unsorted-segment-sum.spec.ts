import * as tf from '@tensorflow/tfjs';
import { compareWithReference, onFastWasm, randomTensor, setUpWasm, TOLERANCE } from '../testing/reference';

beforeAll(setUpWasm);

describe('GatherV2 and UnsortedSegmentSum (its gradient) on wasm', () => {
  it('matches the reference for float32 and int32 values', async () => {
    const error = await compareWithReference(() => {
      const ids = tf.tensor1d([3, 0, 3, 5, 1, 0, 3], 'int32');
      return [
        tf.unsortedSegmentSum(randomTensor([7, 2, 3], 15), ids, 6),
        tf.cast(tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4, 5, 6, 7], 'int32'), ids, 6), 'float32'),
      ];
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('gives tf.gather a gradient that matches the reference (embedding lookup)', async () => {
    const error = await compareWithReference(() => {
      const table = randomTensor([20, 8], 16);
      const ids = tf.tensor2d([[1, 4, 4, 0], [19, 1, 7, 4], [0, 0, 2, 3]], [3, 4], 'int32');
      const w = randomTensor([3, 4, 8], 17);
      return [tf.gather(table, ids), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), w)))(table)];
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('gathers along a middle axis with a gradient', async () => {
    const error = await compareWithReference(() => {
      const x = randomTensor([3, 6, 4], 18);
      const ids = tf.tensor1d([5, 0, 5, 2], 'int32');
      return [tf.gather(x, ids, 1), tf.gather(x, tf.tensor1d([3, 0, 3, 1], 'int32'), -1)].concat(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.gather(v, ids, 1), randomTensor([3, 4, 4], 19))))(x));
    });
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('gathers int32 values and rejects indices outside the axis', async () => {
    const [ints] = await onFastWasm(() => tf.cast(tf.gather(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), tf.tensor1d([2, 0], 'int32')), 'float32'));
    expect(Array.from(ints?.values ?? [])).toEqual([5, 6, 1, 2]);
    await expect(onFastWasm(() => tf.gather(tf.ones([3, 2]), tf.tensor1d([3], 'int32')))).rejects.toThrow(/not in \[0, 2\]/);
  });

  it('drops segment ids outside [0, numSegments)', async () => {
    const [out] = await onFastWasm(() => tf.unsortedSegmentSum(tf.tensor1d([1, 2, 4]), tf.tensor1d([0, -1, 2], 'int32'), 2));
    expect(Array.from(out?.values ?? [])).toEqual([1, 0]);
  });
});
