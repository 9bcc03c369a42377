import {
  GatherV2,
  util,
  type GatherV2Attrs,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { asWasmBackend, bytesPerElement, heapCopier, heapI32, sizeOf, tensorData } from './wasm-backend';

/**
 * GatherV2 (embedding lookup) for the wasm backend as one row copy per index inside wasm memory. The
 * stock kernel copies the indices out, asserts each through a closure and runs a generic strided
 * gather. `batchDims` > 0 and strings go to `stock`. Thrown when an index is outside the axis.
 */
export function createGatherV2Kernel(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo => {
    const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
    const { axis, batchDims } = (args.attrs ?? {}) as GatherV2Attrs;
    if ((batchDims ?? 0) !== 0 || x.dtype === 'string' || x.dtype === 'complex64' || indices.dtype !== 'int32') {
      return stock.kernelFunc(args as never) as TensorInfo;
    }
    const backend = asWasmBackend(args.backend);
    const $axis = util.parseAxisParam(axis, x.shape)[0] ?? 0;
    const axisDim = x.shape[$axis] ?? 0;
    const outer = sizeOf(x.shape.slice(0, $axis));
    const inner = sizeOf(x.shape.slice($axis + 1));
    const count = sizeOf(indices.shape);
    const out = backend.makeOutput([...x.shape.slice(0, $axis), ...indices.shape, ...x.shape.slice($axis + 1)], x.dtype);
    if (outer * count * inner === 0) return out;
    const ids = heapI32(backend, indices, count);
    for (let i = 0; i < count; i++) {
      const id = ids[i] ?? -1;
      if (id < 0 || id >= axisDim) {
        backend.disposeData(out.dataId);
        throw new Error(`GatherV2: the index value ${id} is not in [0, ${axisDim - 1}]`);
      }
    }
    const elem = bytesPerElement(x.dtype);
    const copier = heapCopier(backend, elem);
    const src = tensorData(backend, x).memoryOffset;
    let dst = tensorData(backend, out).memoryOffset;
    const rowBytes = inner * elem;
    for (let o = 0; o < outer; o++) {
      const base = src + o * axisDim * rowBytes;
      for (let i = 0; i < count; i++) {
        copier.copy(dst, base + (ids[i] ?? 0) * rowBytes, inner);
        dst += rowBytes;
      }
    }
    return out;
  };
  return { kernelName: GatherV2, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}
