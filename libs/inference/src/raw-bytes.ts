import { type TensorDType } from '@pinrank/contracts';
import { PinrankError } from '@pinrank/service-kit';
import { BYTES_PER_ELEMENT, allocateData, type TensorData } from './host-tensor';

/** A view of a typed array's bytes as a Buffer (no copy): the raw little-endian form on the wire. */
export function rawBytesOf(data: TensorData): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Copies raw little-endian bytes into a fresh, aligned typed array (gRPC
 * buffers may start at any offset). Thrown by: a byte count that does not
 * match `count` elements — INVALID_ARGUMENT naming `where`.
 */
export function fromRawBytes(dtype: TensorDType, bytes: Uint8Array, count: number, where: string): TensorData {
  const expected = count * BYTES_PER_ELEMENT[dtype];
  if (bytes.length !== expected) {
    throw new PinrankError('INVALID_ARGUMENT', `${where}: raw contents hold ${bytes.length} bytes; shape and datatype need ${expected}`);
  }
  const data = allocateData(dtype, count);
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  if (dtype === 'bool') for (let k = 0; k < count; k++) if ((data[k] as number) > 1) data[k] = 1;
  return data;
}
