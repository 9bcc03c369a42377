import { Client, credentials, Metadata, status, type ClientDuplexStream } from '@grpc/grpc-js';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  FeatureServerClient,
  FeatureServerService,
  GetRealtimeSequenceRequest,
  RealtimeSequence,
  SequenceLookup,
  SequenceLookupResult,
} from '@pinrank/proto';
import { startTracing, type Tracing } from '@pinrank/telemetry';
import { callUnary, createClient } from './client';
import { type CallContext } from './context';
import { PinrankError } from './errors';
import { LookupStreamClient, LookupStreamUnavailable, type LookupClientOptions } from './lookup-client';
import { lookupStream } from './lookup-stream';
import { startServer, type RunningServer } from './server';
import { defineService } from './service';
import { captureLogger, waitFor } from './test-helpers';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
beforeAll(() => {
  tracing = startTracing({ serviceName: 'lookup-stream-test', exporter: 'none', spanProcessors: [new SimpleSpanProcessor(exporter)] });
});
afterAll(() => tracing.shutdown());
beforeEach(() => exporter.reset());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A handler whose user id says what to do: "slow-<ms>", "bad", "boom", or answer at once. */
const aborted: string[] = [];
async function answer(req: GetRealtimeSequenceRequest, ctx: CallContext): Promise<RealtimeSequence> {
  const slow = /^slow-(\d+)/.exec(req.userId);
  if (slow) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Number(slow[1]));
      ctx.signal.addEventListener('abort', () => {
        aborted.push(req.userId);
        clearTimeout(t);
        resolve();
      });
    });
  }
  if (req.userId === 'bad') throw new PinrankError('INVALID_ARGUMENT', 'user_id: "bad" is not a user');
  if (req.userId === 'boom') throw new Error('secret internals');
  return RealtimeSequence.fromPartial({ userId: req.userId, length: req.maxLen });
}

let server: RunningServer;
let client: FeatureServerClient;
let lines: () => Record<string, unknown>[];
beforeAll(async () => {
  const log = captureLogger();
  lines = log.lines;
  server = await startServer({
    name: 'lookup-stream-test',
    address: '127.0.0.1:0',
    signals: [],
    logger: log.logger,
    services: [
      defineService(FeatureServerService, {
        getRealtimeSequence: answer,
        streamRealtimeSequences: lookupStream({
          unary: FeatureServerService.getRealtimeSequence,
          handle: answer,
          result: (requestId, s, sequence): SequenceLookupResult => ({ requestId, status: s, sequence }),
          maxInFlight: 4,
        }),
      }),
    ],
  });
  client = createClient(FeatureServerClient, `127.0.0.1:${server.port}`);
});
afterAll(async () => {
  client.close();
  await server.shutdown();
});

const lookups: Array<LookupStreamClient<GetRealtimeSequenceRequest, RealtimeSequence, SequenceLookup, SequenceLookupResult>> = [];
afterEach(() => lookups.splice(0).forEach((l) => l.close()));

function lookupClient(extra: Partial<LookupClientOptions<GetRealtimeSequenceRequest, RealtimeSequence, SequenceLookup, SequenceLookupResult>> = {}, to = client) {
  const l = new LookupStreamClient<GetRealtimeSequenceRequest, RealtimeSequence, SequenceLookup, SequenceLookupResult>({
    unary: FeatureServerService.getRealtimeSequence,
    upstream: 'test feature-server',
    open: (md, o) => to.streamRealtimeSequences(md, o),
    parts: (out) => ({ requestId: out.requestId, status: out.status, response: out.sequence }),
    ...extra,
  });
  lookups.push(l);
  return l;
}

const req = (userId: string, maxLen = 5) => GetRealtimeSequenceRequest.fromPartial({ userId, maxLen });

/** A server of its own with only the lookup stream, for tests that shut it down. */
const streamOnlyServer = (name: string, shutdownTimeoutMs: number): Promise<RunningServer> =>
  startServer({
    name,
    address: '127.0.0.1:0',
    signals: [],
    logger: captureLogger().logger,
    shutdownTimeoutMs,
    services: [
      defineService(FeatureServerService, {
        streamRealtimeSequences: lookupStream({ unary: FeatureServerService.getRealtimeSequence, handle: answer, result: (requestId, s, sequence): SequenceLookupResult => ({ requestId, status: s, sequence }) }),
      }),
    ],
  });

/** A raw stream: what a careless client can send. */
function rawStream(): { stream: ClientDuplexStream<SequenceLookup, SequenceLookupResult>; results: SequenceLookupResult[]; ended: Promise<number> } {
  const stream = client.streamRealtimeSequences({ deadline: Date.now() + 5_000 });
  const results: SequenceLookupResult[] = [];
  stream.on('data', (r: SequenceLookupResult) => results.push(r));
  const ended = new Promise<number>((resolve) => {
    stream.on('status', (s: { code: number }) => resolve(s.code));
    stream.on('error', () => undefined);
  });
  return { stream, results, ended };
}

describe('lookup streams', () => {
  it('answers each request with its own result, in completion order, as the unary call would', async () => {
    const l = lookupClient();
    const order: string[] = [];
    const track = (p: Promise<RealtimeSequence>) => p.then((r) => (order.push(r.userId), r));
    const [slow, fast, unary] = await Promise.all([track(l.call(req('slow-80', 7), { timeoutMs: 2_000 })), track(l.call(req('quick', 3), { timeoutMs: 2_000 })), callUnary(client.getRealtimeSequence.bind(client), req('quick', 3))]);
    expect(slow).toMatchObject({ userId: 'slow-80', length: 7 });
    expect(fast).toEqual(unary);
    expect(order).toEqual(['quick', 'slow-80']);
    expect(l.pending).toBe(0);
  });

  it('fails one request with its own status and leaves the others and the stream alone', async () => {
    const l = lookupClient();
    const results = await Promise.allSettled([l.call(req('bad'), { timeoutMs: 2_000 }), l.call(req('ok-1'), { timeoutMs: 2_000 }), l.call(req('boom'), { timeoutMs: 2_000 })]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: 'INVALID_ARGUMENT', message: 'user_id: "bad" is not a user' } });
    expect(results[1]).toMatchObject({ status: 'fulfilled', value: { userId: 'ok-1' } });
    expect(results[2]).toMatchObject({ status: 'rejected', reason: { code: 'INTERNAL' } });
    expect((results[2] as PromiseRejectedResult).reason.message).not.toContain('secret');
    expect(lines().some((line) => line.msg === 'unexpected error in handler; answered INTERNAL' && line.rpc === '/pinrank.v1.FeatureServer/GetRealtimeSequence')).toBe(true);
    await expect(l.call(req('after'), { timeoutMs: 2_000 })).resolves.toMatchObject({ userId: 'after' });
  });

  it("gives each request its own deadline: the caller gets DEADLINE_EXCEEDED and the server's handler sees it abort", async () => {
    const l = lookupClient();
    await expect(l.call(req('slow-5000-a'), { timeoutMs: 60 })).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    await waitFor(() => aborted.includes('slow-5000-a'));
    await expect(l.call(req('quick'), { timeoutMs: 2_000 })).resolves.toMatchObject({ userId: 'quick' });
  });

  it('takes a request without a timeout of its own (Infinity) as one with the longest a timer holds, not as one that ends at once', async () => {
    const l = lookupClient();
    await expect(l.call(req('slow-80', 3), { timeoutMs: Infinity })).resolves.toMatchObject({ userId: 'slow-80', length: 3 });
  });

  it('takes the deadline and cancellation of the incoming call it serves', async () => {
    const l = lookupClient();
    const controller = new AbortController();
    const parent = { deadline: new Date(Date.now() + 50), signal: controller.signal, otel: undefined } as unknown as CallContext;
    await expect(l.call(req('slow-5000-b'), { timeoutMs: 10_000, parent })).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    const cancelled = l.call(req('slow-5000-c'), { timeoutMs: 10_000, parent: { ...parent, deadline: undefined } as unknown as CallContext });
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('refuses past the per-stream cap with RESOURCE_EXHAUSTED, and a missing request or a reused id with INVALID_ARGUMENT', async () => {
    const { stream, results, ended } = rawStream();
    for (let id = 1; id <= 5; id++) stream.write(SequenceLookup.fromPartial({ requestId: id, request: req('slow-150') }));
    stream.write(SequenceLookup.fromPartial({ requestId: 1, request: req('again') }));
    stream.write(SequenceLookup.fromPartial({ requestId: 9 }));
    await waitFor(() => results.length >= 3);
    const byId = (id: number) => results.filter((r) => r.requestId === id);
    expect(byId(5)[0]?.status).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    expect(byId(5)[0]?.status?.message).toContain('at most 4');
    expect(byId(1)[0]?.status).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(byId(1)[0]?.status?.message).toContain('already in flight');
    expect(byId(9)[0]?.status).toMatchObject({ code: status.INVALID_ARGUMENT, message: expect.stringContaining('no request') });
    stream.end();
    expect(await ended).toBe(status.OK);
    // The four accepted requests were answered before the stream ended.
    expect(results.filter((r) => r.status?.code === status.OK).map((r) => r.requestId).sort()).toEqual([1, 2, 3, 4]);
  });

  it('ignores a trace context that could not be a header value (control or non-ASCII characters, too long) and answers the request', async () => {
    const { stream, results, ended } = rawStream();
    const hostile = ['\u0358 ', '\uFFF3\u{1F612}\u033A ', 'line\nbreak', 'x'.repeat(5_000), 'not-a-traceparent'];
    hostile.forEach((traceparent, k) => stream.write(SequenceLookup.fromPartial({ requestId: k + 1, traceparent, request: req(`t-${k}`) })));
    await waitFor(() => results.length >= hostile.length);
    expect(results.map((r) => [r.requestId, r.status?.code]).sort()).toEqual(hostile.map((_, k) => [k + 1, status.OK]));
    stream.end();
    expect(await ended).toBe(status.OK);
  });

  it('ends the stream with INVALID_ARGUMENT on a message that is not a lookup, after answering those in flight', async () => {
    const raw = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
    try {
      const call = raw.makeBidiStreamRequest(FeatureServerService.streamRealtimeSequences.path, (b: Buffer) => b, (b: Buffer) => SequenceLookupResult.decode(b), new Metadata(), { deadline: Date.now() + 5_000 });
      const results: SequenceLookupResult[] = [];
      call.on('data', (r: SequenceLookupResult) => results.push(r));
      const ended = new Promise<{ code: number; details: string }>((resolve) => call.on('status', resolve));
      call.on('error', () => undefined);
      call.write(Buffer.from(SequenceLookup.encode(SequenceLookup.fromPartial({ requestId: 1, request: req('slow-60') })).finish()));
      // Field 1 as a 5-byte string with 2 bytes left: truncated, not decodable.
      call.write(Buffer.from([0x0a, 0x05, 1, 2]));
      const end = await ended;
      expect(end.code).toBe(status.INVALID_ARGUMENT);
      expect(results).toEqual([expect.objectContaining({ requestId: 1, status: { code: status.OK, message: '' } })]);
    } finally {
      raw.close();
    }
  });

  it('a client that cancels its stream: the requests in flight are aborted at once, and the server logs no error for it', async () => {
    const { stream } = rawStream();
    stream.write(SequenceLookup.fromPartial({ requestId: 1, timeoutMs: 10_000, request: req('slow-8000-gone') }));
    await sleep(50); // the request is running
    const before = lines().length;
    stream.cancel();
    await waitFor(() => aborted.includes('slow-8000-gone'));
    await sleep(50);
    const errors = lines()
      .slice(before)
      .filter((l) => (l.level as number) >= 50);
    expect(errors).toEqual([]);
  });

  it('refuses here, as unavailable, past its own cap, so the caller can use the unary call', async () => {
    const l = lookupClient({ maxInFlight: 2 });
    const first = [l.call(req('slow-50'), { timeoutMs: 2_000 }), l.call(req('slow-51'), { timeoutMs: 2_000 })];
    const third = l.call(req('quick'), { timeoutMs: 2_000 });
    await expect(third).rejects.toBeInstanceOf(LookupStreamUnavailable);
    await expect(third).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('at most 2') });
    await Promise.all(first);
  });

  it('sends a cancel message for a request its caller cancels, on that request’s stream while it is open, and none on a stream it has retired', async () => {
    const sent: number[] = [];
    const l = lookupClient({
      maxStreamAgeMs: 1,
      cancelMessage: (requestId) => {
        sent.push(requestId);
        return SequenceLookup.fromPartial({ requestId });
      },
    });
    const caller = (c: AbortController): CallContext => ({ deadline: undefined, signal: c.signal, otel: undefined }) as unknown as CallContext;
    const onOld = new AbortController();
    const onNew = new AbortController();
    const old = l.call(req('slow-2000-old'), { timeoutMs: 5_000, parent: caller(onOld) });
    await sleep(5);
    // Older than maxStreamAgeMs: this request opens a new stream and the old one is ended (it takes no more messages).
    const current = l.call(req('slow-2000-new'), { timeoutMs: 5_000, parent: caller(onNew) });
    onOld.abort();
    onNew.abort();
    await expect(old).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(current).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(sent).toEqual([2]);
    // A request that times out sends none: the server's own timeout ends it there.
    await expect(l.call(req('slow-2000-late'), { timeoutMs: 30 })).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(sent).toEqual([2]);
  });

  it('replaces an old stream without failing the requests on it', async () => {
    const l = lookupClient({ maxStreamAgeMs: 1 });
    const onOld = l.call(req('slow-80'), { timeoutMs: 2_000 });
    await sleep(5);
    const onNew = l.call(req('quick'), { timeoutMs: 2_000 });
    await expect(Promise.all([onOld, onNew])).resolves.toHaveLength(2);
  });

  it('ends its streams when the server drains: the request in flight is answered and the shutdown does not wait out its timeout', async () => {
    const draining = await streamOnlyServer('draining', 15_000);
    const c = createClient(FeatureServerClient, `127.0.0.1:${draining.port}`);
    const l = lookupClient({}, c);
    try {
      await expect(l.call(req('quick'), { timeoutMs: 2_000 })).resolves.toMatchObject({ userId: 'quick' });
      const inFlight = l.call(req('slow-300'), { timeoutMs: 5_000 });
      await sleep(20);
      const started = Date.now();
      await draining.shutdown();
      // Without the drain, the open stream held the shutdown for its whole 15 s timeout, then was cancelled.
      expect(Date.now() - started).toBeLessThan(3_000);
      await expect(inFlight).resolves.toMatchObject({ userId: 'slow-300' });
      expect(aborted).not.toContain('slow-300');
    } finally {
      c.close();
    }
  });

  it('fails requests in flight as unavailable when the stream dies, and refuses for a while before reopening', async () => {
    const other = await streamOnlyServer('doomed', 50);
    const c = createClient(FeatureServerClient, `127.0.0.1:${other.port}`);
    const l = lookupClient({ reopenAfterMs: 60_000 }, c);
    try {
      await expect(l.call(req('quick'), { timeoutMs: 2_000 })).resolves.toMatchObject({ userId: 'quick' });
      const inFlight = l.call(req('slow-10000'), { timeoutMs: 20_000 });
      await sleep(20);
      await other.shutdown();
      await expect(inFlight).rejects.toBeInstanceOf(LookupStreamUnavailable);
      await expect(l.call(req('quick'), { timeoutMs: 2_000 })).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('down') });
    } finally {
      c.close();
    }
  });

  it('traces each request: a CLIENT span per request (naming the server), and a SERVER span under it named as the unary method; the stream is no part of the trace', async () => {
    const l = lookupClient({ target: `127.0.0.1:${server.port}` });
    await trace.getTracer('test').startActiveSpan('root', async (root) => {
      try {
        await Promise.all([l.call(req('t1'), { timeoutMs: 2_000 }), l.call(req('t2'), { timeoutMs: 2_000 })]);
      } finally {
        root.end();
      }
    });
    await waitFor(() => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER && s.name.endsWith('GetRealtimeSequence')).length >= 2);
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'root')!;
    const clientsUnderRoot = spans.filter((s) => s.kind === SpanKind.CLIENT && s.parentSpanContext?.spanId === root.spanContext().spanId);
    expect(clientsUnderRoot).toHaveLength(2);
    for (const c of clientsUnderRoot) {
      const servers = spans.filter((s) => s.kind === SpanKind.SERVER && s.parentSpanContext?.spanId === c.spanContext().spanId);
      expect(servers.map((s) => s.name)).toEqual(['pinrank.v1.FeatureServer/GetRealtimeSequence']);
      expect(servers[0]!.attributes['pinrank.rpc.stream']).toBe('/pinrank.v1.FeatureServer/StreamRealtimeSequences');
      expect(servers[0]!.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(c.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': server.port, 'pinrank.rpc.stream': true });
    }
    // The stream itself, opened by the first request, ends in a trace of its own.
    l.close();
    await waitFor(() => exporter.getFinishedSpans().some((s) => s.name.endsWith('StreamRealtimeSequences')));
    const streamSpans = exporter.getFinishedSpans().filter((s) => s.name.endsWith('StreamRealtimeSequences'));
    for (const s of streamSpans) expect(s.spanContext().traceId).not.toBe(root.spanContext().traceId);
  });
});
