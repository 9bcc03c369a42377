import { type TensorDType } from '@pinrank/contracts';

/** Typed-array storage of a tensor; bool tensors hold one byte (0/1) per element. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/**
 * A dense, row-major tensor in host memory: what the batcher stacks and splits
 * and what the backend hands to ONNX Runtime without copying.
 */
export interface HostTensor {
  readonly dtype: TensorDType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** A named set of tensors (a request's inputs or a model's outputs). */
export type TensorMap = Record<string, HostTensor>;

/** Open Inference Protocol datatype name of each supported element type. */
export const OIP_DATATYPES: Readonly<Record<TensorDType, string>> = {
  float32: 'FP32',
  float64: 'FP64',
  int32: 'INT32',
  int64: 'INT64',
  bool: 'BOOL',
};

/** Bytes per element in the raw little-endian encoding. */
export const BYTES_PER_ELEMENT: Readonly<Record<TensorDType, number>> = {
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  bool: 1,
};

/** The element type whose OIP datatype name is `datatype`, or undefined for one pinrank does not serve. */
export function dtypeFromOip(datatype: string): TensorDType | undefined {
  for (const [dtype, name] of Object.entries(OIP_DATATYPES)) if (name === datatype) return dtype as TensorDType;
  return undefined;
}

/** Number of elements a tensor of these dims holds. */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A zero-filled typed array of `length` elements for `dtype`. */
export function allocateData(dtype: TensorDType, length: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'bool':
      return new Uint8Array(length);
  }
}

/** Builds a HostTensor; throws TypeError when the data length does not match the dims. */
export function hostTensor(dtype: TensorDType, dims: readonly number[], data: TensorData): HostTensor {
  const n = elementCount(dims);
  if (data.length !== n) throw new TypeError(`tensor of dims [${dims.join(',')}] needs ${n} elements, got ${data.length}`);
  return { dtype, dims: [...dims], data };
}
