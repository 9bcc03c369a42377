import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { GRPCInferenceServiceService, ModelInferResponse, ModelStreamInferResponse, type ModelInferRequest } from '@pinrank/proto';
import { answerConcurrently, PinrankError, untilDraining, type CallContext, type CallRuntime } from '@pinrank/service-kit';
import { type Logger } from 'pino';
import { traceContextFrom } from '@pinrank/service-kit/internal';
import { loggerForSpan, SERVER_FAULT_CODES } from '@pinrank/telemetry/internal';
import { inferCall, type InferDeps, type InferScope } from './infer-call';
import { isModelName } from './request-checks';
import { requestTraceparent } from './request-params';
import { RunSlots } from './run-slots';
import { StreamCancels } from './stream-cancels';

/** Each message is served, traced and logged as the unary ModelInfer it stands for. */
const MESSAGE_SPAN = GRPCInferenceServiceService.modelInfer.path.replace(/^\//, '');
const MESSAGE_SERVICE = 'inference.GRPCInferenceService';

/** Requests of one stream running at once. */
export const STREAM_MAX_INFLIGHT = 16;

/**
 * Requests of one stream read beyond those running, waiting for a slot; the
 * stream reads no further until one of them starts. Reading ahead is what
 * lets a cancel message reach a request while the stream is full.
 */
export const STREAM_READ_AHEAD = 16;

/**
 * What one message runs under: the stream's deadline, the message's own
 * signal and span, and a logger under the message's trace made on first use.
 * A class: an object literal with a getter costs V8 about 2 µs to create.
 */
class MessageScope implements InferScope {
  private log: Logger | undefined;

  constructor(
    private readonly ctx: CallContext,
    readonly span: Span,
    readonly signal: AbortSignal,
  ) {}

  get deadline(): Date | undefined {
    return this.ctx.deadline;
  }

  get logger(): Logger {
    return (this.log ??= loggerForSpan(this.ctx.logger, this.span));
  }
}

/** The error answer to one stream message: the status and message, and the request's id and model so the client can match it. */
function errorResponse(req: ModelInferRequest, err: unknown): ModelStreamInferResponse {
  const e = PinrankError.from(err);
  return ModelStreamInferResponse.fromPartial({
    errorMessage: `${e.code}: ${e.message}`,
    inferResponse: ModelInferResponse.fromPartial({
      id: req.id.length <= 256 ? req.id : '',
      modelName: isModelName(req.modelName) ? req.modelName : '',
      modelVersion: req.modelVersion.length <= 64 ? req.modelVersion : '',
    }),
  });
}

/**
 * ModelStreamInfer: runs each message of the stream like one ModelInfer (up
 * to {@link STREAM_MAX_INFLIGHT} at once, with up to
 * {@link STREAM_READ_AHEAD} more read and waiting) and answers each, in completion
 * order, with its response or with `error_message` (the stream goes on after
 * a bad message). Each message gets a SERVER span named for ModelInfer: under
 * the trace its `traceparent` parameter names, else under the stream's; and
 * runs until the earlier of the stream's deadline and its own `timeout`
 * parameter (request-params.ts). A message with the same id and the
 * parameter `cancel` = true cancels a request running or waiting for a slot
 * (stream-cancels.ts): it is not answered itself; the request it names is answered CANCELLED
 * unless its answer was already on its way. The stream's RPC metrics carry the model
 * when it served exactly one. When the worker starts a graceful shutdown the
 * stream reads no further, answers what it took and ends, so that an idle
 * stream does not hold the shutdown open.
 */
export async function* streamInfer(
  deps: InferDeps,
  requests: AsyncIterable<ModelInferRequest>,
  ctx: CallContext,
  runtime?: Pick<CallRuntime, 'metrics' | 'draining'>,
): AsyncIterable<ModelStreamInferResponse> {
  const rpcMetrics = runtime?.metrics;
  const tracer = trace.getTracer('pinrank-inference');
  const servedModels = new Set<string>();
  const cancels = new StreamCancels(ctx.signal, (found) => deps.metrics?.streamCancel(found));
  const slots = new RunSlots(STREAM_MAX_INFLIGHT);

  const one = async (req: ModelInferRequest, index: number): Promise<ModelStreamInferResponse> => {
    const started = process.hrtime.bigint();
    let code = 'OK';
    let served: string | undefined;
    const span = tracer.startSpan(
      MESSAGE_SPAN,
      { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': MESSAGE_SERVICE, 'rpc.method': 'ModelInfer', 'pinrank.rpc.stream': 'ModelStreamInfer', 'pinrank.stream.index': index } },
      traceContextFrom(requestTraceparent(req), ctx.otel),
    );
    // Logged under this message's trace, which may be another than the stream's; made only when something is logged.
    const own = cancels.track(req);
    const scope = new MessageScope(ctx, span, own.signal);
    let release: (() => void) | undefined;
    try {
      release = await slots.acquire(own.signal);
      const { response, model } = await inferCall(deps, req, scope);
      servedModels.add(model);
      served = model;
      span.setAttribute('rpc.grpc.status_code', 0);
      return ModelStreamInferResponse.fromPartial({ errorMessage: '', inferResponse: response });
    } catch (err) {
      const e = PinrankError.from(err);
      code = e.code;
      span.setAttribute('rpc.grpc.status_code', e.grpcCode);
      if (SERVER_FAULT_CODES.has(e.grpcCode)) span.setStatus({ code: SpanStatusCode.ERROR, message: `${e.code}: ${e.message}` });
      if (!(err instanceof PinrankError)) scope.logger.error({ err }, 'unexpected error in a ModelStreamInfer request');
      return errorResponse(req, err);
    } finally {
      release?.();
      own.release();
      span.end();
      // Counted as the ModelInfer it stands for (as the lookup streams count theirs), so rates and error ratios
      // per method see streamed requests too; the model label only once the worker resolved it.
      rpcMetrics?.observeServer(MESSAGE_SERVICE, 'ModelInfer', code, Number(process.hrtime.bigint() - started) / 1e9, served);
    }
  };

  let inputError: unknown;
  try {
    yield* answerConcurrently(cancels.requests(untilDraining(requests, runtime?.draining)), one, STREAM_MAX_INFLIGHT + STREAM_READ_AHEAD);
  } catch (err) {
    inputError = err;
  }
  if (servedModels.size === 1) ctx.labelModel([...servedModels][0] as string);
  if (inputError !== undefined && !ctx.signal.aborted) throw PinrankError.from(inputError, 'the request stream failed');
}
