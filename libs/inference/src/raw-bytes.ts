import { type TensorDType } from '@pinrank/contracts';
import { PinrankError } from '@pinrank/service-kit';
import { BYTES_PER_ELEMENT, allocateData, type TensorData } from './host-tensor';

/** A view of a typed array's bytes as a Buffer (no copy): the raw little-endian form on the wire. */
export function rawBytesOf(data: TensorData): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Raw little-endian bytes as a typed array: a view of them when they start on
 * an element boundary (no copy; the array shares the received message's
 * memory), else a copy into a fresh, aligned array (gRPC buffers may start at
 * any offset). Booleans are always copied (normalised to 0/1). Thrown by: a
 * byte count that does not match `count` elements — INVALID_ARGUMENT naming `where`.
 */
export function fromRawBytes(dtype: TensorDType, bytes: Uint8Array, count: number, where: string): TensorData {
  const width = BYTES_PER_ELEMENT[dtype];
  const expected = count * width;
  if (bytes.length !== expected) {
    throw new PinrankError('INVALID_ARGUMENT', `${where}: raw contents hold ${bytes.length} bytes; shape and datatype need ${expected}`);
  }
  if (dtype !== 'bool' && bytes.byteOffset % width === 0) return viewData(dtype, bytes, count);
  const data = allocateData(dtype, count);
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  if (dtype === 'bool') for (let k = 0; k < count; k++) if ((data[k] as number) > 1) data[k] = 1;
  return data;
}

function viewData(dtype: Exclude<TensorDType, 'bool'>, bytes: Uint8Array, count: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    case 'float64':
      return new Float64Array(bytes.buffer, bytes.byteOffset, count);
    case 'int32':
      return new Int32Array(bytes.buffer, bytes.byteOffset, count);
    case 'int64':
      return new BigInt64Array(bytes.buffer, bytes.byteOffset, count);
  }
}
