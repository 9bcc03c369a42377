import { broadcastTo, reshape, Sum, util, type GradConfig, type SumAttrs, type Tensor } from '@tensorflow/tfjs';
import { keptShape } from './kept-shape';

/**
 * Gradient of Sum as an explicit broadcast of dy (fast Tile). The stock gradient multiplies by a
 * freshly filled `ones(x.shape)` with an implicitly broadcasting multiply.
 */
export const sumGradConfig: GradConfig = {
  kernelName: Sum,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs) => {
    const [x] = saved;
    if (x == null || Array.isArray(dy)) throw new Error('Sum gradient expects one input and one output');
    const { axis } = attrs as unknown as SumAttrs;
    const axes = util.parseAxisParam(axis, x.shape);
    return { x: () => broadcastTo(reshape(dy, keptShape(x.shape, axes)), x.shape) };
  },
};
