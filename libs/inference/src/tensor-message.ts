import { DataType, Tensor } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';
import { elementCount, type HostTensor } from './host-tensor';
import { fromRawBytes, rawBytesOf } from './raw-bytes';

// The pinrank.v1.Tensor message (feature-server sequences, embedding-store
// vectors) in the same host form as the OIP tensors, with the same raw layout.

/** The element types a pinrank Tensor message carries into a model input. */
export type MessageDType = 'float32' | 'int64';

const PROTO_DTYPE: Readonly<Record<MessageDType, DataType>> = {
  float32: DataType.DATA_TYPE_FLOAT32,
  int64: DataType.DATA_TYPE_INT64,
};

/** A host tensor of one of the message element types. */
export type MessageTensor<D extends MessageDType> = D extends 'float32'
  ? HostTensor & { dtype: 'float32'; data: Float32Array }
  : HostTensor & { dtype: 'int64'; data: BigInt64Array };

/**
 * The values of a pinrank `Tensor` of `dtype`, from `raw` or the typed field;
 * checks the element count against its shape. Thrown by: a missing tensor,
 * another element type, a count that does not match — INVALID_ARGUMENT naming `what`.
 */
export function decodeTensorMessage<D extends MessageDType>(t: Tensor | undefined, dtype: D, what: string): MessageTensor<D> {
  if (!t) throw new PinrankError('INVALID_ARGUMENT', `${what}: missing`);
  if (t.dtype !== PROTO_DTYPE[dtype]) throw new PinrankError('INVALID_ARGUMENT', `${what}: dtype ${t.dtype} is not ${dtype}`);
  const count = elementCount(t.shape);
  let data: Float32Array | BigInt64Array;
  if (t.raw.length > 0) data = fromRawBytes(dtype, t.raw, count, what) as Float32Array | BigInt64Array;
  else data = dtype === 'float32' ? Float32Array.from(t.floatValues) : BigInt64Array.from(t.int64Values, (v) => BigInt(v));
  if (data.length !== count) throw new PinrankError('INVALID_ARGUMENT', `${what}: ${data.length} values for shape [${t.shape.join(',')}]`);
  return { dtype, dims: [...t.shape], data } as unknown as MessageTensor<D>;
}

/** A pinrank `Tensor` message holding `t` in raw little-endian form (no copy of the values). */
export function encodeTensorMessage(t: HostTensor & { dtype: MessageDType }): Tensor {
  return Tensor.fromPartial({ dtype: PROTO_DTYPE[t.dtype], shape: [...t.dims], raw: rawBytesOf(t.data) });
}
