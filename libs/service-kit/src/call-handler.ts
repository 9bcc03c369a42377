import { type Readable } from 'node:stream';
import {
  type Metadata,
  type ServerUnaryCall,
  status as GrpcStatus,
  type StatusObject,
  type UntypedHandleCall,
} from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context as otelContext, trace, type Span, type Tracer } from '@opentelemetry/api';
import { type RpcMetrics } from '@pinrank/telemetry';
import { extractTraceContext, SERVER_FAULT_CODES } from '@pinrank/telemetry/internal';
import { type Logger } from 'pino';
import { type Authorizer, type CallCredentials } from './authorizer';
import { CallSignal } from './call-signal';
import { type CallContext } from './context';
import { capStatusDetails } from './client-input';
import { PinrankError, toGrpcStatus } from './errors';
import { type PeerCertificateLike } from './identity';
import { decodedOrThrow } from './request-decoding';
import { RequestStream } from './request-stream';
import { ServedContext } from './served-context';
import { type MethodDefinitionLike } from './service';

/** A handler of any shape, as stored in a registration (the runtime is for the kit's own handlers, such as lookup streams). */
export type AnyHandler = (input: unknown, ctx: CallContext, runtime: CallRuntime) => Promise<unknown> | AsyncIterable<unknown>;

/** Shared state every wrapped handler uses. */
export interface CallRuntime {
  readonly logger: Logger;
  readonly tracer: Tracer;
  readonly metrics: RpcMetrics;
  /** Decides, before any handler runs, whether a call may run. */
  readonly authorizer: Authorizer;
  /** Calls in flight; aborted on force shutdown. */
  readonly inflight: Set<CallSignal>;
  /**
   * Aborted when a graceful shutdown stops taking calls: long-lived streams
   * (lookup streams, ModelStreamInfer) stop reading, answer what they hold and
   * end, so they do not hold the shutdown open until its timeout.
   */
  readonly draining: AbortSignal;
}

/** How one method is served. */
export interface MethodSpec {
  readonly definition: MethodDefinitionLike<unknown, unknown>;
  readonly handler: AnyHandler | undefined;
  readonly unimplementedMessage: string;
}

// The parts of every grpc-js server call shape (unary, readable, writable, duplex) used here.
type SurfaceCall = Omit<ServerUnaryCall<unknown, unknown>, 'request'>;
type AnyCall = SurfaceCall & {
  request?: unknown;
  write?: (msg: unknown) => boolean;
  end?: () => void;
};

const TRACEPARENT = 'traceparent';

function deadlineOf(call: SurfaceCall): Date | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** What the authorizer reads of a call (CallCredentials); a class, as ServedContext is, and its parts made on first use. */
class ServedCredentials implements CallCredentials {
  constructor(
    private readonly ctx: ServedContext,
    private readonly call: SurfaceCall,
  ) {}

  get metadata(): Metadata {
    return this.ctx.metadata;
  }

  /** The TLS peer's certificate (parsed from the socket), or undefined without one. */
  get certificate(): PeerCertificateLike | undefined {
    const auth = this.call.getAuthContext();
    return auth.sslPeerCertificate && Object.keys(auth.sslPeerCertificate).length > 0 ? auth.sslPeerCertificate : undefined;
  }

  get peer(): string {
    return this.ctx.peer;
  }

  get logger(): Logger {
    return this.ctx.logger;
  }
}

async function writeAll(call: AnyCall, messages: AsyncIterable<unknown>, signal: AbortSignal): Promise<void> {
  for await (const msg of messages) {
    if (signal.aborted) return;
    if (call.write?.(msg) === false) {
      await new Promise<void>((resolve) => {
        call.once('drain', resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }
}

/** A failed call's status, as answered: mapped by toGrpcStatus, details capped. */
export interface FailedStatus {
  /** The status code's name, e.g. "INVALID_ARGUMENT" (the metrics label). */
  readonly code: string;
  readonly status: { code: GrpcStatus; details: string; metadata?: StatusObject['metadata'] };
}

/**
 * Maps a handler's failure to the status answered, marks the SERVER span when
 * the server is at fault, and logs it (unexpected errors and server faults at
 * error, a client's mistake at debug).
 */
export function failureStatus(err: unknown, span: Span, log: () => Logger, runtime: CallRuntime): FailedStatus {
  const mapped = toGrpcStatus(err, span.spanContext().traceId);
  const details = capStatusDetails(mapped.status.details);
  const code = GrpcStatus[mapped.status.code];
  // A client's mistake (INVALID_ARGUMENT, NOT_FOUND...) is not a server error (OpenTelemetry gRPC conventions).
  if (SERVER_FAULT_CODES.has(mapped.status.code)) {
    span.recordException(mapped.error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${code}: ${details}` });
  }
  if (mapped.unexpected) log().error({ err }, 'unexpected error in handler; answered INTERNAL');
  else if (['INTERNAL', 'UNKNOWN', 'DATA_LOSS'].includes(code)) log().error({ err: mapped.error }, 'handler failed');
  else if (runtime.logger.isLevelEnabled('debug')) log().debug({ code, details }, 'call failed');
  return { code, status: { ...mapped.status, details } };
}

/** Ends a SERVER span with the call's status code (by name). */
export function endServerSpan(span: Span, code: string): void {
  span.setAttribute('rpc.grpc.status_code', GrpcStatus[code as keyof typeof GrpcStatus]);
  span.end();
}

/**
 * Wraps one handler for grpc-js: opens the SERVER span from the caller's trace
 * context, authorizes the caller (before the handler runs and before a request
 * stream is read), builds the CallContext, runs the handler,
 * maps failures to a status (via toGrpcStatus), logs and records metrics.
 */
export function wrapHandler(spec: MethodSpec, runtime: CallRuntime): UntypedHandleCall {
  const path = spec.definition.path;
  const [service = '', method = ''] = path.replace(/^\//, '').split('/');
  const { requestStream, responseStream } = spec.definition;

  const spanName = `${service}/${method}`;
  const spanAttributes = { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method };

  const logFields = { rpc: path };

  const run = (call: AnyCall, finish: (err: Partial<StatusObject> | null, value?: unknown) => void): void => {
    const started = process.hrtime.bigint();
    // Most internal calls carry no trace context: skip the propagator's parsing then.
    const parent = call.metadata.get(TRACEPARENT).length > 0 ? extractTraceContext(call.metadata, ROOT_CONTEXT) : ROOT_CONTEXT;
    const span = runtime.tracer.startSpan(spanName, { kind: SpanKind.SERVER, attributes: spanAttributes }, parent);
    const otel = trace.setSpan(parent, span);
    const deadline = deadlineOf(call);
    const callSignal = new CallSignal(deadline);
    // What most calls never read is made on first use: the per-call logger (a pino
    // child), the peer address and the peer certificate (parsed from the TLS socket).
    const ctx = new ServedContext(path, deadline, span, otel, call.metadata, callSignal, runtime.logger, logFields, call);
    runtime.inflight.add(callSignal);
    const onCancel = (): void => callSignal.abort(new PinrankError('CANCELLED', 'cancelled by the client'));
    call.on('cancelled', onCancel);
    const body = async (): Promise<unknown> => {
      ctx.caller = runtime.authorizer.authorize(path, new ServedCredentials(ctx, call));
      if (!spec.handler) throw new PinrankError('UNIMPLEMENTED', spec.unimplementedMessage);
      // Read without destroying the call at the end of input: for bidi
      // calls the response side must stay open after the requests end.
      const input = requestStream ? new RequestStream(call as unknown as Readable, path) : decodedOrThrow(call.request, path);
      const out = spec.handler(input, ctx, runtime);
      if (responseStream) {
        await writeAll(call, out as AsyncIterable<unknown>, callSignal.signal);
        return undefined;
      }
      return await (out as Promise<unknown>);
    };

    const done = (err: unknown, value?: unknown): void => {
      callSignal.done();
      call.off('cancelled', onCancel);
      runtime.inflight.delete(callSignal);
      let code = 'OK';
      if (err === undefined) {
        finish(null, value);
      } else {
        const failed = failureStatus(err, span, () => ctx.logger, runtime);
        code = failed.code;
        finish(failed.status);
      }
      endServerSpan(span, code);
      runtime.metrics.observeServer(service, method, code, Number(process.hrtime.bigint() - started) / 1e9, ctx.model);
    };

    otelContext.with(otel, body).then(
      (value) => done(undefined, value),
      (err: unknown) => done(err),
    );
  };

  if (!responseStream) {
    return ((call: AnyCall, callback: (err: Partial<StatusObject> | null, value?: unknown) => void) =>
      run(call, callback)) as unknown as UntypedHandleCall;
  }
  return ((call: AnyCall) =>
    run(call, (err) => {
      if (err) call.emit('error', err);
      else call.end?.();
    })) as unknown as UntypedHandleCall;
}
