// Tracing with explicit gRPC propagation, Prometheus metrics and JSON logs with trace ids.
// This is what apps call; what the service kit wires in for them is on `@pinrank/telemetry/internal`.
export {
  startTracing,
  tracingResource,
  type Tracing,
  type TracingOptions,
  type TracesExporterKind,
  type OtlpProtocol,
} from './tracing';
export { tracingOptionsFromEnv, TelemetryConfigError } from './tracing-env';
export { injectTraceContext } from './propagation';
export { RpcMetrics, RPC_LATENCY_BUCKETS, type RpcMetricsOptions } from './metrics';
export { createLogger, type LoggerOptions } from './logger';
