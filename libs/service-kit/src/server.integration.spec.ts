import { join } from 'node:path';
import { Metadata, credentials, status } from '@grpc/grpc-js';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  DeleteUserRequest,
  DeleteUserResponse,
  FeatureServerClient,
  FeatureServerService,
  GetRealtimeSequenceRequest,
  HealthCheckRequest,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthClient,
  IngestActionsRequest,
  IngestActionsResponse,
  RealtimeSequence,
  type HealthCheckResponse,
  type IngestActionsResponse as IngestActionsResponseT,
} from '@pinrank/proto';
import { startTracing, type Tracing } from '@pinrank/telemetry';
import { callUnary, createClient } from './client';
import { PinrankError } from './errors';
import { startServer, type RunningServer } from './server';
import { defineService } from './service';
import { captureLogger, deferred, reflectServices, reflectSymbolFiles, waitFor } from './test-helpers';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
beforeAll(() => {
  tracing = startTracing({ serviceName: 'service-kit-test', exporter: 'none', spanProcessors: [new SimpleSpanProcessor(exporter)] });
});
afterAll(() => tracing.shutdown());
beforeEach(() => exporter.reset());

const servers: RunningServer[] = [];
const clients: { close(): void }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.shutdown()));
});

async function serve(handlers: Parameters<typeof defineService<typeof FeatureServerService>>[1], extra: Partial<Parameters<typeof startServer>[0]> = {}) {
  const { logger, lines } = captureLogger();
  const server = await startServer({
    name: 'test-server',
    address: '127.0.0.1:0',
    services: [defineService(FeatureServerService, handlers, { adminMethods: ['deleteUser'] })],
    signals: [],
    logger,
    shutdownTimeoutMs: 5_000,
    ...extra,
  });
  servers.push(server);
  const client = createClient(FeatureServerClient, `127.0.0.1:${server.port}`);
  clients.push(client);
  return { server, client, lines };
}

const seq = (userId: string) => RealtimeSequence.fromPartial({ userId, length: 3 });

describe('startServer', () => {
  it('binds port 0, serves unary and client-streaming handlers, and answers health Check', async () => {
    const { server, client } = await serve({
      getRealtimeSequence: async (req) => seq(req.userId),
      ingestActions: async (requests) => {
        let accepted = 0;
        for await (const r of requests) accepted += r.actions.length;
        return IngestActionsResponse.fromPartial({ accepted });
      },
    });
    expect(server.port).toBeGreaterThan(0);
    const res = await callUnary(client.getRealtimeSequence.bind(client), GetRealtimeSequenceRequest.fromPartial({ userId: 'u1' }));
    expect(res.userId).toBe('u1');

    const ingested = await new Promise<IngestActionsResponseT>((resolve, reject) => {
      const stream = client.ingestActions((err, r) => (err ? reject(err) : resolve(r)));
      stream.write(IngestActionsRequest.fromPartial({ actions: [{ actionId: 'a' }, { actionId: 'b' }] }));
      stream.write(IngestActionsRequest.fromPartial({ actions: [{ actionId: 'c' }] }));
      stream.end();
    });
    expect(ingested.accepted).toBe(3);

    const health = new HealthClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
    clients.push(health);
    const check = (service: string) =>
      new Promise<HealthCheckResponse>((resolve, reject) =>
        health.check(HealthCheckRequest.fromPartial({ service }), (err, r) => (err ? reject(err) : resolve(r))),
      );
    expect((await check('')).status).toBe(ServingStatus.SERVING);
    expect((await check('pinrank.v1.FeatureServer')).status).toBe(ServingStatus.SERVING);
    await expect(check('no.Such')).rejects.toMatchObject({ code: status.NOT_FOUND });
    server.setServing(false, 'pinrank.v1.FeatureServer');
    expect((await check('pinrank.v1.FeatureServer')).status).toBe(ServingStatus.NOT_SERVING);
  });

  it('propagates the trace id client → server → downstream with parent/child links', async () => {
    const downstream = await serve({ getRealtimeSequence: async (req) => seq(`${req.userId}-downstream`) });
    const upstream = await serve({
      getRealtimeSequence: async (req, ctx) =>
        callUnary(downstream.client.getRealtimeSequence.bind(downstream.client), req, { parent: ctx, timeoutMs: 2_000 }),
    });
    const tracer = trace.getTracer('test');
    const res = await tracer.startActiveSpan('root', async (root) => {
      try {
        return await callUnary(upstream.client.getRealtimeSequence.bind(upstream.client), GetRealtimeSequenceRequest.fromPartial({ userId: 'u' }));
      } finally {
        root.end();
      }
    });
    expect(res.userId).toBe('u-downstream');
    await waitFor(() => exporter.getFinishedSpans().length >= 5);
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'root')!;
    const byParent = (parentId: string, kind: SpanKind) =>
      spans.filter((s) => s.parentSpanContext?.spanId === parentId && s.kind === kind);
    const client1 = byParent(root.spanContext().spanId, SpanKind.CLIENT);
    expect(client1).toHaveLength(1);
    const server1 = byParent(client1[0]!.spanContext().spanId, SpanKind.SERVER);
    expect(server1).toHaveLength(1);
    expect(server1[0]!.name).toBe('pinrank.v1.FeatureServer/GetRealtimeSequence');
    const client2 = byParent(server1[0]!.spanContext().spanId, SpanKind.CLIENT);
    expect(client2).toHaveLength(1);
    const server2 = byParent(client2[0]!.spanContext().spanId, SpanKind.SERVER);
    expect(server2).toHaveLength(1);
    const traceIds = new Set(spans.map((s) => s.spanContext().traceId));
    expect(traceIds).toEqual(new Set([root.spanContext().traceId]));
  });

  it('maps PinrankError to its status, hides unexpected errors behind INTERNAL, and answers UNIMPLEMENTED', async () => {
    const { client, lines } = await serve({
      getRealtimeSequence: async (req) => {
        if (req.userId === 'bad') throw new PinrankError('INVALID_ARGUMENT', 'user_id: "bad" is not allowed');
        if (req.userId === 'wrapped') throw PinrankError.from(new Error('database host is db-7.internal'));
        throw new Error('database password is hunter2');
      },
    });
    const call = (userId: string) => callUnary(client.getRealtimeSequence.bind(client), GetRealtimeSequenceRequest.fromPartial({ userId }), { retry: false });
    await expect(call('bad')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'user_id: "bad" is not allowed' });
    const err = (await call('boom').catch((e: unknown) => e)) as PinrankError;
    expect(err.code).toBe('INTERNAL');
    expect(err.message).not.toContain('hunter2');
    const traceId = /trace_id ([0-9a-f]{32})/.exec(err.message)?.[1];
    expect(traceId).toBeDefined();
    const logged = lines().find((l) => l.msg === 'unexpected error in handler; answered INTERNAL');
    expect(logged).toMatchObject({ trace_id: traceId });
    expect(JSON.stringify(logged)).toContain('hunter2');
    // A plain Error converted with PinrankError.from keeps its message for the log, not for the client.
    const wrapped = (await call('wrapped').catch((e: unknown) => e)) as PinrankError;
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.message).toMatch(/^internal error \(trace_id [0-9a-f]{32}\)$/);
    expect(JSON.stringify(lines().filter((l) => l.msg === 'unexpected error in handler; answered INTERNAL'))).toContain('db-7.internal');

    const unimpl = await callUnary(client.getRealtimeSequences.bind(client), { userIds: ['u'], maxLen: 0, asOfMs: 0 }, { retry: false }).catch((e: unknown) => e);
    expect(unimpl).toMatchObject({ code: 'UNIMPLEMENTED', message: 'pinrank.v1.FeatureServer/GetRealtimeSequences is not implemented yet' });
  });

  it('marks only server faults as span errors, names the server on CLIENT spans and labels RPC metrics with the model served', async () => {
    const { server, client } = await serve({
      getRealtimeSequence: async (req, ctx) => {
        if (req.userId === 'missing') throw new PinrankError('NOT_FOUND', 'no such user');
        if (req.userId === 'bad') throw new PinrankError('INVALID_ARGUMENT', 'user_id is bad');
        if (req.userId === 'down') throw new PinrankError('UNAVAILABLE', 'store is down');
        ctx.labelModel('ranking_heads');
        return seq(req.userId);
      },
    });
    const call = (userId: string) =>
      callUnary(client.getRealtimeSequence.bind(client), GetRealtimeSequenceRequest.fromPartial({ userId }), { retry: false }).catch((e: unknown) => e);
    for (const user of ['ok', 'missing', 'bad', 'down']) await call(user);
    await waitFor(() => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER).length >= 4);
    const statusOf = (kind: SpanKind) =>
      exporter
        .getFinishedSpans()
        .filter((s) => s.kind === kind)
        .map((s) => [s.attributes['rpc.grpc.status_code'], s.status.code]);
    // SpanStatusCode: 0 UNSET, 2 ERROR. Server: only UNAVAILABLE (14) is an error; client: every non-OK status.
    expect(statusOf(SpanKind.SERVER)).toEqual([[0, 0], [5, 0], [3, 0], [14, 2]]);
    expect(statusOf(SpanKind.CLIENT)).toEqual([[0, 0], [5, 2], [3, 2], [14, 2]]);
    const clientSpan = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT)!;
    expect(clientSpan.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': server.port });
    const text = await server.metrics.registry.metrics();
    expect(text).toContain('rpc_server_requests_total{service="pinrank.v1.FeatureServer",method="GetRealtimeSequence",code="OK",model="ranking_heads"} 1');
    expect(text).toContain('rpc_server_requests_total{service="pinrank.v1.FeatureServer",method="GetRealtimeSequence",code="NOT_FOUND"} 1');
  });

  it('refuses admin RPCs without credentials and accepts them with a configured token', async () => {
    const { client, lines } = await serve(
      { deleteUser: async () => DeleteUserResponse.fromPartial({ deletedActions: 1 }) },
      { admin: { tokens: ['s3cret'] } },
    );
    const del = (metadata?: Metadata) =>
      callUnary(client.deleteUser.bind(client), DeleteUserRequest.fromPartial({ userId: 'u' }), { retry: false, ...(metadata ? { metadata } : {}) });
    await expect(del()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const wrong = new Metadata();
    wrong.set('authorization', 'Bearer nope');
    await expect(del(wrong)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const right = new Metadata();
    right.set('authorization', 'Bearer s3cret');
    await expect(del(right)).resolves.toMatchObject({ deletedActions: 1 });
    expect(lines().filter((l) => l.msg === 'call refused')).toHaveLength(2);
    expect(JSON.stringify(lines())).not.toContain('s3cret');
  });

  it('refuses every admin RPC when no admin credentials are configured', async () => {
    const { client } = await serve({ deleteUser: async () => DeleteUserResponse.fromPartial({}) });
    const md = new Metadata();
    md.set('authorization', 'Bearer anything');
    await expect(callUnary(client.deleteUser.bind(client), DeleteUserRequest.fromPartial({ userId: 'u' }), { metadata: md, retry: false })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
  });

  it('passes the client deadline to the handler and aborts its signal when the deadline passes', async () => {
    const seen = deferred<{ remaining: number; aborted: boolean }>();
    const { client } = await serve({
      getRealtimeSequence: async (_req, ctx) => {
        const remaining = ctx.remainingMs();
        await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
        seen.resolve({ remaining, aborted: ctx.signal.aborted });
        return seq('late');
      },
    });
    await expect(
      callUnary(client.getRealtimeSequence.bind(client), GetRealtimeSequenceRequest.fromPartial({ userId: 'u' }), { timeoutMs: 1_000, retry: false }),
    ).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    const s = await seen.promise;
    expect(s.remaining).toBeGreaterThan(0);
    expect(s.remaining).toBeLessThanOrEqual(1_000);
    expect(s.aborted).toBe(true);
  });

  it('drains: Watch sees SERVING → NOT_SERVING, the call in flight completes, new calls are refused', async () => {
    const entered = deferred();
    const release = deferred();
    const { server, client } = await serve({
      getRealtimeSequence: async (req) => {
        entered.resolve();
        await release.promise;
        return seq(req.userId);
      },
    });
    const health = new HealthClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
    clients.push(health);
    const statuses: ServingStatus[] = [];
    const watchEnded = deferred();
    const watch = health.watch(HealthCheckRequest.fromPartial({ service: 'pinrank.v1.FeatureServer' }));
    watch.on('data', (m: HealthCheckResponse) => statuses.push(m.status));
    watch.on('end', () => watchEnded.resolve());
    watch.on('error', () => watchEnded.resolve());
    await waitFor(() => statuses.length === 1);

    const inflight = callUnary(client.getRealtimeSequence.bind(client), GetRealtimeSequenceRequest.fromPartial({ userId: 'in-flight' }), { retry: false });
    inflight.catch(() => undefined); // asserted below; keeps a failure from surfacing as an unhandled rejection
    await entered.promise;
    let stopped = false;
    const stopping = server.shutdown().then(() => (stopped = true));
    await watchEnded.promise;
    expect(statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);

    const fresh = createClient(FeatureServerClient, `127.0.0.1:${server.port}`);
    clients.push(fresh);
    await expect(
      callUnary(fresh.getRealtimeSequence.bind(fresh), GetRealtimeSequenceRequest.fromPartial({ userId: 'new' }), { retry: false, timeoutMs: 2_000 }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(stopped).toBe(false);

    release.resolve();
    await expect(inflight).resolves.toMatchObject({ userId: 'in-flight' });
    await stopping;
    expect(stopped).toBe(true);
  });

  it('serves reflection for the registered services and /metrics with counts by method and status', async () => {
    const { server, client } = await serve(
      { getRealtimeSequence: async (req) => seq(req.userId) },
      { reflection: { protoRoot: join(__dirname, '../../../proto') }, metricsAddress: '127.0.0.1:0' },
    );
    expect(await reflectServices(`127.0.0.1:${server.port}`)).toEqual(['grpc.health.v1.Health', 'pinrank.v1.FeatureServer']);
    const files = await reflectSymbolFiles(`127.0.0.1:${server.port}`, 'pinrank.v1.FeatureServer');
    expect(files.map((f) => f.toString('latin1')).join('\n')).toContain('GetRealtimeSequence');
    await callUnary(client.getRealtimeSequence.bind(client), GetRealtimeSequenceRequest.fromPartial({ userId: 'u' }));
    await callUnary(client.getRealtimeSequences.bind(client), { userIds: [], maxLen: 0, asOfMs: 0 }, { retry: false }).catch(() => undefined);
    const body = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    expect(body).toMatch(/rpc_server_requests_total\{service="pinrank.v1.FeatureServer",method="GetRealtimeSequence",code="OK"\} 1/);
    expect(body).toMatch(/rpc_server_requests_total\{service="pinrank.v1.FeatureServer",method="GetRealtimeSequences",code="UNIMPLEMENTED"\} 1/);
    expect(body).toMatch(/rpc_server_duration_seconds_count\{service="pinrank.v1.FeatureServer",method="GetRealtimeSequence",code="OK"\} 1/);
  });
});
