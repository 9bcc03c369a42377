import { InterceptingCall, type Interceptor, type Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import {
  context as otelContext,
  trace,
  SpanKind,
  SpanStatusCode,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { type RpcMetrics } from './metrics';

// One propagator instance, used explicitly: tracing never depends on the
// global propagator having been registered (it is not under jest).
const w3c = new W3CTraceContextPropagator();

const setter: TextMapSetter<Metadata> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

const getter: TextMapGetter<Metadata> = {
  keys(carrier) {
    return Object.keys(carrier.getMap());
  },
  get(carrier, key) {
    const values = carrier.get(key);
    if (values.length === 0) return undefined;
    return values.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
  },
};

/** Writes the W3C trace context (`traceparent`, `tracestate`) of `ctx` into gRPC metadata. */
export function injectTraceContext(ctx: Context, metadata: Metadata): void {
  w3c.inject(ctx, metadata, setter);
}

/** Reads the W3C trace context from incoming gRPC metadata into a context derived from `base`. */
export function extractTraceContext(metadata: Metadata, base: Context = otelContext.active()): Context {
  return w3c.extract(base, metadata, getter);
}

/**
 * gRPC status codes that mean the server failed (the OpenTelemetry RPC
 * conventions for gRPC SERVER spans: only these set the span status to
 * ERROR; a client's mistake such as INVALID_ARGUMENT or NOT_FOUND does not).
 */
export const SERVER_FAULT_CODES: ReadonlySet<GrpcStatus> = new Set([
  GrpcStatus.UNKNOWN,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.UNIMPLEMENTED,
  GrpcStatus.INTERNAL,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DATA_LOSS,
]);

/**
 * `server.address` and `server.port` of a gRPC target ("host:port",
 * "[::1]:port", "dns:///name:port", "ipv4:1.2.3.4:port"); empty when the target
 * names no single host (e.g. a unix socket).
 */
export function serverAttributes(target: string): { 'server.address'?: string; 'server.port'?: number } {
  const authority = target.replace(/^[a-z0-9+.-]+:(\/\/[^/]*\/)?/i, (m) => (/^(dns|ipv4|ipv6):/i.test(m) ? '' : m)).split(',')[0] ?? '';
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(authority) ?? /^([^:/\s]+)(?::(\d+))?$/.exec(authority);
  if (!m?.[1]) return {};
  const port = m[2] ? Number(m[2]) : 443;
  return { 'server.address': m[1], 'server.port': port };
}

/** Options of {@link createTraceClientInterceptor}. */
export interface TraceClientInterceptorOptions {
  /** The channel's target (e.g. "127.0.0.1:50061"), recorded as `server.address`/`server.port`. */
  target?: string;
  /** The tracer that opens CLIENT spans; default: the global tracer named "pinrank-grpc-client". */
  tracer?: Tracer;
  /** Gives the parent context of a call; default: the active context. */
  parentContext?: () => Context;
  /** Also records the call's `rpc_client_*` metrics here (one interceptor doing both costs less per call than two). */
  metrics?: RpcMetrics;
}

interface MethodNames {
  /** Span name: the path without its leading slash. */
  spanName: string;
  service: string;
  method: string;
}

/** Method paths split once, not per call (a client calls a handful of methods). */
const methodNames = new Map<string, MethodNames>();

function namesOf(path: string): MethodNames {
  let names = methodNames.get(path);
  if (!names) {
    const spanName = path.replace(/^\//, '');
    const [service = '', method = ''] = spanName.split('/');
    names = { spanName, service, method };
    if (methodNames.size < 10_000) methodNames.set(path, names);
  }
  return names;
}

/**
 * A grpc-js client interceptor that opens a CLIENT span per call (named by the
 * method path, with `server.address`/`server.port` when the target is given),
 * injects its W3C trace context into the call's metadata, and ends the span
 * with the call's status (every non-OK status is an error on the client side).
 * With `metrics`, it also records the call's `rpc_client_*` metrics.
 */
export function createTraceClientInterceptor(options: TraceClientInterceptorOptions = {}): Interceptor {
  const server = options.target ? serverAttributes(options.target) : {};
  const metrics = options.metrics;
  return (callOptions, nextCall) => {
    const started = metrics ? process.hrtime.bigint() : 0n;
    const tracer = options.tracer ?? trace.getTracer('pinrank-grpc-client');
    const parent = options.parentContext ? options.parentContext() : otelContext.active();
    const { spanName, service, method } = namesOf(callOptions.method_definition.path);
    const span = tracer.startSpan(spanName, { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method, ...server } }, parent);
    return new InterceptingCall(nextCall(callOptions), {
      start(metadata, _listener, next) {
        injectTraceContext(trace.setSpan(parent, span), metadata);
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            if (metrics) metrics.observeClient(service, method, GrpcStatus[status.code], Number(process.hrtime.bigint() - started) / 1e9);
            span.setAttribute('rpc.grpc.status_code', status.code);
            if (status.code !== GrpcStatus.OK) {
              span.setStatus({ code: SpanStatusCode.ERROR, message: `${GrpcStatus[status.code]}: ${status.details}` });
            }
            span.end();
            nextStatus(status);
          },
        });
      },
    });
  };
}
