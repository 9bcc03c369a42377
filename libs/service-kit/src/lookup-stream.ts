// Lookup streams: many requests of a unary method carried on one long-lived
// bidirectional stream, each answered by one message with its request id.
// A unary call over loopback costs a new HTTP/2 stream, headers and trailers,
// and (after idleness) several wake-ups; a message on an open stream costs
// about half (docs/benchmarks.md, service kit). Each request still gets what
// a unary call gets from the kit: its own deadline, SERVER span (child of the
// trace context it carries), metrics under the unary method's name, a logger
// with its trace ids and a status of its own.
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, context as otelContext, trace, type Context } from '@opentelemetry/api';
import { extractTraceContext } from '@pinrank/telemetry/internal';
import { endServerSpan, failureStatus, type CallRuntime } from './call-handler';
import { CallSignal } from './call-signal';
import { type CallContext } from './context';
import { PinrankError } from './errors';
import { ServedContext } from './served-context';
import { untilDraining } from './stream-drain';

/** The outcome of one request on a lookup stream: a gRPC status code (0 = OK) and its message. */
export interface LookupStatusLike {
  code: number;
  message: string;
}

/** One request message of a lookup stream (the generated envelopes, e.g. `SequenceLookup`, have these fields). */
export interface LookupRequestLike<Req> {
  requestId: number;
  timeoutMs: number;
  traceparent: string;
  request?: Req | undefined;
}

/** How a lookup stream answers: the unary method it stands for and its handler. */
export interface LookupStreamSpec<Req, Res, Out> {
  /** The unary method each request stands for (e.g. `FeatureServerService.getRealtimeSequence`): names its spans and metrics. */
  unary: { readonly path: string };
  /** Answers one request, as the unary handler does (usually the same function). */
  handle: (request: Req, ctx: CallContext) => Promise<Res>;
  /** The result message for one request: its status, and the response when OK. */
  result: (requestId: number, status: LookupStatusLike, response: Res | undefined) => Out;
  /**
   * Most requests of one stream being answered at once; a request past it is
   * answered RESOURCE_EXHAUSTED at once. Answers written plus refusals queued
   * are held to twice this: past that the stream is not read (HTTP/2 flow
   * control then holds the caller back). Default {@link DEFAULT_LOOKUP_IN_FLIGHT}.
   */
  maxInFlight?: number;
}

/** Default requests in flight per lookup stream. */
export const DEFAULT_LOOKUP_IN_FLIGHT = 256;

const OK: LookupStatusLike = { code: GrpcStatus.OK, message: '' };

/** The handler of a bidi lookup-stream method, for `defineService`. */
export type LookupStreamHandler<Req, Out> = (requests: AsyncIterable<LookupRequestLike<Req>>, ctx: CallContext, runtime?: CallRuntime) => AsyncIterable<Out>;

/**
 * A bidi handler that answers each request message of the stream with
 * `spec.handle`, concurrently, as a unary call would be answered. A message
 * without a request, or reusing the id of a request in flight, is answered
 * INVALID_ARGUMENT; one past `maxInFlight` RESOURCE_EXHAUSTED. The stream's
 * caller was authorized when the stream opened (the stream method has its own
 * rule in the authz policy). A message that cannot be decoded ends the stream
 * with INVALID_ARGUMENT after the requests in flight are answered.
 */
export function lookupStream<Req, Res, Out>(spec: LookupStreamSpec<Req, Res, Out>): LookupStreamHandler<Req, Out> {
  const maxInFlight = spec.maxInFlight ?? DEFAULT_LOOKUP_IN_FLIGHT;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new TypeError(`lookupStream: maxInFlight must be an integer >= 1, got ${maxInFlight}`);
  const [service = '', method = ''] = spec.unary.path.replace(/^\//, '').split('/');
  const spanName = `${service}/${method}`;

  return (requests, stream, runtime) => {
    if (!runtime) throw new TypeError(`lookupStream(${spanName}): serve it with defineService and startServer`);
    const rt = runtime;
    const attributes = { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method, 'pinrank.rpc.stream': stream.method };
    const active = new Map<number, CallSignal>();
    const logFields = { rpc: spec.unary.path, stream: stream.method };
    const peerSource = { getPeer: () => stream.peer };

    /** Answers one request; never rejects. */
    const answer = async (msg: LookupRequestLike<Req> & { request: Req }): Promise<Out> => {
      const started = process.hrtime.bigint();
      const parent = traceContextFrom(msg.traceparent);
      const span = rt.tracer.startSpan(spanName, { kind: SpanKind.SERVER, attributes }, parent);
      const otel = trace.setSpan(parent, span);
      const own = msg.timeoutMs > 0 ? Date.now() + msg.timeoutMs : Infinity;
      const ms = Math.min(own, stream.deadline?.getTime() ?? Infinity);
      const deadline = Number.isFinite(ms) ? new Date(ms) : undefined;
      const signal = new CallSignal(deadline);
      const ctx = new ServedContext(spec.unary.path, deadline, span, otel, stream.metadata, signal, rt.logger, logFields, peerSource);
      ctx.caller = stream.caller;
      active.set(msg.requestId, signal);
      rt.inflight.add(signal);
      let code = 'OK';
      let out: Out;
      try {
        const res = await otelContext.with(otel, spec.handle, undefined, msg.request, ctx);
        out = spec.result(msg.requestId, OK, res);
      } catch (err) {
        const failed = failureStatus(err, span, () => ctx.logger, rt);
        code = failed.code;
        out = spec.result(msg.requestId, { code: failed.status.code, message: failed.status.details }, undefined);
      } finally {
        signal.done();
        rt.inflight.delete(signal);
        active.delete(msg.requestId);
      }
      endServerSpan(span, code);
      rt.metrics.observeServer(service, method, code, Number(process.hrtime.bigint() - started) / 1e9, ctx.model);
      return out;
    };

    return (async function* serve(): AsyncGenerator<Out> {
      const ready: Out[] = [];
      let held = 0; // answers being computed or waiting to be written, refusals included
      let inputDone = false;
      let inputError: unknown;
      let wake: (() => void) | undefined;
      let resume: (() => void) | undefined;
      const push = (out: Out): void => {
        ready.push(out);
        const w = wake;
        wake = undefined;
        w?.();
      };
      const refuse = (id: number, code: 'INVALID_ARGUMENT' | 'RESOURCE_EXHAUSTED', message: string): void =>
        push(spec.result(id, { code: GrpcStatus[code], message }, undefined));
      const onStreamAbort = (): void => {
        for (const s of active.values()) s.abort(new PinrankError('CANCELLED', 'the lookup stream was cancelled'));
      };
      stream.signal.addEventListener('abort', onStreamAbort, { once: true });

      void (async () => {
        try {
          for await (const msg of untilDraining(requests, rt.draining)) {
            while (held >= 2 * maxInFlight) await new Promise<void>((r) => (resume = r));
            held++;
            const id = msg.requestId;
            if (!msg.request) refuse(id, 'INVALID_ARGUMENT', `request_id ${id}: no request; every lookup message carries one`);
            else if (active.has(id)) refuse(id, 'INVALID_ARGUMENT', `request_id ${id} is already in flight on this stream; use an id per request in flight`);
            else if (active.size >= maxInFlight) {
              refuse(id, 'RESOURCE_EXHAUSTED', `request_id ${id}: ${active.size} requests in flight on this stream, at most ${maxInFlight}; wait for answers or open another stream`);
            } else {
              // answer() settles every failure of the handler itself; this catches a fault of the kit, so that it fails one request, not the process.
              void answer(msg as LookupRequestLike<Req> & { request: Req }).then(push, (err: unknown) => {
                rt.logger.error({ err, ...logFields }, 'lookup request failed inside the service kit');
                push(spec.result(id, { code: GrpcStatus.INTERNAL, message: `request_id ${id}: internal error` }, undefined));
              });
            }
          }
        } catch (err) {
          inputError = err;
        } finally {
          inputDone = true;
          const w = wake;
          wake = undefined;
          w?.();
        }
      })();

      try {
        for (;;) {
          if (ready.length > 0) {
            const out = ready.shift() as Out;
            held--;
            const r = resume;
            resume = undefined;
            r?.();
            yield out;
            continue;
          }
          if (inputDone && held === 0) break;
          await new Promise<void>((r) => (wake = r));
        }
      } finally {
        stream.signal.removeEventListener('abort', onStreamAbort);
        // Ended early (the stream was cancelled or failed): nobody will read the answers.
        onStreamAbort();
      }
      if (inputError !== undefined) throw inputError;
    })();
  };
}

/** What a metadata value may hold (printable ASCII), within a bound: a well-formed traceparent is 55 characters. */
const TRACEPARENT_SHAPE = /^[\x20-\x7e]{1,256}$/;

/**
 * The trace context a request carries in its message (a lookup envelope, a
 * streamed ModelInfer's parameters), or `base` when it carries none. The
 * value comes from the caller and is not trusted: one that could not be a
 * header value (too long, control or non-ASCII characters) is ignored, like a
 * malformed one.
 */
export function traceContextFrom(traceparent: string, base: Context = ROOT_CONTEXT): Context {
  if (!TRACEPARENT_SHAPE.test(traceparent)) return base;
  const md = new Metadata();
  md.set('traceparent', traceparent);
  return extractTraceContext(md, base);
}
