import { Tile, reshape, sum, type GradConfig, type Tensor, type TileAttrs } from '@tensorflow/tfjs';

/**
 * Gradient of Tile as one reshape + sum: dy viewed as [r0, d0, r1, d1, ...] summed over the r axes.
 * The stock gradient adds one slice of dy per repetition (rank ≤ 4 only), i.e. thousands of kernels
 * for a sequence-length broadcast.
 */
export const tileGradConfig: GradConfig = {
  kernelName: Tile,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs) => {
    const [x] = saved;
    if (x == null || Array.isArray(dy)) throw new Error('Tile gradient expects one input and one output');
    const { reps } = attrs as unknown as TileAttrs;
    return {
      x: () => {
        const split: number[] = [];
        const repAxes: number[] = [];
        x.shape.forEach((d, i) => {
          repAxes.push(split.length);
          split.push(reps[i] ?? 1, d);
        });
        return reshape(sum(reshape(dy, split), repAxes), x.shape);
      },
    };
  },
};
