import {
  Slice,
  slice_util,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type SliceAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { asWasmBackend, bytesPerElement, heapCopier, sizeOf, stridesOf, tensorData, type WasmBackend } from './wasm-backend';

/**
 * Copies the box `begin`/`size` of `x` into a new tensor, row by row inside wasm memory. The stock
 * kernel first copies the whole input out to JS (`readSync`) for every slice, which dominates
 * split/unpack of large activations.
 */
export function sliceInWasm(backend: WasmBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const total = sizeOf(size);
  if (total === 0) return out;
  const elem = bytesPerElement(x.dtype);
  const src = tensorData(backend, x).memoryOffset;
  const dst = tensorData(backend, out).memoryOffset;
  const heap = heapCopier(backend, elem);
  const xStrides = stridesOf(x.shape);
  const rank = x.shape.length;
  // Merge the trailing axes the box covers fully: each output "row" is then one contiguous run.
  let inner = rank - 1;
  while (inner > 0 && size[inner] === x.shape[inner] && (begin[inner] ?? 0) === 0) inner--;
  const rowElems = sizeOf(size.slice(inner));
  const rows = total / rowElems;
  const coords = new Array<number>(inner).fill(0);
  for (let r = 0; r < rows; r++) {
    let offset = (begin[inner] ?? 0) * (xStrides[inner] ?? 1);
    for (let d = 0; d < inner; d++) offset += ((begin[d] ?? 0) + (coords[d] ?? 0)) * (xStrides[d] ?? 1);
    const from = src + offset * elem;
    heap.copy(dst + r * rowElems * elem, from, rowElems);
    for (let d = inner - 1; d >= 0; d--) {
      const next = (coords[d] ?? 0) + 1;
      if (next < (size[d] ?? 1)) {
        coords[d] = next;
        break;
      }
      coords[d] = 0;
    }
  }
  return out;
}

/** A Slice kernel for the wasm backend that never copies the input out of wasm memory; strings go to `stock`. */
export function createSliceKernel(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string' || x.dtype === 'complex64') return stock.kernelFunc(args as never) as TensorInfo;
    const { begin, size } = (args.attrs ?? {}) as SliceAttrs;
    const [begin_, size_] = slice_util.parseSliceParams(x, begin, size);
    if (begin_ == null || size_ == null) throw new Error('Slice: could not resolve begin/size');
    slice_util.assertParamsValid(x, begin_, size_);
    return sliceInWasm(asWasmBackend(args.backend), x, begin_, size_);
  };
  return { kernelName: Slice, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}
