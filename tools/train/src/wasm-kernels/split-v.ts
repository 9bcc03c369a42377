import {
  backend_util,
  SplitV,
  util,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type SplitVAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { sliceInWasm } from './slice';
import { asWasmBackend } from './wasm-backend';

/** A SplitV kernel for the wasm backend built on the in-memory slice; strings go to `stock`. */
export function createSplitVKernel(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string' || x.dtype === 'complex64') return stock.kernelFunc(args as never) as TensorInfo[];
    const backend = asWasmBackend(args.backend);
    const { numOrSizeSplits, axis } = (args.attrs ?? {}) as SplitVAttrs;
    const $axis = util.parseAxisParam(axis, x.shape)[0] ?? 0;
    const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, $axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = x.shape.slice();
      size[$axis] = s;
      const piece = sliceInWasm(backend, x, begin.slice(), size);
      begin[$axis] = (begin[$axis] ?? 0) + s;
      return piece;
    });
  };
  return { kernelName: SplitV, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}
