import {
  Tile,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
  type TileAttrs,
} from '@tensorflow/tfjs';
import { asWasmBackend, bytesPerElement, heapCopier, sizeOf, stridesOf, tensorData, type WasmBackend } from './wasm-backend';

/**
 * A Tile kernel for the wasm backend that writes each input row once and then doubles copies with
 * memmoves. The stock C++ kernel computes a full index per output element; `tf.broadcastTo` also runs
 * on Tile, so this speeds up every explicit broadcast. Strings go to `stock`.
 */
export function createTileKernel(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string' || x.dtype === 'complex64') return stock.kernelFunc(args as never) as TensorInfo;
    const { reps } = (args.attrs ?? {}) as TileAttrs;
    const backend = asWasmBackend(args.backend);
    const outShape = x.shape.map((d, i) => d * (reps[i] ?? 1));
    const out = backend.makeOutput(outShape, x.dtype);
    if (sizeOf(outShape) === 0) return out;
    if (x.shape.length === 0) return tileScalar(backend, x, out);
    tileInto(backend, x, out, reps);
    return out;
  };
  return { kernelName: Tile, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}

function tileScalar(backend: WasmBackend, x: TensorInfo, out: TensorInfo): TensorInfo {
  const elem = bytesPerElement(x.dtype);
  const src = tensorData(backend, x).memoryOffset;
  const dst = tensorData(backend, out).memoryOffset;
  backend.wasm.HEAPU8.copyWithin(dst, src, src + elem);
  return out;
}

/** Repeats the `bytes` already written at `start` until `times` copies fill the range (doubling memmoves). */
function repeatBlock(heap: Uint8Array, start: number, bytes: number, times: number): void {
  let done = 1;
  while (done < times) {
    const copies = Math.min(done, times - done);
    heap.copyWithin(start + done * bytes, start, start + copies * bytes);
    done += copies;
  }
}

function elementView(backend: WasmBackend, info: TensorInfo, size: number): Float32Array | Int32Array | Uint8Array {
  const { buffer } = backend.wasm.HEAPU8;
  const offset = tensorData(backend, info).memoryOffset;
  if (info.dtype === 'float32') return new Float32Array(buffer, offset, size);
  if (info.dtype === 'int32') return new Int32Array(buffer, offset, size);
  return new Uint8Array(buffer, offset, size);
}

function tileInto(backend: WasmBackend, x: TensorInfo, out: TensorInfo, reps: number[]): void {
  const elem = bytesPerElement(x.dtype);
  const heap = backend.wasm.HEAPU8;
  const src = tensorData(backend, x).memoryOffset;
  const dst = tensorData(backend, out).memoryOffset;
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * (reps[i] ?? 1));
  const xStrides = stridesOf(x.shape);
  const outStrides = stridesOf(outShape);
  const xVals = elementView(backend, x, sizeOf(x.shape));
  const outVals = elementView(backend, out, sizeOf(outShape));
  const copier = heapCopier(backend, elem);
  // fill(dim, xOff, outOff): writes the block of `out` for one index prefix, then repeats it along `dim`.
  const fill = (dim: number, xOff: number, outOff: number): void => {
    const d = x.shape[dim] ?? 1;
    const r = reps[dim] ?? 1;
    if (dim === rank - 1) {
      if (d === 1) {
        // Broadcasting one value along the innermost axis (e.g. a reduced dy): a native fill.
        outVals.fill(xVals[xOff] ?? 0, outOff, outOff + r);
        return;
      }
      copier.copy(dst + outOff * elem, src + xOff * elem, d);
      repeatBlock(heap, dst + outOff * elem, d * elem, r);
      return;
    }
    const xs = xStrides[dim] ?? 1;
    const os = outStrides[dim] ?? 1;
    for (let i = 0; i < d; i++) fill(dim + 1, xOff + i * xs, outOff + i * os);
    repeatBlock(heap, dst + outOff * elem, d * os * elem, r);
  };
  fill(0, 0, 0);
}
