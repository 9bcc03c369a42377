import {
  Unpack,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
  type UnpackAttrs,
} from '@tensorflow/tfjs';
import { sliceInWasm } from './slice';
import { asWasmBackend } from './wasm-backend';

/** An Unpack (unstack) kernel for the wasm backend built on the in-memory slice; strings go to `stock`. */
export function createUnpackKernel(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo[] => {
    const { value } = args.inputs as { value: TensorInfo };
    if (value.dtype === 'string' || value.dtype === 'complex64') return stock.kernelFunc(args as never) as TensorInfo[];
    const backend = asWasmBackend(args.backend);
    const rank = value.shape.length;
    let { axis } = (args.attrs ?? {}) as UnpackAttrs;
    if (axis < 0) axis += rank;
    const count = value.shape[axis] ?? 0;
    const outShape = value.shape.filter((_, d) => d !== axis);
    const size = value.shape.slice();
    size[axis] = 1;
    const outs: TensorInfo[] = [];
    for (let i = 0; i < count; i++) {
      const begin = new Array<number>(rank).fill(0);
      begin[axis] = i;
      const piece = sliceInWasm(backend, value, begin, size);
      outs.push({ dataId: piece.dataId, dtype: piece.dtype, shape: outShape });
    }
    return outs;
  };
  return { kernelName: Unpack, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}
