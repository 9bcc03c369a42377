import * as tf from '@tensorflow/tfjs';
import { initTraining } from './init-training';
import { fastWasmKernelsRegistered, registerFastWasmKernels, unregisterFastWasmKernels } from './wasm-kernels/register';

describe('initTraining', () => {
  it('rejects a thread count that is not a positive integer', async () => {
    await expect(initTraining({ threads: 0 })).rejects.toThrow(TypeError);
    await expect(initTraining({ threads: 1.5 })).rejects.toThrow(TypeError);
  });

  it('selects the wasm backend and registers the fast kernels idempotently', async () => {
    await initTraining();
    expect(tf.getBackend()).toBe('wasm');
    expect(fastWasmKernelsRegistered()).toBe(true);
    const fast = tf.getKernel('BatchMatMul', 'wasm');
    registerFastWasmKernels();
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(fast);
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  });

  it('restores the stock kernels and gradients on unregister', async () => {
    await initTraining();
    unregisterFastWasmKernels();
    expect(fastWasmKernelsRegistered()).toBe(false);
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeUndefined();
    const table = tf.ones([4, 2]);
    expect(() => tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d([1, 1], 'int32'))))(table)).toThrow(/UnsortedSegmentSum/);
    registerFastWasmKernels();
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d([1, 1], 'int32'))))(table);
    expect(Array.from(grad.dataSync())).toEqual([0, 0, 2, 2, 0, 0, 0, 0]);
  });
});
