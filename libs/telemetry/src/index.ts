// Tracing with explicit gRPC propagation, Prometheus metrics and JSON logs with trace ids.
export {
  startTracing,
  type Tracing,
  type TracingOptions,
  type TracesExporterKind,
  type OtlpProtocol,
} from './tracing';
export { tracingOptionsFromEnv, TelemetryConfigError } from './tracing-env';
export {
  injectTraceContext,
  extractTraceContext,
  createTraceClientInterceptor,
  type TraceClientInterceptorOptions,
} from './propagation';
export {
  RpcMetrics,
  startMetricsServer,
  createMetricsClientInterceptor,
  RPC_LATENCY_BUCKETS,
  type RpcMetricsOptions,
  type MetricsServer,
  type MetricsServerOptions,
} from './metrics';
export { createLogger, loggerForSpan, traceFields, type LoggerOptions } from './logger';
