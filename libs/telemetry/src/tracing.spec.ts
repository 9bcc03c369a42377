import { serverAttributes } from './propagation';
import { tracingOptionsFromEnv } from './tracing-env';
import { tracingResource } from './tracing';

describe('tracingResource', () => {
  it('carries the service name, version, an instance id and the SDK attributes', () => {
    const a = tracingResource({ serviceName: 'ranker-router', serviceVersion: '1.2.3' }).attributes;
    expect(a).toMatchObject({
      'service.name': 'ranker-router',
      'service.version': '1.2.3',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.version': expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    expect(a['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
    // Each process gets its own instance id.
    expect(tracingResource({ serviceName: 'x' }).attributes['service.instance.id']).not.toBe(a['service.instance.id']);
  });

  it('lets OTEL_RESOURCE_ATTRIBUTES set the instance id and OTEL_SERVICE_NAME the name', () => {
    const options = tracingOptionsFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=pod-7,deployment.environment=dev', OTEL_SERVICE_NAME: 'mine' }, 'default', '0.9.0');
    expect(tracingResource(options).attributes).toMatchObject({
      'service.name': 'mine',
      'service.version': '0.9.0',
      'service.instance.id': 'pod-7',
      'deployment.environment': 'dev',
    });
  });
});

describe('serverAttributes', () => {
  it.each([
    ['127.0.0.1:50061', { 'server.address': '127.0.0.1', 'server.port': 50061 }],
    ['dns:///ranker-cpu.pinrank.svc:50062', { 'server.address': 'ranker-cpu.pinrank.svc', 'server.port': 50062 }],
    ['[::1]:8080', { 'server.address': '::1', 'server.port': 8080 }],
    ['ipv4:10.0.0.1:5000,10.0.0.2:5000', { 'server.address': '10.0.0.1', 'server.port': 5000 }],
    ['localhost', { 'server.address': 'localhost', 'server.port': 443 }],
    ['unix:/tmp/socket', {}],
  ])('%s', (target, want) => {
    expect(serverAttributes(target)).toEqual(want);
  });
});
