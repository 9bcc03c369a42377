import {
  BatchMatMul,
  broadcast_util,
  type BatchMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import {
  asWasmBackend,
  makeView,
  releaseView,
  shapeBytes,
  sizeOf,
  tensorData,
  heapF32,
  type WasmBackend,
  type WasmModule,
} from './wasm-backend';
import { transposeLast2 } from './transpose';

type CMatMul = (...args: unknown[]) => void;

/**
 * Below this many multiply-adds per batch item the ~4 µs fixed cost of an XNNPACK call per item
 * outweighs the scalar loop, so equal-batch products of tiny matrices stay on the stock kernel.
 */
const PER_ITEM_MIN_WORK = 8192;
const cMatMuls = new WeakMap<WasmModule, CMatMul>();

// The C++ BatchMatMul takes XNNPACK's fully-connected path only for a [1,M,K] x [1,K,N] product
// with no transpose; everything else runs a scalar triple loop (~10x slower).
function cMatMul(wasm: WasmModule): CMatMul {
  let fn = cMatMuls.get(wasm);
  if (fn == null) {
    fn = wasm.cwrap(BatchMatMul, null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
    cMatMuls.set(wasm, fn);
  }
  return fn;
}

/** out[rows,n] = a[rows,k] · b[k,n] on XNNPACK; ids are C++ tensor ids (whole tensors or views). */
function fastMatMul2d(wasm: WasmModule, aId: number, rows: number, k: number, bId: number, n: number, outId: number): void {
  cMatMul(wasm)(aId, shapeBytes([1, rows, k]), 3, bId, shapeBytes([1, k, n]), 3, 0, 0, outId);
}

/** Maps each flat batch index of the broadcast output batch shape to the flat batch index of one input. */
function batchIndexMap(outOuter: number[], inOuter: number[]): Int32Array {
  const total = sizeOf(outOuter);
  const map = new Int32Array(total);
  const offset = outOuter.length - inOuter.length;
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    let inIndex = 0;
    let inStride = 1;
    for (let d = outOuter.length - 1; d >= 0; d--) {
      const size = outOuter[d] ?? 1;
      const coord = rest % size;
      rest = Math.floor(rest / size);
      const inDim = d - offset;
      if (inDim >= 0) {
        const inSize = inOuter[inDim] ?? 1;
        if (inSize !== 1) inIndex += coord * inStride;
        inStride *= inSize;
      }
    }
    map[flat] = inIndex;
  }
  return map;
}

/**
 * A BatchMatMul kernel for the wasm backend that transposes explicitly (blocked loop) and runs every batch item
 * through XNNPACK's 2-D product on views of wasm memory. Non-float32 inputs go to `stock`.
 */
export function createBatchMatMulKernel(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock.kernelFunc(args as never) as TensorInfo;
    const backend = asWasmBackend(args.backend);
    const { transposeA, transposeB } = (args.attrs ?? {}) as BatchMatMulAttrs;
    const ar = a.shape.length;
    const br = b.shape.length;
    const m = (transposeA ? a.shape[ar - 1] : a.shape[ar - 2]) ?? 0;
    const k = (transposeA ? a.shape[ar - 2] : a.shape[ar - 1]) ?? 0;
    const kb = (transposeB ? b.shape[br - 1] : b.shape[br - 2]) ?? 0;
    const n = (transposeB ? b.shape[br - 2] : b.shape[br - 1]) ?? 0;
    if (k !== kb) {
      throw new Error(`matMul inner dimensions differ: ${k} vs ${kb} (shapes ${a.shape} and ${b.shape})`);
    }
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const outOuter = broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    const batchB = sizeOf(outerB);
    if (batchB > 1 && sizeOf(outerA) === batchB && m * k * n < PER_ITEM_MIN_WORK) {
      return stock.kernelFunc(args as never) as TensorInfo;
    }
    const out = backend.makeOutput([...outOuter, m, n], 'float32');
    const batch = sizeOf(outOuter);
    if (batch * m * n === 0) return out;
    if (k === 0) {
      heapF32(backend, out, batch * m * n).fill(0);
      return out;
    }
    const aT = transposeA ? transposeLast2(backend, a) : a;
    const bT = transposeB ? transposeLast2(backend, b) : b;
    try {
      multiplyBatches(backend, aT, bT, out, { outOuter, outerA, outerB, m, k, n });
    } finally {
      if (aT !== a) backend.disposeData(aT.dataId);
      if (bT !== b) backend.disposeData(bT.dataId);
    }
    return out;
  };
  return { kernelName: BatchMatMul, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}

interface Dims {
  outOuter: number[];
  outerA: number[];
  outerB: number[];
  m: number;
  k: number;
  n: number;
}

function multiplyBatches(backend: WasmBackend, a: TensorInfo, b: TensorInfo, out: TensorInfo, dims: Dims): void {
  const { outOuter, outerA, outerB, m, k, n } = dims;
  const { wasm } = backend;
  const aData = tensorData(backend, a);
  const bData = tensorData(backend, b);
  const outData = tensorData(backend, out);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const batch = sizeOf(outOuter);
  // XNNPACK caches the right operand packed as weights under its tensor id, whatever shape the call
  // gives it; a reshape shares the id, so the same id can come back as [k, n] of another shape and
  // hit a stale packing (garbage, run to run). The right operand therefore always goes in as a view
  // of its own, released (cache entry dropped) after the call.
  if (batchB === 1 && batchA === batch) {
    // Shared right operand (a dense layer on a batch of rows): one 2-D product over all rows.
    const bView = makeView(backend, [k, n], bData.memoryOffset);
    try {
      fastMatMul2d(wasm, aData.id, batch * m, k, bView.id, n, outData.id);
    } finally {
      releaseView(backend, bView);
    }
    return;
  }
  const aMap = batchIndexMap(outOuter, outerA);
  const bMap = batchIndexMap(outOuter, outerB);
  for (let i = 0; i < batch; i++) {
    const ai = aMap[i] ?? 0;
    const bi = bMap[i] ?? 0;
    const aView = batchA === 1 ? null : makeView(backend, [m, k], aData.memoryOffset + ai * m * k * 4);
    const bView = makeView(backend, [k, n], bData.memoryOffset + bi * k * n * 4);
    const outView = makeView(backend, [m, n], outData.memoryOffset + i * m * n * 4);
    try {
      fastMatMul2d(wasm, aView?.id ?? aData.id, m, k, bView.id, n, outView.id);
    } finally {
      // Releasing a view's id also drops the XNNPACK operator cached for it as weights.
      if (aView != null) releaseView(backend, aView);
      releaseView(backend, bView);
      releaseView(backend, outView);
    }
  }
}
