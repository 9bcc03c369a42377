import {
  UnsortedSegmentSum,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
  type UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs';
import { asWasmBackend, heapF32, heapI32, sizeOf } from './wasm-backend';

/**
 * UnsortedSegmentSum for the wasm backend, which ships without it; it is the gradient of `tf.gather`
 * (embedding lookups). out[s, ...] = Σ x[i, ...] over i with segmentIds[i] = s; ids outside
 * [0, numSegments) are dropped, as in TensorFlow.
 */
export function createUnsortedSegmentSumKernel(): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo => {
    const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const { numSegments } = (args.attrs ?? {}) as UnsortedSegmentSumAttrs;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') {
      throw new TypeError(`UnsortedSegmentSum supports float32 and int32 values, got ${x.dtype}`);
    }
    if (segmentIds.dtype !== 'int32') throw new TypeError('UnsortedSegmentSum needs int32 segment ids');
    const backend = asWasmBackend(args.backend);
    const idsRank = segmentIds.shape.length;
    if (x.shape.slice(0, idsRank).join(',') !== segmentIds.shape.join(',')) {
      throw new Error(`segmentIds shape ${segmentIds.shape} must prefix x shape ${x.shape}`);
    }
    const innerShape = x.shape.slice(idsRank);
    const inner = sizeOf(innerShape);
    const count = sizeOf(segmentIds.shape);
    const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
    const view = x.dtype === 'float32' ? heapF32 : heapI32;
    const outVals = view(backend, out, numSegments * inner);
    outVals.fill(0);
    const xVals = view(backend, x, count * inner);
    const ids = heapI32(backend, segmentIds, count);
    for (let i = 0; i < count; i++) {
      const s = ids[i] ?? -1;
      if (s < 0 || s >= numSegments) continue;
      const src = i * inner;
      const dst = s * inner;
      for (let j = 0; j < inner; j++) outVals[dst + j] = (outVals[dst + j] ?? 0) + (xVals[src + j] ?? 0);
    }
    return out;
  };
  return { kernelName: UnsortedSegmentSum, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}
