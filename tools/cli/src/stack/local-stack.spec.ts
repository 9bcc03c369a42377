import { localStackServices, stackNatsSecurityEnv, stackTracingEnv } from './local-stack';

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

describe("the feature-server's NATS security in a local stack", () => {
  it('sets the FEATURE_SERVER_NATS_* variables of what was given, and none without a NATS URL', () => {
    expect(stackNatsSecurityEnv(undefined)).toEqual({});
    expect(stackNatsSecurityEnv({ tls: false })).toEqual({});
    expect(stackNatsSecurityEnv({ tls: true, caFile: '/ca.pem', user: 'fs', passwordFile: '/pw' })).toEqual({
      FEATURE_SERVER_NATS_TLS: 'true',
      FEATURE_SERVER_NATS_CA_FILE: '/ca.pem',
      FEATURE_SERVER_NATS_USER: 'fs',
      FEATURE_SERVER_NATS_PASSWORD_FILE: '/pw',
    });
    const base = { root: '/repo', dataDir: '/data', host: '127.0.0.1', basePort: 50050, natsSecurity: { tls: true, credsFile: '/fs.creds' } };
    const featureServer = (o: Parameters<typeof localStackServices>[0]) => localStackServices(o).services.find((s) => s.name === 'feature-server')?.env ?? {};
    expect(featureServer({ ...base, natsUrl: 'tls://127.0.0.1:4222' })).toMatchObject({ FEATURE_SERVER_NATS_URL: 'tls://127.0.0.1:4222', FEATURE_SERVER_NATS_TLS: 'true', FEATURE_SERVER_NATS_CREDS_FILE: '/fs.creds' });
    expect(featureServer(base)['FEATURE_SERVER_NATS_TLS']).toBeUndefined();
  });
});
