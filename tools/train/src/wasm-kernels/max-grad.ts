import {
  broadcastTo,
  cast,
  equal,
  Max,
  mul,
  reshape,
  util,
  type GradConfig,
  type MaxAttrs,
  type Tensor,
} from '@tensorflow/tfjs';
import { keptShape } from './kept-shape';

/**
 * Gradient of Max that broadcasts the max and dy explicitly (fast Tile) before comparing. The stock
 * gradient runs `equal` with implicit broadcasting, which is a generic per-element-index loop on wasm.
 * Ties all receive dy, as in the stock gradient.
 */
export const maxGradConfig: GradConfig = {
  kernelName: Max,
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs) => {
    const [x, y] = saved;
    if (x == null || y == null || Array.isArray(dy)) throw new Error('Max gradient expects one input and one output');
    const { reductionIndices } = attrs as unknown as MaxAttrs;
    const axes = util.parseAxisParam(reductionIndices, x.shape);
    const kept = keptShape(x.shape, axes);
    return {
      x: () => {
        const yFull = broadcastTo(reshape(y, kept), x.shape);
        const dyFull = broadcastTo(reshape(dy, kept), x.shape);
        return mul(dyFull, cast(equal(x, yFull), dy.dtype));
      },
    };
  },
};
