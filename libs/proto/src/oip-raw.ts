// The Open Inference Protocol service with serializers that write the raw
// tensor bytes (`raw_input_contents`, `raw_output_contents`) once, into a
// buffer of the final size. The generated encoder grows its buffer and joins
// its chunks, copying every multi-megabyte tensor several times; the router
// sends and receives an encoder output of 2 MB per 500 candidates, and those
// copies were a large share of its CPU (docs/benchmarks.md, router). The bytes
// on the wire are what the generated encoder writes: protobuf lets a message's
// fields follow in any order, and the raw contents are simply written last.
import { makeGenericClientConstructor } from '@grpc/grpc-js';
import { type GRPCInferenceServiceClient, GRPCInferenceServiceService, ModelInferRequest, ModelInferResponse, ModelStreamInferResponse } from './gen/index';
import { bytesOf, delimited, type Frame, frame } from './raw-frames';

/** Tags of `raw_input_contents` (field 7) and `raw_output_contents` (field 6), and of ModelStreamInferResponse's `infer_response` (field 2). */
const RAW_INPUT_TAG = delimited(7);
const RAW_OUTPUT_TAG = delimited(6);
const STREAM_RESPONSE_TAG = delimited(2);

/** `head` (an encoded message without the raw field) followed by one `tag`-field per raw buffer, in one allocation. */
export function appendRawField(head: Uint8Array, tag: number, raws: readonly Uint8Array[]): Buffer {
  return bytesOf(frame(head, raws.map((r) => [tag, r] as const)));
}

/** ModelInferRequest as bytes, the raw inputs copied once. */
export function serializeModelInferRequest(value: ModelInferRequest): Buffer {
  if (value.rawInputContents.length === 0) return bytesOf(frame(ModelInferRequest.encode(value).finish(), []));
  return appendRawField(ModelInferRequest.encode({ ...value, rawInputContents: [] }).finish(), RAW_INPUT_TAG, value.rawInputContents);
}

function inferResponseFrame(value: ModelInferResponse): Frame {
  if (value.rawOutputContents.length === 0) return frame(ModelInferResponse.encode(value).finish(), []);
  return frame(
    ModelInferResponse.encode({ ...value, rawOutputContents: [] }).finish(),
    value.rawOutputContents.map((r) => [RAW_OUTPUT_TAG, r] as const),
  );
}

/** ModelInferResponse as bytes, the raw outputs copied once. */
export function serializeModelInferResponse(value: ModelInferResponse): Buffer {
  return bytesOf(inferResponseFrame(value));
}

/** ModelStreamInferResponse as bytes: the error message, then the response with its raw outputs copied once. */
export function serializeModelStreamInferResponse(value: ModelStreamInferResponse): Buffer {
  if (value.inferResponse === undefined) return bytesOf(frame(ModelStreamInferResponse.encode(value).finish(), []));
  const head = ModelStreamInferResponse.encode({ errorMessage: value.errorMessage, inferResponse: undefined }).finish();
  return bytesOf(frame(head, [[STREAM_RESPONSE_TAG, inferResponseFrame(value.inferResponse)]]));
}

/** GRPCInferenceServiceService with the single-copy ModelInfer and ModelStreamInfer serializers (servers register this one). */
export const GRPCInferenceServiceRaw: typeof GRPCInferenceServiceService = {
  ...GRPCInferenceServiceService,
  modelInfer: { ...GRPCInferenceServiceService.modelInfer, requestSerialize: serializeModelInferRequest, responseSerialize: serializeModelInferResponse },
  modelStreamInfer: { ...GRPCInferenceServiceService.modelStreamInfer, requestSerialize: serializeModelInferRequest, responseSerialize: serializeModelStreamInferResponse },
};

/** GRPCInferenceServiceClient with the single-copy ModelInfer request serializer (callers use this one). */
export const GRPCInferenceServiceRawClient = makeGenericClientConstructor(GRPCInferenceServiceRaw, 'inference.GRPCInferenceService') as unknown as typeof GRPCInferenceServiceClient;
