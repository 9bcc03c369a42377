// Tracing with explicit gRPC propagation, Prometheus metrics and JSON logs with trace ids.
export {
  startTracing,
  tracingResource,
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
  serverAttributes,
  SERVER_FAULT_CODES,
  type TraceClientInterceptorOptions,
} from './propagation';
export {
  RpcMetrics,
  startMetricsServer,
  createMetricsClientInterceptor,
  RPC_LATENCY_BUCKETS,
  OMITTED_DEFAULT_METRICS,
  type RpcMetricsOptions,
  type MetricsServer,
  type MetricsServerOptions,
} from './metrics';
export { createLogger, loggerForSpan, traceFields, type LoggerOptions } from './logger';
