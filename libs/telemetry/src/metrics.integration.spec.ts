import { Client, Server, ServerCredentials, credentials, status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { createMetricsClientInterceptor, OMITTED_DEFAULT_METRICS, RpcMetrics, startMetricsServer } from './metrics';

describe('RpcMetrics and /metrics', () => {
  it('serves counts and latency histograms by service, method and status', async () => {
    const metrics = new RpcMetrics({ processMetrics: false });
    metrics.observeServer('pinrank.v1.Ranker', 'Rank', 'OK', 0.004);
    metrics.observeServer('pinrank.v1.Ranker', 'Rank', 'OK', 0.02);
    metrics.observeServer('pinrank.v1.Ranker', 'Rank', 'DEADLINE_EXCEEDED', 0.3);
    const server = await startMetricsServer({ registry: metrics.registry, host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toContain('rpc_server_requests_total{service="pinrank.v1.Ranker",method="Rank",code="OK"} 2');
      expect(body).toContain('rpc_server_requests_total{service="pinrank.v1.Ranker",method="Rank",code="DEADLINE_EXCEEDED"} 1');
      expect(body).toContain('rpc_server_duration_seconds_bucket{le="0.005",service="pinrank.v1.Ranker",method="Rank",code="OK"} 1');
      expect(body).toContain('rpc_server_duration_seconds_bucket{le="0.025",service="pinrank.v1.Ranker",method="Rank",code="OK"} 2');
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('includes process metrics by default, without the gauges named like counters', async () => {
    const body = await new RpcMetrics().registry.metrics();
    expect(body).toContain('process_cpu_user_seconds_total');
    expect(body).toContain('# TYPE nodejs_active_handles gauge');
    // `promtool check metrics` refuses a gauge ending in _total; their by-type gauges stay.
    for (const name of OMITTED_DEFAULT_METRICS) expect(body).not.toContain(name);
    expect(body.match(/^# TYPE \S+_total (?!counter)\S+$/gm)).toBeNull();
  });

  it('the client interceptor counts outgoing calls by status', async () => {
    const metrics = new RpcMetrics({ processMetrics: false });
    const id = (b: Buffer) => b;
    const server = new Server();
    server.addService(
      { call: { path: '/t.S/Fail', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } },
      { call: (_c: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb({ code: status.NOT_FOUND, details: 'x' }) },
    );
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { interceptors: [createMetricsClientInterceptor(metrics)] });
    try {
      await new Promise<void>((resolve) => client.makeUnaryRequest('/t.S/Fail', id, id, Buffer.alloc(0), () => resolve()));
      expect(await metrics.registry.metrics()).toContain('rpc_client_requests_total{service="t.S",method="Fail",code="NOT_FOUND"} 1');
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
