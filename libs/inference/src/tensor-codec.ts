import { PinrankError } from '@pinrank/service-kit';
import {
  type InferTensorContents,
  type ModelInferRequest,
  type ModelInferRequest_InferInputTensor,
  type ModelInferResponse,
  type ModelInferResponse_InferOutputTensor,
} from '@pinrank/proto';
import { type TensorDType } from '@pinrank/contracts';
import { OIP_DATATYPES, dtypeFromOip, elementCount, type HostTensor, type TensorData, type TensorMap } from './host-tensor';
import { fromRawBytes, rawBytesOf } from './raw-bytes';

// Both ends of the Open Inference Protocol tensor encoding: the worker decodes
// requests and encodes responses, the router encodes requests and decodes
// responses — with the same datatype table, size checks and raw layout.
// Every decoding problem is a PinrankError INVALID_ARGUMENT naming the tensor;
// a client that decodes a peer's answer maps it to its own status.

/** The inputs of one ModelInfer request, decoded, and whether they came as raw bytes. */
export interface DecodedInputs {
  inputs: TensorMap;
  /** True when the request used `raw_input_contents` (the response then answers in raw form too). */
  raw: boolean;
}

const invalid = (message: string): PinrankError => new PinrankError('INVALID_ARGUMENT', message);

/** The request-side form of named tensors: entries and their little-endian contents, in the same order. */
export interface EncodedInputs {
  inputs: ModelInferRequest_InferInputTensor[];
  rawInputContents: Buffer[];
}

/**
 * Encodes named tensors as ModelInfer inputs with `raw_input_contents` (no
 * copy: the buffers view the arrays). Thrown by: data whose length does not
 * match its dims — INVALID_ARGUMENT naming the input.
 */
export function encodeInferInputs(tensors: ReadonlyArray<readonly [string, HostTensor]>): EncodedInputs {
  const inputs: ModelInferRequest_InferInputTensor[] = [];
  const rawInputContents: Buffer[] = [];
  for (const [name, t] of tensors) {
    if (t.data.length !== elementCount(t.dims)) throw invalid(`input "${name}": ${t.data.length} values for shape [${t.dims.join(',')}]`);
    inputs.push({ name, datatype: OIP_DATATYPES[t.dtype], shape: [...t.dims], parameters: {}, contents: undefined });
    rawInputContents.push(rawBytesOf(t.data));
  }
  return { inputs, rawInputContents };
}

/**
 * Decodes the input tensors of a ModelInfer request, from either
 * `raw_input_contents` (little-endian, one entry per input) or typed `contents`.
 * Thrown by: malformed shapes, unknown datatypes, sizes that do not match the
 * shape, duplicate names, mixing raw and typed contents — as INVALID_ARGUMENT.
 */
export function decodeInferInputs(request: ModelInferRequest): DecodedInputs {
  const raw = request.rawInputContents.length > 0;
  if (raw && request.rawInputContents.length !== request.inputs.length) {
    throw invalid(
      `raw_input_contents has ${request.rawInputContents.length} entries but inputs has ${request.inputs.length}; send one per input, in order`,
    );
  }
  const inputs: TensorMap = {};
  request.inputs.forEach((input, i) => {
    const where = `input "${input.name}"`;
    if (!input.name) throw invalid(`inputs[${i}]: name is empty`);
    if (Object.prototype.hasOwnProperty.call(inputs, input.name)) throw invalid(`${where} is given twice`);
    if (raw && input.contents) throw invalid(`${where}: has typed contents but the request uses raw_input_contents`);
    inputs[input.name] = decodeTensor(where, input.datatype, input.shape, raw ? (request.rawInputContents[i] ?? Buffer.alloc(0)) : undefined, input.contents);
  });
  return { inputs, raw };
}

/** Output tensors in OIP form: metadata entries plus raw contents when `raw` is set. */
export interface EncodedOutputs {
  outputs: ModelInferResponse_InferOutputTensor[];
  rawOutputContents: Buffer[];
}

/** Encodes output tensors for a ModelInferResponse, as raw little-endian bytes or as typed contents. */
export function encodeInferOutputs(tensors: ReadonlyArray<readonly [string, HostTensor]>, raw: boolean): EncodedOutputs {
  const outputs: ModelInferResponse_InferOutputTensor[] = [];
  const rawOutputContents: Buffer[] = [];
  for (const [name, t] of tensors) {
    const base = { name, datatype: OIP_DATATYPES[t.dtype], shape: [...t.dims], parameters: {} };
    if (raw) {
      outputs.push({ ...base, contents: undefined });
      rawOutputContents.push(rawBytesOf(t.data));
    } else {
      outputs.push({ ...base, contents: toTyped(t) });
    }
  }
  return { outputs, rawOutputContents };
}

/**
 * Decodes one output of a ModelInferResponse by name (raw or typed contents)
 * and checks it against what the caller expects: element type and, where
 * `dims` gives a number (not -1), that axis. Thrown by: a missing output, another
 * datatype or shape, contents that do not add up — as INVALID_ARGUMENT naming the model and output.
 */
export function decodeInferOutput(response: ModelInferResponse, name: string, expected: { dtype: TensorDType; dims: readonly number[] }): HostTensor {
  const i = response.outputs.findIndex((o) => o.name === name);
  const out = response.outputs[i];
  const where = `${response.modelName || 'model'}: output "${name}"`;
  if (!out) throw invalid(`${response.modelName || 'model'}: response has no output "${name}" (got ${response.outputs.map((o) => o.name).join(', ') || 'none'})`);
  if (dtypeFromOip(out.datatype) !== expected.dtype) throw invalid(`${where} is ${out.datatype}, expected ${OIP_DATATYPES[expected.dtype]}`);
  if (out.shape.length !== expected.dims.length || expected.dims.some((d, k) => d !== -1 && out.shape[k] !== d)) {
    throw invalid(`${where} has shape [${out.shape.join(',')}], expected [${expected.dims.join(',')}]`);
  }
  const raw = response.rawOutputContents.length > 0;
  if (raw && !response.rawOutputContents[i]) throw invalid(`${where}: raw_output_contents has no entry for it`);
  return decodeTensor(where, out.datatype, out.shape, raw ? response.rawOutputContents[i] : undefined, out.contents);
}

/** One tensor from its OIP datatype, shape and either raw bytes or typed contents. */
function decodeTensor(where: string, datatype: string, shape: readonly number[], bytes: Uint8Array | undefined, contents: InferTensorContents | undefined): HostTensor {
  const dtype = dtypeFromOip(datatype);
  if (!dtype) throw invalid(`${where}: datatype "${datatype}" is not served; use one of ${Object.values(OIP_DATATYPES).join(', ')}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw invalid(`${where}: shape [${shape.join(',')}] has an invalid dimension ${d}`);
  }
  const count = elementCount(shape);
  const data = bytes ? fromRawBytes(dtype, bytes, count, where) : fromTyped(dtype, contents, count, where);
  return { dtype, dims: [...shape], data };
}

function fromTyped(dtype: TensorDType, contents: InferTensorContents | undefined, count: number, where: string): TensorData {
  const values = typedField(dtype, contents);
  if (values.length !== count) {
    throw invalid(`${where}: contents hold ${values.length} values; the shape needs ${count}`);
  }
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values as number[]);
    case 'float64':
      return Float64Array.from(values as number[]);
    case 'int32':
      return Int32Array.from(values as number[]);
    case 'int64': {
      const out = new BigInt64Array(count);
      (values as number[]).forEach((v, k) => {
        if (!Number.isSafeInteger(v)) throw invalid(`${where}: int64 value ${v} is not a safe integer`);
        out[k] = BigInt(v);
      });
      return out;
    }
    case 'bool':
      return Uint8Array.from(values as boolean[], (b) => (b ? 1 : 0));
  }
}

function typedField(dtype: TensorDType, contents: InferTensorContents | undefined): readonly (number | boolean)[] {
  if (!contents) return [];
  switch (dtype) {
    case 'float32':
      return contents.fp32Contents;
    case 'float64':
      return contents.fp64Contents;
    case 'int32':
      return contents.intContents;
    case 'int64':
      return contents.int64Contents;
    case 'bool':
      return contents.boolContents;
  }
}

function toTyped(t: HostTensor): InferTensorContents {
  const contents: InferTensorContents = {
    boolContents: [],
    intContents: [],
    int64Contents: [],
    uintContents: [],
    uint64Contents: [],
    fp32Contents: [],
    fp64Contents: [],
    bytesContents: [],
  };
  switch (t.dtype) {
    case 'float32':
      contents.fp32Contents = Array.from(t.data as Float32Array);
      break;
    case 'float64':
      contents.fp64Contents = Array.from(t.data as Float64Array);
      break;
    case 'int32':
      contents.intContents = Array.from(t.data as Int32Array);
      break;
    case 'int64':
      contents.int64Contents = Array.from(t.data as BigInt64Array, (v) => Number(v));
      break;
    case 'bool':
      contents.boolContents = Array.from(t.data as Uint8Array, (v) => v !== 0);
      break;
  }
  return contents;
}
