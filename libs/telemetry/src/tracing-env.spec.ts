import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTracing } from './tracing';
import { TelemetryConfigError, tracingOptionsFromEnv } from './tracing-env';

describe('tracingOptionsFromEnv', () => {
  it('uses the OpenTelemetry defaults when nothing is set', () => {
    expect(tracingOptionsFromEnv({}, 'ranker')).toEqual({ serviceName: 'ranker', exporter: 'otlp', resourceAttributes: {} });
  });

  it('reads the standard variables', () => {
    const o = tracingOptionsFromEnv(
      {
        OTEL_SERVICE_NAME: 'feature-server',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc,tenant=t%201',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=dev,service.version=1.2',
      },
      'default',
    );
    expect(o).toEqual({
      serviceName: 'feature-server',
      exporter: 'otlp',
      otlpProtocol: 'http/json',
      otlpEndpoint: 'http://collector:4318',
      otlpHeaders: { 'x-api-key': 'abc', tenant: 't 1' },
      resourceAttributes: { 'deployment.environment': 'dev', 'service.version': '1.2' },
    });
    expect(tracingOptionsFromEnv({ OTEL_TRACES_EXPORTER: 'console' }, 'x').exporter).toBe('console');
    expect(tracingOptionsFromEnv({ OTEL_SDK_DISABLED: 'true' }, 'x').exporter).toBe('none');
    expect(tracingOptionsFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' }, 'x').serviceName).toBe('from-attrs');
  });

  it('refuses values it cannot use, naming the variable and what is allowed', () => {
    expect(() => tracingOptionsFromEnv({ OTEL_TRACES_EXPORTER: 'jaeger' }, 'x')).toThrow(
      'OTEL_TRACES_EXPORTER: "jaeger" is not supported; allowed: otlp, console, none (one value)',
    );
    expect(() => tracingOptionsFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http' }, 'x')).toThrow(TelemetryConfigError);
    expect(() => tracingOptionsFromEnv({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'udp' }, 'x')).toThrow(/OTEL_EXPORTER_OTLP_TRACES_PROTOCOL/);
    expect(() => tracingOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'x')).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(() => tracingOptionsFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'novalue' }, 'x')).toThrow(/OTEL_RESOURCE_ATTRIBUTES/);
  });
});

describe('startTracing', () => {
  it('records spans with the service name through extra span processors', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: 'unit', exporter: 'none', register: false, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    tracing.tracer.startSpan('work').end();
    await tracing.forceFlush();
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('work');
    expect(span?.resource.attributes['service.name']).toBe('unit');
    await tracing.shutdown();
  });

  it('builds each OTLP transport without sending anything at start', async () => {
    for (const otlpProtocol of ['grpc', 'http/protobuf', 'http/json'] as const) {
      const tracing = startTracing({ serviceName: 'unit', register: false, otlpProtocol, otlpEndpoint: 'http://127.0.0.1:9' });
      await tracing.shutdown();
    }
  });
});
