import { onnx } from 'onnx-proto';
import { type WeightTensor, WeightStore } from './weight-store';

/**
 * The parameters of a model emitted by `exportOnnx`, read back from its
 * float32 initializers (those named as parameters, e.g. `encoder.0.ln1.gamma`;
 * the emitter's own constants are skipped). This lets a shipped `model.onnx`
 * be re-emitted in another graph form with exactly its weights. Thrown by: bytes
 * that are not an ONNX model, or a parameter stored other than as raw float32.
 */
export function weightsFromOnnx(model: Uint8Array): WeightStore {
  const proto = onnx.ModelProto.decode(model);
  const tensors: Array<[string, WeightTensor]> = [];
  for (const t of proto.graph?.initializer ?? []) {
    const name = t.name ?? '';
    if (!isParameterName(name)) continue;
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT || !t.rawData || t.rawData.byteLength % 4 !== 0)
      throw new Error(`initializer "${name}" is not raw float32`);
    const bytes = Uint8Array.from(t.rawData);
    const shape = (t.dims ?? []).map((d) => Number(d));
    tensors.push([name, { shape, data: new Float32Array(bytes.buffer, 0, bytes.byteLength / 4) }]);
  }
  return new WeightStore(tensors);
}

/** Parameters are named `<prefix>.<tensor>`; the emitter's constants are `const_<n>`. */
function isParameterName(name: string): boolean {
  return name.includes('.') && !name.startsWith('const_');
}
