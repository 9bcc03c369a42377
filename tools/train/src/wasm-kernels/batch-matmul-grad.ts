import {
  BatchMatMul,
  broadcast_util,
  matMul,
  reshape,
  sum,
  type BatchMatMulAttrs,
  type GradConfig,
  type Tensor,
} from '@tensorflow/tfjs';

/** Sums a gradient over the batch axes its input was broadcast along, back to the input's shape. */
function reduceToShape(grad: Tensor, shape: number[]): Tensor {
  if (grad.shape.join(',') === shape.join(',')) return grad;
  const gradOuter = grad.shape.slice(0, -2);
  const axes = broadcast_util.getReductionAxes(shape.slice(0, -2), gradOuter);
  return reshape(axes.length > 0 ? sum(grad, axes) : grad, shape);
}

/**
 * Gradient of BatchMatMul that also handles broadcast batch dimensions (the stock gradient returns
 * the broadcast shape and the tape rejects it), e.g. a rank-3 activation times a rank-2 weight.
 */
export const batchMatMulGradConfig: GradConfig = {
  kernelName: BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs) => {
    const [a, b] = saved;
    if (a == null || b == null || Array.isArray(dy)) throw new Error('BatchMatMul gradient expects two inputs');
    const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
    const gradA = (): Tensor => {
      if (!transposeA) return transposeB ? matMul(dy, b, false, false) : matMul(dy, b, false, true);
      return transposeB ? matMul(b, dy, true, true) : matMul(b, dy, false, true);
    };
    const gradB = (): Tensor => {
      if (!transposeA) return transposeB ? matMul(dy, a, true, false) : matMul(a, dy, true, false);
      return transposeB ? matMul(dy, a, true, true) : matMul(a, dy, false, false);
    };
    return { a: () => reduceToShape(gradA(), a.shape), b: () => reduceToShape(gradB(), b.shape) };
  },
};
