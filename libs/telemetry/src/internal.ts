// `@pinrank/telemetry/internal`: what the service kit wires into every server and client
// (the SERVER span from incoming metadata, client interceptors, the /metrics endpoint,
// per-call loggers), off the front page (src/index.ts) that apps use.
export { extractTraceContext, injectTraceContext, createTraceClientInterceptor, serverAttributes, SERVER_FAULT_CODES, type TraceClientInterceptorOptions } from './propagation';
export { startMetricsServer, createMetricsClientInterceptor, type MetricsServer, type MetricsServerOptions } from './metrics';
export { loggerForSpan, traceFields } from './logger';
