import {
  backend_util,
  Concat,
  util,
  type ConcatAttrs,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { asWasmBackend, bytesPerElement, heapCopier, sizeOf, tensorData } from './wasm-backend';

/**
 * Concat for the wasm backend as row copies inside wasm memory (one per input per outer index); the
 * stock kernel builds a JS subarray per row. Also the gradient of split. Strings go to `stock`.
 */
export function createConcatKernel(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo => {
    const inputs = args.inputs as unknown as TensorInfo[];
    const first = inputs[0];
    if (first == null || first.dtype === 'string' || first.dtype === 'complex64') return stock.kernelFunc(args as never) as TensorInfo;
    const backend = asWasmBackend(args.backend);
    const axis = util.parseAxisParam((args.attrs as ConcatAttrs | undefined)?.axis ?? 0, first.shape)[0] ?? 0;
    backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
    const outShape = backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
    const out = backend.makeOutput(outShape, first.dtype);
    if (sizeOf(outShape) === 0) return out;
    const elem = bytesPerElement(first.dtype);
    const parts = inputs
      .filter((t) => sizeOf(t.shape) > 0)
      .map((t) => ({ offset: tensorData(backend, t).memoryOffset, count: sizeOf(t.shape.slice(axis)) }));
    const outer = sizeOf(first.shape.slice(0, axis));
    const rowCount = parts.reduce((total, p) => total + p.count, 0);
    const heap = heapCopier(backend, elem);
    let dst = tensorData(backend, out).memoryOffset;
    for (let b = 0; b < outer; b++) {
      for (const part of parts) {
        heap.copy(dst, part.offset + b * part.count * elem, part.count);
        dst += part.count * elem;
      }
    }
    if (dst !== tensorData(backend, out).memoryOffset + outer * rowCount * elem) throw new Error('Concat: size mismatch');
    return out;
  };
  return { kernelName: Concat, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}
