import { randomUUID } from 'node:crypto';
import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** Where spans go (`OTEL_TRACES_EXPORTER`). */
export type TracesExporterKind = 'otlp' | 'console' | 'none';
/** The OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`). */
export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';

/** Options of {@link startTracing}; {@link tracingOptionsFromEnv} builds them from OTEL_* variables. */
export interface TracingOptions {
  /** `service.name` of the resource. */
  serviceName: string;
  /** `service.version` of the resource (the app's release); omitted when unset. */
  serviceVersion?: string;
  /** `service.instance.id`; default a random UUID per process (OTEL_RESOURCE_ATTRIBUTES may set it). */
  serviceInstanceId?: string;
  /** Exporter; default "otlp" (the OpenTelemetry default). */
  exporter?: TracesExporterKind;
  /** OTLP transport; default "http/protobuf" (the OpenTelemetry default). */
  otlpProtocol?: OtlpProtocol;
  /**
   * OTLP endpoint. For HTTP transports a base URL to which "/v1/traces" is
   * appended (default http://localhost:4318); for grpc the collector address
   * (default http://localhost:4317).
   */
  otlpEndpoint?: string;
  /** A full traces URL that wins over `otlpEndpoint` (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). */
  otlpTracesEndpoint?: string;
  /** Headers sent to the collector (e.g. an API key). */
  otlpHeaders?: Record<string, string>;
  /** Extra resource attributes (OTEL_RESOURCE_ATTRIBUTES). */
  resourceAttributes?: Record<string, string>;
  /** Additional span processors, e.g. a SimpleSpanProcessor over an InMemorySpanExporter in tests. */
  spanProcessors?: SpanProcessor[];
  /** Register as the global tracer provider, context manager and propagator; default true. */
  register?: boolean;
}

/** Running tracing: its tracer and how to flush and stop it. */
export interface Tracing {
  /** The provider (register-ed globally unless `register: false`). */
  readonly provider: NodeTracerProvider;
  /** A tracer named after the service. */
  readonly tracer: Tracer;
  /** Exports pending spans. */
  forceFlush(): Promise<void>;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}

function otlpExporter(options: TracingOptions): SpanExporter {
  const protocol = options.otlpProtocol ?? 'http/protobuf';
  const headers = options.otlpHeaders;
  if (protocol === 'grpc') {
    const url = options.otlpTracesEndpoint ?? options.otlpEndpoint ?? 'http://localhost:4317';
    return new OtlpGrpcExporter({ url });
  }
  const base = (options.otlpEndpoint ?? 'http://localhost:4318').replace(/\/+$/, '');
  const url = options.otlpTracesEndpoint ?? `${base}/v1/traces`;
  return protocol === 'http/json'
    ? new OtlpJsonExporter({ url, ...(headers ? { headers } : {}) })
    : new OtlpProtoExporter({ url, ...(headers ? { headers } : {}) });
}

/**
 * The resource every span of the process carries: the SDK's own attributes
 * (`telemetry.sdk.*`), then `service.version` and `service.instance.id`, then
 * OTEL_RESOURCE_ATTRIBUTES, then `service.name` (later ones win).
 */
export function tracingResource(options: TracingOptions): Resource {
  return defaultResource()
    .merge(
      resourceFromAttributes({
        ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
        'service.instance.id': options.serviceInstanceId ?? randomUUID(),
      }),
    )
    .merge(resourceFromAttributes({ ...options.resourceAttributes, 'service.name': options.serviceName }));
}

/**
 * Starts OpenTelemetry tracing for a process: a Node tracer provider with the
 * chosen exporter (batched), AsyncLocalStorage context and W3C propagation.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (!options.serviceName) throw new TypeError('startTracing: serviceName is required');
  const exporterKind = options.exporter ?? 'otlp';
  const processors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (exporterKind === 'otlp') processors.push(new BatchSpanProcessor(otlpExporter(options)));
  if (exporterKind === 'console') processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  const provider = new NodeTracerProvider({
    resource: tracingResource(options),
    spanProcessors: processors,
  });
  if (options.register ?? true) provider.register();
  const tracer = provider.getTracer(options.serviceName);
  return {
    provider,
    tracer,
    forceFlush: () => provider.forceFlush(),
    shutdown: async () => {
      await provider.shutdown();
      if (options.register ?? true) trace.disable();
    },
  };
}
