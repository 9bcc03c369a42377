import {
  DataType,
  type ModelInferRequest_InferInputTensor,
  type ModelInferResponse,
  type Tensor,
} from '@pinrank/proto';

/** A float32 or int64 tensor on the host, row-major. */
export type RouterTensor =
  | { dtype: 'float32'; dims: number[]; data: Float32Array }
  | { dtype: 'int64'; dims: number[]; data: BigInt64Array };

/** Thrown when a peer sends a tensor that does not match what the router expects. */
export class TensorShapeError extends Error {
  override readonly name = 'TensorShapeError';
}

const count = (dims: readonly number[]): number => dims.reduce((a, d) => a * d, 1);

/** Copies little-endian bytes into a fresh, aligned typed array (gRPC buffers may start at any offset). */
function alignedCopy(bytes: Uint8Array, width: number): ArrayBuffer {
  if (bytes.length % width !== 0) throw new TensorShapeError(`raw contents of ${bytes.length} bytes are not a multiple of ${width}`);
  const buf = new ArrayBuffer(bytes.length);
  new Uint8Array(buf).set(bytes);
  return buf;
}

/** The values of a pinrank `Tensor` of FLOAT32, from `float_values` or `raw`; checks the element count against its shape. */
export function floatTensor(t: Tensor | undefined, what: string): { dims: number[]; data: Float32Array } {
  if (!t) throw new TensorShapeError(`${what}: missing`);
  if (t.dtype !== DataType.DATA_TYPE_FLOAT32) throw new TensorShapeError(`${what}: dtype ${t.dtype} is not FLOAT32`);
  const data = t.raw.length > 0 ? new Float32Array(alignedCopy(t.raw, 4)) : Float32Array.from(t.floatValues);
  if (data.length !== count(t.shape)) throw new TensorShapeError(`${what}: ${data.length} values for shape [${t.shape.join(',')}]`);
  return { dims: [...t.shape], data };
}

/** The values of a pinrank `Tensor` of INT64, from `int64_values` or `raw`. */
export function int64Tensor(t: Tensor | undefined, what: string): { dims: number[]; data: BigInt64Array } {
  if (!t) throw new TensorShapeError(`${what}: missing`);
  if (t.dtype !== DataType.DATA_TYPE_INT64) throw new TensorShapeError(`${what}: dtype ${t.dtype} is not INT64`);
  const data = t.raw.length > 0 ? new BigInt64Array(alignedCopy(t.raw, 8)) : BigInt64Array.from(t.int64Values, (v) => BigInt(v));
  if (data.length !== count(t.shape)) throw new TensorShapeError(`${what}: ${data.length} values for shape [${t.shape.join(',')}]`);
  return { dims: [...t.shape], data };
}

/** ModelInfer inputs in raw form: the tensor entries and their little-endian contents, in the same order. */
export interface EncodedInputs {
  inputs: ModelInferRequest_InferInputTensor[];
  raw: Buffer[];
}

/** Encodes named tensors as OIP inputs with `raw_input_contents` (no copy: the buffers view the arrays). */
export function encodeInputs(tensors: ReadonlyArray<readonly [string, RouterTensor]>): EncodedInputs {
  const inputs: ModelInferRequest_InferInputTensor[] = [];
  const raw: Buffer[] = [];
  for (const [name, t] of tensors) {
    if (t.data.length !== count(t.dims)) throw new TensorShapeError(`input ${name}: ${t.data.length} values for shape [${t.dims.join(',')}]`);
    inputs.push({ name, datatype: t.dtype === 'float32' ? 'FP32' : 'INT64', shape: [...t.dims], parameters: {}, contents: undefined });
    raw.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return { inputs, raw };
}

/** Reads a FP32 output by name from a ModelInferResponse (raw or typed contents) and checks its rank-2 shape. */
export function readFloatOutput(res: ModelInferResponse, name: string, rows: number, cols: number): Float32Array {
  const i = res.outputs.findIndex((o) => o.name === name);
  const out = res.outputs[i];
  if (!out) throw new TensorShapeError(`${res.modelName}: response has no output "${name}" (got ${res.outputs.map((o) => o.name).join(', ') || 'none'})`);
  if (out.datatype !== 'FP32') throw new TensorShapeError(`${res.modelName}: output "${name}" is ${out.datatype}, expected FP32`);
  if (out.shape.length !== 2 || out.shape[0] !== rows || out.shape[1] !== cols) {
    throw new TensorShapeError(`${res.modelName}: output "${name}" has shape [${out.shape.join(',')}], expected [${rows},${cols}]`);
  }
  let data: Float32Array;
  if (res.rawOutputContents.length > 0) {
    const bytes = res.rawOutputContents[i];
    if (!bytes) throw new TensorShapeError(`${res.modelName}: raw_output_contents has no entry for "${name}"`);
    data = new Float32Array(alignedCopy(bytes, 4));
  } else {
    data = Float32Array.from(out.contents?.fp32Contents ?? []);
  }
  if (data.length !== rows * cols) throw new TensorShapeError(`${res.modelName}: output "${name}" holds ${data.length} values, expected ${rows * cols}`);
  return data;
}
