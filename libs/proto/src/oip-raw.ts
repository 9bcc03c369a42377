// The Open Inference Protocol service with serializers that write the raw
// tensor bytes (`raw_input_contents`, `raw_output_contents`) once, into a
// buffer of the final size. The generated encoder grows its buffer and joins
// its chunks, copying every multi-megabyte tensor several times; the router
// sends and receives an encoder output of 2 MB per 500 candidates, and those
// copies were a large share of its CPU (docs/benchmarks.md, router). The bytes
// on the wire are what the generated encoder writes: protobuf lets a message's
// fields follow in any order, and the raw contents are simply written last.
import { makeGenericClientConstructor } from '@grpc/grpc-js';
import { varintSize } from './raw-frames';
import { type GRPCInferenceServiceClient, GRPCInferenceServiceService, ModelInferRequest, ModelInferResponse, ModelStreamInferResponse } from './gen/index';

/** Tag bytes of `raw_input_contents` (field 7) and `raw_output_contents` (field 6), length-delimited. */
const RAW_INPUT_TAG = (7 << 3) | 2;
const RAW_OUTPUT_TAG = (6 << 3) | 2;
/** Tag byte of ModelStreamInferResponse's `infer_response` (field 2), length-delimited. */
const STREAM_RESPONSE_TAG = (2 << 3) | 2;

/** `head` (an encoded message without the raw field) followed by one `tag`-field per raw buffer, in one allocation. */
export function appendRawField(head: Uint8Array, tag: number, raws: readonly Uint8Array[]): Buffer {
  let size = head.byteLength;
  for (const r of raws) size += 1 + varintSize(r.byteLength) + r.byteLength;
  const out = Buffer.allocUnsafe(size);
  out.set(head, 0);
  let at = head.byteLength;
  for (const r of raws) {
    out[at++] = tag;
    let n = r.byteLength;
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    out[at++] = n;
    out.set(r, at);
    at += r.byteLength;
  }
  return out;
}

const view = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** ModelInferRequest as bytes, the raw inputs copied once. */
export function serializeModelInferRequest(value: ModelInferRequest): Buffer {
  if (value.rawInputContents.length === 0) return view(ModelInferRequest.encode(value).finish());
  return appendRawField(ModelInferRequest.encode({ ...value, rawInputContents: [] }).finish(), RAW_INPUT_TAG, value.rawInputContents);
}

/** ModelInferResponse as bytes, the raw outputs copied once. */
export function serializeModelInferResponse(value: ModelInferResponse): Buffer {
  if (value.rawOutputContents.length === 0) return view(ModelInferResponse.encode(value).finish());
  return appendRawField(ModelInferResponse.encode({ ...value, rawOutputContents: [] }).finish(), RAW_OUTPUT_TAG, value.rawOutputContents);
}

/** ModelStreamInferResponse as bytes: the error message, then the response with its raw outputs (copied twice, not four times). */
export function serializeModelStreamInferResponse(value: ModelStreamInferResponse): Buffer {
  if (value.inferResponse === undefined || value.inferResponse.rawOutputContents.length === 0) return view(ModelStreamInferResponse.encode(value).finish());
  const head = ModelStreamInferResponse.encode({ errorMessage: value.errorMessage, inferResponse: undefined }).finish();
  return appendRawField(head, STREAM_RESPONSE_TAG, [serializeModelInferResponse(value.inferResponse)]);
}

/** GRPCInferenceServiceService with the single-copy ModelInfer and ModelStreamInfer serializers (servers register this one). */
export const GRPCInferenceServiceRaw: typeof GRPCInferenceServiceService = {
  ...GRPCInferenceServiceService,
  modelInfer: { ...GRPCInferenceServiceService.modelInfer, requestSerialize: serializeModelInferRequest, responseSerialize: serializeModelInferResponse },
  modelStreamInfer: { ...GRPCInferenceServiceService.modelStreamInfer, requestSerialize: serializeModelInferRequest, responseSerialize: serializeModelStreamInferResponse },
};

/** GRPCInferenceServiceClient with the single-copy ModelInfer request serializer (callers use this one). */
export const GRPCInferenceServiceRawClient = makeGenericClientConstructor(GRPCInferenceServiceRaw, 'inference.GRPCInferenceService') as unknown as typeof GRPCInferenceServiceClient;
