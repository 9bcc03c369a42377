import { type Feeds, type GraphSpec } from '../models/model-definition';
import { TfOps } from '../ops/tf-ops';
import { exportOnnx } from '../run/onnx-export';
import { createCpuSession, runOnnx } from '../run/onnx-run';
import { type HostTensor, runTfForward } from '../run/tf-forward';
import { WeightStore } from '../weights/weight-store';

/** Outputs of one graph on both backends with the same weights and feeds. */
export interface ParityResult {
  onnx: Record<string, HostTensor>;
  tf: Record<string, HostTensor>;
  /** Largest |onnx - tf| over every output element. */
  maxAbsDiff: number;
}

/**
 * Emits `spec` as ONNX (seeded weights), runs it in ONNX Runtime, runs the
 * same forward pass in TensorFlow.js with the same weights, and compares.
 */
export async function runBothBackends(spec: GraphSpec, feeds: Feeds, seed = 11): Promise<ParityResult> {
  const weights = WeightStore.seeded(seed);
  const model = exportOnnx(spec, weights);
  const session = await createCpuSession(model);
  let onnx: Record<string, HostTensor>;
  try {
    onnx = await runOnnx(session, feeds);
  } finally {
    await session.release();
  }
  const ops = new TfOps(weights);
  let tf: Record<string, HostTensor>;
  try {
    tf = runTfForward(spec, ops, feeds);
  } finally {
    ops.dispose();
  }
  let maxAbsDiff = 0;
  for (const io of spec.outputs) {
    const a = onnx[io.name];
    const b = tf[io.name];
    if (!a || !b) throw new Error(`output "${io.name}" missing from a backend`);
    if (a.shape.join(',') !== b.shape.join(',')) throw new Error(`output "${io.name}": onnx [${a.shape.join(',')}] vs tfjs [${b.shape.join(',')}]`);
    for (let i = 0; i < a.data.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a.data[i]! - b.data[i]!));
    if (!a.data.every(Number.isFinite)) maxAbsDiff = Number.POSITIVE_INFINITY;
  }
  return { onnx, tf, maxAbsDiff };
}

/** Largest |a - b| between two equally long arrays (Infinity if lengths differ or a value is not finite). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    m = Number.isFinite(d) ? Math.max(m, d) : Number.POSITIVE_INFINITY;
  }
  return m;
}
