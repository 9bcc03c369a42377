import * as tf from '@tensorflow/tfjs';
import { keptShape } from './kept-shape';

/**
 * log Σ exp(x) over `axis` with a one-line gradient, dy · exp(x − lse) (= dy · softmax). `tf.logSumExp`
 * differentiates through max, sub, exp, sum and log; its Max and broadcast gradients are very slow
 * on wasm for [batch, classes] logits.
 */
export function logSumExp(x: tf.Tensor, axis: number | number[] = -1, keepDims = false): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const kept = keptShape(x.shape, axes);
  const outShape = keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i));
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const lse = tf.logSumExp(input, axes, true);
    save([input, lse]);
    return {
      value: tf.reshape(lse, outShape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, lseKept] = saved;
        if (xs == null || lseKept == null) throw new Error('logSumExp gradient lost its saved tensors');
        const shift = tf.broadcastTo(lseKept, xs.shape);
        return tf.mul(tf.broadcastTo(tf.reshape(dy, kept), xs.shape), tf.exp(tf.sub(xs, shift)));
      },
    };
  });
  return op(x);
}
