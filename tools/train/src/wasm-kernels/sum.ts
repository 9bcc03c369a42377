import {
  Sum,
  util,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type SumAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { asWasmBackend, heapF32, sizeOf } from './wasm-backend';

/**
 * Sum for the wasm backend that reduces leading axes (bias and LayerNorm gradients: [rows, d] → [d])
 * by accumulating rows in place; the stock kernel first transposes the whole input so the reduced
 * axes are innermost. Any other reduction goes to `stock`.
 */
export function createSumKernel(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = (args.attrs ?? {}) as SumAttrs;
    const axes = util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    const leading = axes.length > 0 && axes.length < x.shape.length && axes.every((a, i) => a === i);
    if (x.dtype !== 'float32' || !leading) return stock.kernelFunc(args as never) as TensorInfo;
    const backend = asWasmBackend(args.backend);
    const innerShape = x.shape.slice(axes.length);
    const inner = sizeOf(innerShape);
    const rows = sizeOf(x.shape.slice(0, axes.length));
    const outShape = keepDims ? [...axes.map(() => 1), ...innerShape] : innerShape;
    const out = backend.makeOutput(outShape, 'float32');
    const xVals = heapF32(backend, x, rows * inner);
    const acc = new Float64Array(inner);
    for (let r = 0; r < rows; r++) {
      const base = r * inner;
      for (let j = 0; j < inner; j++) acc[j] = (acc[j] ?? 0) + (xVals[base + j] ?? 0);
    }
    heapF32(backend, out, inner).set(acc);
    return out;
  };
  return { kernelName: Sum, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}
