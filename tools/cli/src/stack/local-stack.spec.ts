import { localStackServices, stackTracingEnv } from './local-stack';

describe('stackTracingEnv', () => {
  it('turns export off only when no standard OpenTelemetry export variable is set', () => {
    expect(stackTracingEnv({})).toEqual({ OTEL_TRACES_EXPORTER: 'none' });
    expect(stackTracingEnv({ OTEL_TRACES_EXPORTER: '  ' })).toEqual({ OTEL_TRACES_EXPORTER: 'none' });
    expect(stackTracingEnv({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual({});
    expect(stackTracingEnv({ OTEL_TRACES_EXPORTER: 'console' })).toEqual({});
    // The endpoint alone means "export there" (the exporter defaults to otlp).
    expect(stackTracingEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({});
    expect(stackTracingEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toEqual({});
  });

  it('leaves the OTEL_* variables of the caller to every service', () => {
    const before = process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://collector:4318';
    try {
      const { services } = localStackServices({ root: '/repo', dataDir: '/data', host: '127.0.0.1', basePort: 50050 });
      for (const s of services) expect(s.env['OTEL_TRACES_EXPORTER']).toBeUndefined();
    } finally {
      if (before === undefined) delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
      else process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = before;
    }
  });
});
