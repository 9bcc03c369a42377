import * as tf from '@tensorflow/tfjs';
import { logSumExp } from './log-sum-exp';
import { randomTensor, setUpWasm } from '../testing/reference';

beforeAll(setUpWasm);

describe('fast kernels in a training loop', () => {
  it('leave no tensors or wasm buffers behind across Adam steps', async () => {
    await tf.setBackend('wasm');
    const table = tf.variable(randomTensor([30, 8], 70));
    const w = tf.variable(randomTensor([8, 16], 71));
    const ids = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8], [9, 1, 2, 3]], [3, 4], 'int32');
    const optimizer = tf.train.adam(0.01);
    const loss = (): tf.Scalar => {
      const rows = tf.gather(table, ids);
      const wide = tf.concat([rows, tf.tile(tf.slice(rows, [0, 0, 0], [3, 1, 8]), [1, 4, 1])], -1);
      const scores = tf.matMul(wide, w, false, true);
      const attn = tf.matMul(scores, scores, true, false);
      return tf.mean(tf.sub(logSumExp(tf.reshape(attn, [3, -1]), -1), tf.max(tf.reshape(attn, [3, -1]), -1))) as tf.Scalar;
    };
    const step = (): number => {
      const value = optimizer.minimize(loss, true, [table, w]);
      const out = value?.dataSync()[0] ?? Number.NaN;
      value?.dispose();
      return out;
    };
    step();
    step();
    const backend = tf.engine().backend;
    const tensors = tf.memory().numTensors;
    const buffers = backend.numDataIds();
    const losses = [step(), step(), step()];
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(buffers);
    expect(losses.every(Number.isFinite)).toBe(true);
    optimizer.dispose();
    tf.dispose([table, w, ids]);
  });
});
