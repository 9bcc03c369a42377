import * as tf from '@tensorflow/tfjs';
import { compareWithReference, randomTensor, setUpWasm, TOLERANCE } from '../testing/reference';

beforeAll(setUpWasm);

describe('leading-axes Sum on wasm', () => {
  it.each([
    { name: 'bias gradient rows', shape: [300, 7], axis: 0, keepDims: false },
    { name: 'two leading axes kept', shape: [4, 5, 6], axis: [1, 0], keepDims: true },
    { name: 'inner axis (stock path)', shape: [4, 5, 6], axis: -1, keepDims: false },
    { name: 'middle axis (stock path)', shape: [4, 5, 6], axis: 1, keepDims: true },
    { name: 'all axes (stock path)', shape: [4, 5], axis: [0, 1], keepDims: false },
  ])('matches the reference: $name', async ({ shape, axis, keepDims }) => {
    const error = await compareWithReference(() => tf.sum(randomTensor(shape, 50), axis, keepDims));
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('sums int32 tensors through the stock kernel', async () => {
    const error = await compareWithReference(() => tf.cast(tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), 0), 'float32'));
    expect(error).toBe(0);
  });
});
