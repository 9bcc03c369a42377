import { PinrankError } from '@pinrank/service-kit';
import {
  type InferTensorContents,
  type ModelInferRequest,
  type ModelInferResponse_InferOutputTensor,
} from '@pinrank/proto';
import { type TensorDType } from '@pinrank/contracts';
import {
  BYTES_PER_ELEMENT,
  OIP_DATATYPES,
  allocateData,
  dtypeFromOip,
  elementCount,
  type HostTensor,
  type TensorData,
  type TensorMap,
} from './host-tensor';

/** The inputs of one ModelInfer request, decoded, and whether they came as raw bytes. */
export interface DecodedInputs {
  inputs: TensorMap;
  /** True when the request used `raw_input_contents` (the response then answers in raw form too). */
  raw: boolean;
}

const invalid = (message: string): PinrankError => new PinrankError('INVALID_ARGUMENT', message);

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
    const dtype = dtypeFromOip(input.datatype);
    if (!dtype) {
      throw invalid(`${where}: datatype "${input.datatype}" is not served; use one of ${Object.values(OIP_DATATYPES).join(', ')}`);
    }
    for (const d of input.shape) {
      if (!Number.isInteger(d) || d < 0) throw invalid(`${where}: shape [${input.shape.join(',')}] has an invalid dimension ${d}`);
    }
    const count = elementCount(input.shape);
    let data: TensorData;
    if (raw) {
      if (input.contents) throw invalid(`${where}: has typed contents but the request uses raw_input_contents`);
      data = fromRaw(dtype, request.rawInputContents[i] ?? Buffer.alloc(0), count, where);
    } else {
      data = fromTyped(dtype, input.contents, count, where);
    }
    inputs[input.name] = { dtype, dims: [...input.shape], data };
  });
  return { inputs, raw };
}

function fromRaw(dtype: TensorDType, bytes: Buffer, count: number, where: string): TensorData {
  const expected = count * BYTES_PER_ELEMENT[dtype];
  if (bytes.length !== expected) {
    throw invalid(`${where}: raw contents hold ${bytes.length} bytes; shape and datatype need ${expected}`);
  }
  // Copy into a fresh, aligned buffer: gRPC buffers may start at any offset.
  const data = allocateData(dtype, count);
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  if (dtype === 'bool') for (let k = 0; k < count; k++) if ((data[k] as number) > 1) data[k] = 1;
  return data;
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
      rawOutputContents.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    } else {
      outputs.push({ ...base, contents: toTyped(t) });
    }
  }
  return { outputs, rawOutputContents };
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
