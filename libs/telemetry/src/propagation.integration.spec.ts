import { Client, Metadata, Server, ServerCredentials, credentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { RpcMetrics } from './metrics';
import { createTraceClientInterceptor, extractTraceContext, injectTraceContext } from './propagation';
import { startTracing } from './tracing';

const identity = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const method = { path: '/test.Echo/Call', requestStream: false, responseStream: false, requestSerialize: identity.serialize, requestDeserialize: identity.deserialize, responseSerialize: identity.serialize, responseDeserialize: identity.deserialize };

describe('W3C propagation over gRPC metadata', () => {
  it('round-trips a span context through inject/extract', () => {
    const sc = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };
    const md = new Metadata();
    injectTraceContext(trace.setSpanContext(ROOT_CONTEXT, sc), md);
    expect(md.get('traceparent')).toEqual(['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']);
    const back = trace.getSpanContext(extractTraceContext(md, ROOT_CONTEXT));
    expect(back).toMatchObject({ traceId: sc.traceId, spanId: sc.spanId, isRemote: true });
  });

  it('the client interceptor opens a CLIENT span under the active span and sends its traceparent', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: 'prop-test', exporter: 'none', spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const received: Metadata[] = [];
    const server = new Server();
    server.addService({ call: method }, {
      call: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
        received.push(call.metadata);
        cb(null, Buffer.from('ok'));
      },
    });
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { interceptors: [createTraceClientInterceptor()] });
    try {
      await trace.getTracer('t').startActiveSpan('root-active', async (active) => {
        await new Promise<void>((resolve, reject) =>
          client.makeUnaryRequest(method.path, identity.serialize, identity.deserialize, Buffer.from('hi'), (err) => (err ? reject(err) : resolve())),
        );
        active.end();
      });
      const spans = exporter.getFinishedSpans();
      const clientSpan = spans.find((s) => s.kind === SpanKind.CLIENT)!;
      const active = spans.find((s) => s.name === 'root-active')!;
      expect(clientSpan.name).toBe('test.Echo/Call');
      expect(clientSpan.parentSpanContext?.spanId).toBe(active.spanContext().spanId);
      expect(clientSpan.attributes['rpc.grpc.status_code']).toBe(0);
      const sent = trace.getSpanContext(extractTraceContext(received[0]!, ROOT_CONTEXT));
      expect(sent?.traceId).toBe(active.spanContext().traceId);
      expect(sent?.spanId).toBe(clientSpan.spanContext().spanId);
    } finally {
      client.close();
      server.forceShutdown();
      await tracing.shutdown();
    }
  });

  it('with metrics, the one interceptor also counts the call by status (span and counter from one call)', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: 'prop-test', exporter: 'none', spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const metrics = new RpcMetrics({ processMetrics: false });
    const server = new Server();
    server.addService({ call: method }, { call: (_c: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb({ code: 5, details: 'gone' }) });
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { interceptors: [createTraceClientInterceptor({ metrics, target: `127.0.0.1:${port}` })] });
    try {
      await new Promise<void>((resolve) => client.makeUnaryRequest(method.path, identity.serialize, identity.deserialize, Buffer.from('hi'), () => resolve()));
      expect(await metrics.registry.metrics()).toContain('rpc_client_requests_total{service="test.Echo",method="Call",code="NOT_FOUND"} 1');
      const clientSpan = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT);
      expect(clientSpan?.attributes['rpc.grpc.status_code']).toBe(5);
      expect(clientSpan?.attributes['server.port']).toBe(port);
    } finally {
      client.close();
      server.forceShutdown();
      await tracing.shutdown();
    }
  });
});
