import * as tf from '@tensorflow/tfjs';
import { compareWithReference, onFastWasm, randomTensor, setUpWasm } from '../testing/reference';

beforeAll(setUpWasm);

describe('reference-counted Identity on wasm', () => {
  it('clones share memory yet outlive the original', async () => {
    const [value] = await onFastWasm(() => {
      const x = tf.tensor1d([1, 2, 3]);
      const y = tf.clone(x);
      x.dispose();
      return tf.add(y, 1);
    });
    expect(Array.from(value?.values ?? [])).toEqual([2, 3, 4]);
  });

  it('does not leak: the buffer is freed once every clone is disposed', async () => {
    await onFastWasm(() => tf.scalar(0));
    const backend = tf.engine().backend;
    const before = backend.numDataIds();
    const x = tf.ones([1000]);
    const clones = [tf.clone(x), tf.clone(x)];
    expect(backend.numDataIds()).toBe(before + 1);
    x.dispose();
    clones[0]?.dispose();
    expect(backend.numDataIds()).toBe(before + 1);
    clones[1]?.dispose();
    expect(backend.numDataIds()).toBe(before);
  });

  it('keeps gradients (which save cloned tensors) equal to the reference', async () => {
    const error = await compareWithReference(() => {
      const x = randomTensor([5, 6], 60);
      return tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.exp(v), tf.sigmoid(v))))(x);
    });
    expect(error).toBeLessThan(1e-5);
  });
});
