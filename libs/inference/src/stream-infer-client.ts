import { status as GrpcStatus } from '@grpc/grpc-js';
import { GRPCInferenceServiceService, ModelInferRequest, type GRPCInferenceServiceClient, type ModelInferResponse, type ModelStreamInferResponse } from '@pinrank/proto';
import { LookupStreamClient, type LookupResultParts } from '@pinrank/service-kit';
import { type RpcMetrics } from '@pinrank/telemetry';
import { CANCEL_PARAM, MAX_TIMEOUT_US, TIMEOUT_PARAM, TRACEPARENT_PARAM } from './request-params';
import { STREAM_MAX_INFLIGHT } from './stream-infer';

/** ModelInfer requests sent as messages of one open ModelStreamInfer call. */
export type InferStream = LookupStreamClient<ModelInferRequest, ModelInferResponse, ModelInferRequest, ModelStreamInferResponse>;

/** Options of {@link inferStreamClient}. */
export interface InferStreamOptions {
  /** The worker's address, for spans and errors. */
  target: string;
  /** Records `rpc_client_*` metrics (under ModelInfer) per request when given. */
  metrics?: RpcMetrics;
}

/** `CODE: message`, as the worker writes a failed message's error_message. */
const ERROR_SHAPE = /^([A-Z_]{2,32}): ([\s\S]*)$/;

/** The parts of one streamed answer: its request id (the id the client gave), status and response. */
function answerParts(out: ModelStreamInferResponse): LookupResultParts<ModelInferResponse> {
  const id = out.inferResponse?.id ?? '';
  // 0 is never sent: an answer that names no request of ours is dropped (the request then times out).
  const requestId = /^[1-9]\d{0,9}$/.test(id) ? Number(id) : 0;
  if (out.errorMessage === '') return { requestId, status: undefined, response: out.inferResponse };
  const m = ERROR_SHAPE.exec(out.errorMessage);
  const code = m ? (GrpcStatus as unknown as Record<string, number | undefined>)[m[1] as string] : undefined;
  return { requestId, status: code === undefined ? { code: GrpcStatus.UNKNOWN, message: out.errorMessage } : { code, message: m?.[2] ?? '' }, response: undefined };
}

/**
 * A client that sends ModelInfer requests to one worker as messages of a
 * long-lived ModelStreamInfer call (the Open Inference Protocol's stream, as
 * Triton serves it): no call set-up per request. Each message carries its
 * id (the stream's own, matched in the answer), its `timeout` in
 * microseconds and its `traceparent` in the request parameters
 * (request-params.ts); each has a CLIENT span and metrics named for
 * ModelInfer, its own deadline and its own status. A request whose caller
 * cancels it fails CANCELLED at once, and a message with its id and
 * `cancel` = true tells the worker to drop it (stream-cancels.ts); a Triton
 * server answers that message with an error, which is dropped here. At most
 * {@link STREAM_MAX_INFLIGHT} are in flight (what the worker runs at once):
 * past that, or while the stream is down, `call` refuses with
 * LookupStreamUnavailable and the caller sends the unary ModelInfer.
 */
export function inferStreamClient(client: GRPCInferenceServiceClient, o: InferStreamOptions): InferStream {
  return new LookupStreamClient<ModelInferRequest, ModelInferResponse, ModelInferRequest, ModelStreamInferResponse>({
    unary: GRPCInferenceServiceService.modelInfer,
    upstream: `worker ${o.target}`,
    target: o.target,
    maxInFlight: STREAM_MAX_INFLIGHT,
    open: (md, opts) => client.modelStreamInfer(md, opts),
    envelope: (requestId, timeoutMs, traceparent, request) => ({
      ...request,
      id: String(requestId),
      parameters: {
        ...request.parameters,
        [TIMEOUT_PARAM]: { parameterChoice: { $case: 'int64Param', value: Math.min(timeoutMs * 1000, MAX_TIMEOUT_US) } },
        ...(traceparent ? { [TRACEPARENT_PARAM]: { parameterChoice: { $case: 'stringParam', value: traceparent } } } : {}),
      },
    }),
    parts: answerParts,
    cancelMessage: (requestId) => ModelInferRequest.fromPartial({ id: String(requestId), parameters: { [CANCEL_PARAM]: { parameterChoice: { $case: 'boolParam', value: true } } } }),
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
}
