import { type DataType, type TensorInfo } from '@tensorflow/tfjs';

/** The parts of the Emscripten module behind the wasm backend that the fast kernels use. */
export interface WasmModule {
  HEAPU8: Uint8Array;
  cwrap(name: string, returnType: null, argTypes: string[]): (...args: unknown[]) => void;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}

/** Per-tensor record the wasm backend keeps: its id on the C++ side and its byte offset in wasm memory. */
export interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: DataType;
}

/** The public surface of `BackendWasm` (tfjs-backend-wasm 4.x) the fast kernels rely on. */
export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: {
    get(dataId: object): WasmTensorData | undefined;
    delete(dataId: object): boolean;
  };
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

/**
 * Narrows a kernel's backend to the wasm backend.
 * Thrown by every fast kernel when it is called with another backend (they are registered for 'wasm' only).
 */
export function asWasmBackend(backend: unknown): WasmBackend {
  const candidate = backend as Partial<WasmBackend> | null;
  if (
    candidate == null ||
    typeof candidate.makeOutput !== 'function' ||
    candidate.wasm == null ||
    candidate.dataIdMap == null
  ) {
    throw new TypeError('fast wasm kernel called with a backend that is not tfjs-backend-wasm');
  }
  return candidate as WasmBackend;
}

/** The wasm-side record of a tensor; throws when the tensor does not live on this backend. */
export function tensorData(backend: WasmBackend, info: TensorInfo): WasmTensorData {
  const data = backend.dataIdMap.get(info.dataId);
  if (data == null) throw new Error('tensor is not stored in the wasm backend');
  return data;
}

/**
 * A float32 view over a tensor's bytes in wasm memory (no copy). Take it after every allocation of
 * the same kernel: growing wasm memory detaches older views.
 */
export function heapF32(backend: WasmBackend, info: TensorInfo, size: number): Float32Array {
  const { memoryOffset } = tensorData(backend, info);
  return new Float32Array(backend.wasm.HEAPU8.buffer, memoryOffset, size);
}

/** An int32 view over a tensor's bytes in wasm memory (no copy). */
export function heapI32(backend: WasmBackend, info: TensorInfo, size: number): Int32Array {
  const { memoryOffset } = tensorData(backend, info);
  return new Int32Array(backend.wasm.HEAPU8.buffer, memoryOffset, size);
}

/**
 * Registers a tensor id for a range of memory owned by another tensor, so C++ kernels can run on
 * part of a buffer. Release it with `releaseView`, never `disposeData` (that would free the owner's memory).
 */
export function makeView(backend: WasmBackend, shape: number[], byteOffset: number): { info: TensorInfo; id: number } {
  const info = backend.makeOutput(shape, 'float32', byteOffset);
  return { info, id: tensorData(backend, info).id };
}

/** Forgets a view made by `makeView` on both sides (C++ registry and JS map) without freeing memory. */
export function releaseView(backend: WasmBackend, view: { info: TensorInfo; id: number }): void {
  backend.wasm.tfjs.disposeData(view.id);
  backend.dataIdMap.delete(view.info.dataId);
}

/** Encodes a shape the way the wasm C++ kernels take it (int32 bytes). */
export function shapeBytes(shape: readonly number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** Row-major strides (in elements) of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = (strides[i + 1] ?? 1) * (shape[i + 1] ?? 1);
  return strides;
}

/** Bytes per element of the numeric dtypes the wasm backend stores. */
export function bytesPerElement(dtype: DataType): number {
  if (dtype === 'bool') return 1;
  if (dtype === 'float32' || dtype === 'int32') return 4;
  throw new TypeError(`dtype ${dtype} is not stored as a flat buffer in wasm memory`);
}

/** Element-typed views over the whole wasm heap, made once per kernel call (no copy). */
export interface HeapCopier {
  /** Copies `count` elements from byte offset `src` to byte offset `dst`. */
  copy(dst: number, src: number, count: number): void;
}

// Below this many elements a plain loop beats the fixed cost of a copyWithin call.
const SHORT_RUN = 16;

/** A copier for elements of `elemBytes` (1 or 4) bytes within wasm memory. */
export function heapCopier(backend: WasmBackend, elemBytes: number): HeapCopier {
  const { buffer } = backend.wasm.HEAPU8;
  const view = elemBytes === 4 ? new Int32Array(buffer) : new Uint8Array(buffer);
  const shift = elemBytes === 4 ? 2 : 0;
  return {
    copy(dst: number, src: number, count: number): void {
      const d = dst >>> shift;
      const s = src >>> shift;
      if (count >= SHORT_RUN) {
        view.copyWithin(d, s, s + count);
        return;
      }
      for (let i = 0; i < count; i++) view[d + i] = view[s + i] ?? 0;
    },
  };
}
