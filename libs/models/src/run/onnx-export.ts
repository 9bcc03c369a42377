import { OnnxGraphBuilder } from '../ops/onnx-ops';
import { type GraphSpec } from '../models/model-definition';
import { type WeightStore } from '../weights/weight-store';

/** Options of `exportOnnx`. */
export interface ExportOnnxOptions {
  /** Refuse weights that hold tensors the model never reads. Default true. */
  strict?: boolean;
}

/**
 * Emits `spec` as a serialised ONNX model with the given weights (a seeded
 * store fills in any missing parameter). Thrown by: weights whose shapes do
 * not match, missing weights in an unseeded store, or (strict) extra weights.
 */
export function exportOnnx(spec: GraphSpec, weights: WeightStore, options: ExportOnnxOptions = {}): Uint8Array {
  const strict = options.strict ?? true;
  const g = new OnnxGraphBuilder(weights, spec.name);
  const inputs = Object.fromEntries(spec.inputs.map((io) => [io.name, g.input(io)]));
  const outputs = spec.forward(g, inputs);
  for (const io of spec.outputs) {
    const v = outputs[io.name];
    if (!v) throw new Error(`${spec.name}: forward pass produced no "${io.name}"`);
    g.output(v, io);
  }
  const unused = weights.unusedNames();
  if (strict && unused.length > 0)
    throw new Error(`${spec.name}: the weights hold tensors the model does not use: ${unused.slice(0, 10).join(', ')}${unused.length > 10 ? ', …' : ''}`);
  return g.toBytes(spec.description);
}
