import { broadcastTo, div, Mean, reshape, util, type GradConfig, type MeanAttrs, type Tensor } from '@tensorflow/tfjs';
import { keptShape } from './kept-shape';

/**
 * Gradient of Mean as an explicit broadcast of dy / n (fast Tile). The stock gradient builds
 * `ones(x.shape)` in JS and uploads it, for every LayerNorm of every step.
 */
export const meanGradConfig: GradConfig = {
  kernelName: Mean,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs) => {
    const [x] = saved;
    if (x == null || Array.isArray(dy)) throw new Error('Mean gradient expects one input and one output');
    const { axis } = attrs as unknown as MeanAttrs;
    const axes = util.parseAxisParam(axis, x.shape);
    const count = axes.reduce((n, a) => n * (x.shape[a] ?? 1), 1);
    return { x: () => broadcastTo(div(reshape(dy, keptShape(x.shape, axes)), count), x.shape) };
  },
};
