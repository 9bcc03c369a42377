// Per-call floor of the service kit (docs/benchmarks.md, "service kit"): a trivial
// unary call (GetRealtimeSequence answered with the request's user id, ~20 bytes each
// way) through startServer + createClient/callUnary vs a bare grpc-js Server and
// generated client on loopback, same process, same run. Three phases, each with its
// own bare baseline: plaintext; mutual TLS (both sides); tracing on (a registered
// tracer provider recording every span into a batch processor). Per phase: sequential
// latency (paths interleaved call by call) and throughput with 16 calls in flight
// (paths alternate in short blocks), plus CPU time per call. Both sides set a deadline.
// A last phase puts the servers in another process (as every hop of a Rank is) and
// compares calls made back to back with calls made after the server sat idle for
// --idle-ms: what waking an idle process costs. Beside the two gRPC paths (and the
// kit on one side only, which side costs what) it runs the transports underneath, in the same child: a plain TCP echo and Node's own
// HTTP/2 (a gRPC-shaped exchange: one framed message, headers, data, trailers),
// so the cost of waking a process is told apart from the cost of the stack it runs;
// and the same answer as a message on a long-lived bidirectional gRPC stream (no
// new HTTP/2 stream, headers or trailers per request), beside the same on a bare
// HTTP/2 stream (what that costs without grpc-js); the kit's lookup stream also
// runs with the kit on one side only. --cross-only runs only that phase.
//   npm run bench service-kit [-- --calls 3000 --seconds 1.5 --rounds 4 --idle-calls 300 --idle-ms 20 --cross-only --smoke --built]
import { fork } from 'node:child_process';
import { connect as http2Connect, createServer as createHttp2Server, type ServerHttp2Stream } from 'node:http2';
import { connect as tcpConnect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials, makeGenericClientConstructor, Metadata, Server, ServerCredentials, type ChannelCredentials, type ClientDuplexStream, type ServerDuplexStream, type ServerUnaryCall, type ServiceDefinition, type sendUnaryData } from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { FeatureServerClient, FeatureServerService, GetRealtimeSequenceRequest, RealtimeSequence, type SequenceLookup, type SequenceLookupResult } from '@pinrank/proto';
import { RpcMetrics, startTracing } from '@pinrank/telemetry';
import { build } from 'hdr-histogram-js';
import pino from 'pino';
import { callUnary, createClient } from '../src/client';
import { ensureLocalPki, type LocalPki } from '../src/pki/local-pki';
import { startServer } from '../src/server';
import { defineService } from '../src/service';
import { LookupStreamClient } from '../src/lookup-client';
import { lookupStream } from '../src/lookup-stream';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '1.5' },
    rounds: { type: 'string', default: '4' },
    inflight: { type: 'string', default: '16' },
    'idle-calls': { type: 'string', default: '300' },
    'idle-ms': { type: 'string', default: '20' },
    serve: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    // Only the phase with the servers in another process (what the lookup streams are measured by).
    'cross-only': { type: 'boolean', default: false },
  },
});
const SMOKE = args.smoke === true;
const CALLS = SMOKE ? 50 : Number(args.calls);
const BLOCK_S = SMOKE ? 0.1 : Number(args.seconds) / 2;
const ROUNDS = SMOKE ? 1 : Number(args.rounds);
const INFLIGHT = Number(args.inflight);
const IDLE_CALLS = SMOKE ? 10 : Number(args['idle-calls']);
const IDLE_MS = Number(args['idle-ms']);
const TIMEOUT_MS = 10_000;

type Call = (userId: string) => Promise<void>;
interface Path {
  name: string;
  call: Call;
  close(): Promise<void>;
}

function check(res: RealtimeSequence, userId: string): void {
  if (res.userId !== userId) throw new Error(`wrong answer: "${res.userId}" for "${userId}"`);
}

const metrics = new RpcMetrics({ processMetrics: false });
const answer = (req: GetRealtimeSequenceRequest): RealtimeSequence => RealtimeSequence.fromPartial({ userId: req.userId });

interface Tls {
  pki: LocalPki;
}

interface Endpoint {
  port: number;
  close(): Promise<void>;
}

/** The path of the HTTP/2 echo's long-lived stream (every other path is the unary-shaped echo). */
const STREAM_ECHO_PATH = '/bench.Echo/Stream';

/** The same exchange as a bidirectional stream: each request message answered by one response message, in order. */
const STREAMED: ServiceDefinition = {
  answerEach: {
    path: '/pinrank.bench.Streamed/AnswerEach',
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: GetRealtimeSequenceRequest) => Buffer.from(GetRealtimeSequenceRequest.encode(m).finish()),
    requestDeserialize: (b: Buffer) => GetRealtimeSequenceRequest.decode(b),
    responseSerialize: (m: RealtimeSequence) => Buffer.from(RealtimeSequence.encode(m).finish()),
    responseDeserialize: (b: Buffer) => RealtimeSequence.decode(b),
  },
};

/** A bare grpc-js server: the floor (and the streamed form of the same answer). */
async function bareServer(tls?: Tls): Promise<Endpoint> {
  const server = new Server();
  server.addService(FeatureServerService, {
    getRealtimeSequence: (call: ServerUnaryCall<GetRealtimeSequenceRequest, RealtimeSequence>, cb: sendUnaryData<RealtimeSequence>) => cb(null, answer(call.request)),
    // The kit's lookup envelope answered bare: what LookupStreamClient costs on its own.
    streamRealtimeSequences: (call: ServerDuplexStream<SequenceLookup, SequenceLookupResult>) => {
      call.on('data', (m: SequenceLookup) => call.write({ requestId: m.requestId, status: { code: 0, message: '' }, sequence: answer(m.request as GetRealtimeSequenceRequest) }));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  server.addService(STREAMED, {
    answerEach: (call: ServerDuplexStream<GetRealtimeSequenceRequest, RealtimeSequence>) => {
      call.on('data', (req: GetRealtimeSequenceRequest) => call.write(answer(req)));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  let creds = ServerCredentials.createInsecure();
  if (tls) {
    const s = tls.pki.files('bench-server');
    creds = ServerCredentials.createSsl(readFileSync(tls.pki.caFile), [{ cert_chain: readFileSync(s.certFile), private_key: readFileSync(s.keyFile) }], true);
  }
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  return { port, close: async () => server.forceShutdown() };
}

/** The same service through startServer. */
async function kitServer(tls?: Tls): Promise<Endpoint> {
  const server = await startServer({
    name: 'service-kit-bench',
    address: '127.0.0.1:0',
    signals: [],
    logger: pino({ level: 'info' }, pino.destination('/dev/null')),
    metrics,
    services: [
      defineService(FeatureServerService, {
        getRealtimeSequence: async (req) => answer(req),
        // The kit's streamed form of the same answer: each request its own span, deadline, metrics and status.
        streamRealtimeSequences: lookupStream({
          unary: FeatureServerService.getRealtimeSequence,
          handle: async (req: GetRealtimeSequenceRequest) => answer(req),
          result: (requestId, status, sequence): SequenceLookupResult => ({ requestId, status, sequence }),
        }),
      }),
    ],
    ...(tls ? { tls: { ...tls.pki.files('bench-server'), clientCaFile: tls.pki.caFile } } : {}),
  });
  return { port: server.port, close: () => server.shutdown() };
}

/** A bare generated client, deadline set. */
function bareClient(port: number, tls?: Tls): { call: Call; close(): void } {
  let creds: ChannelCredentials = credentials.createInsecure();
  if (tls) {
    const c = tls.pki.files('bench-client');
    creds = credentials.createSsl(readFileSync(tls.pki.caFile), readFileSync(c.keyFile), readFileSync(c.certFile));
  }
  const client = new FeatureServerClient(`127.0.0.1:${port}`, creds, tls ? { 'grpc.ssl_target_name_override': 'localhost' } : {});
  const call: Call = (userId) =>
    new Promise<void>((resolve, reject) => {
      client.getRealtimeSequence(GetRealtimeSequenceRequest.fromPartial({ userId, maxLen: 1 }), new Metadata(), { deadline: Date.now() + TIMEOUT_MS }, (err, res) => {
        if (err) return reject(err);
        check(res, userId);
        resolve();
      });
    });
  return { call, close: () => client.close() };
}

/** createClient + callUnary, client metrics on as in the apps. */
function kitClient(port: number, tls?: Tls): { call: Call; close(): void } {
  const client = createClient(FeatureServerClient, `127.0.0.1:${port}`, {
    metrics,
    ...(tls ? { tls: { caFile: tls.pki.caFile, serverNameOverride: 'localhost', ...tls.pki.files('bench-client') } } : {}),
  });
  const method = client.getRealtimeSequence.bind(client);
  const call: Call = async (userId) => check(await callUnary(method, GetRealtimeSequenceRequest.fromPartial({ userId, maxLen: 1 }), { timeoutMs: TIMEOUT_MS }), userId);
  return { call, close: () => client.close() };
}

/** The kit's lookup stream (LookupStreamClient over the kit's client) to {@link kitServer}. */
function kitStreamedClient(port: number): { call: Call; close(): void } {
  const client = createClient(FeatureServerClient, `127.0.0.1:${port}`, { metrics });
  const lookups = new LookupStreamClient<GetRealtimeSequenceRequest, RealtimeSequence, SequenceLookup, SequenceLookupResult>({
    unary: FeatureServerService.getRealtimeSequence,
    upstream: 'bench server',
    open: (md, o) => client.streamRealtimeSequences(md, o),
    parts: (out) => ({ requestId: out.requestId, status: out.status, response: out.sequence }),
    metrics,
  });
  const call: Call = async (userId) => check(await lookups.call(GetRealtimeSequenceRequest.fromPartial({ userId, maxLen: 1 }), { timeoutMs: TIMEOUT_MS }), userId);
  return {
    call,
    close: () => {
      lookups.close();
      client.close();
    },
  };
}

async function path(name: string, server: (tls?: Tls) => Promise<Endpoint>, client: typeof bareClient, tls?: Tls): Promise<Path> {
  const s = await server(tls);
  const c = client(s.port, tls);
  return {
    name,
    call: c.call,
    close: async () => {
      c.close();
      await s.close();
    },
  };
}

interface Row {
  name: string;
  p50: number;
  p99: number;
  cpuUsPerCall: number;
  callsPerS: number;
}

async function measure(paths: Path[]): Promise<Row[]> {
  // Warm-up: connections, JIT.
  for (let i = 0; i < Math.max(20, CALLS / 10); i++) for (const p of paths) await p.call(`w${i}`);
  const hist = paths.map(() => build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 }));
  for (let i = 0; i < CALLS; i++) {
    const order = i % 2 === 0 ? paths.map((_, k) => k) : paths.map((_, k) => paths.length - 1 - k);
    for (const k of order) {
      const p = paths[k] as Path;
      const t = performance.now();
      await p.call(`u${i}`);
      hist[k]?.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
    }
  }
  // Throughput: INFLIGHT callers for BLOCK_S per path, paths alternating, ROUNDS rounds.
  const done = paths.map(() => 0);
  const spent = paths.map(() => 0);
  const cpu = paths.map(() => 0);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? paths.map((_, k) => k) : paths.map((_, k) => paths.length - 1 - k);
    for (const k of order) {
      const p = paths[k] as Path;
      const end = performance.now() + BLOCK_S * 1000;
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      let n = 0;
      await Promise.all(
        Array.from({ length: INFLIGHT }, async (_, w) => {
          while (performance.now() < end) {
            await p.call(`c${w}`);
            n++;
          }
        }),
      );
      const c = process.cpuUsage(c0);
      cpu[k] = (cpu[k] ?? 0) + c.user + c.system;
      done[k] = (done[k] ?? 0) + n;
      spent[k] = (spent[k] ?? 0) + (performance.now() - t0) / 1000;
    }
  }
  return paths.map((p, k) => ({
    name: p.name,
    p50: (hist[k]?.getValueAtPercentile(50) ?? NaN) / 1000,
    p99: (hist[k]?.getValueAtPercentile(99) ?? NaN) / 1000,
    cpuUsPerCall: (cpu[k] ?? 0) / Math.max(1, done[k] ?? 0),
    callsPerS: (done[k] ?? 0) / (spent[k] ?? 1),
  }));
}

/** A TCP server that writes back every chunk it reads: the transport's own floor. */
async function tcpEchoServer(): Promise<Endpoint> {
  const server = createTcpServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Node's HTTP/2 without grpc-js, answering a gRPC-shaped request the way a gRPC server does: headers, the message, trailers. */
async function http2EchoServer(): Promise<Endpoint> {
  const server = createHttp2Server();
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    if (headers[':path'] === STREAM_ECHO_PATH) {
      // One long-lived stream: every chunk is written straight back (the client sends one framed message at a time).
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.on('data', (c: Buffer) => stream.write(c));
      stream.on('end', () => stream.end());
      stream.on('error', () => undefined);
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** One long-lived stream to {@link STREAMED}: a call is one message out and the next message back (calls are sequential). */
function streamedClient(port: number): { call: Call; close(): void } {
  const Ctor = makeGenericClientConstructor(STREAMED, 'Streamed');
  const client = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure());
  const stream = (client as unknown as { answerEach(): ClientDuplexStream<GetRealtimeSequenceRequest, RealtimeSequence> }).answerEach();
  const waiting: Array<(res: RealtimeSequence) => void> = [];
  stream.on('data', (res: RealtimeSequence) => waiting.shift()?.(res));
  stream.on('error', () => undefined); // the child going away at the end
  const call: Call = (userId) =>
    new Promise<void>((resolve, reject) => {
      waiting.push((res) => {
        try {
          check(res, userId);
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      });
      stream.write(GetRealtimeSequenceRequest.fromPartial({ userId, maxLen: 1 }));
    });
  return {
    call,
    close: () => {
      stream.end();
      client.close();
    },
  };
}

/** A bare grpc-js stream of lookup envelopes to a lookup stream (the kit's server, or the bare one): one request in flight at a time. */
function bareLookupStreamClient(port: number): { call: Call; close(): void } {
  const client = new FeatureServerClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const stream = client.streamRealtimeSequences();
  const waiting: Array<(res: SequenceLookupResult) => void> = [];
  stream.on('data', (res: SequenceLookupResult) => waiting.shift()?.(res));
  stream.on('error', () => undefined); // the child going away at the end
  let id = 0;
  const call: Call = (userId) =>
    new Promise<void>((resolve, reject) => {
      waiting.push((res) => {
        try {
          if (res.status?.code !== 0 || !res.sequence) throw new Error(`lookup ${res.requestId} failed: ${res.status?.message}`);
          check(res.sequence, userId);
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      });
      stream.write({ requestId: ++id, timeoutMs: TIMEOUT_MS, traceparent: '', request: GetRealtimeSequenceRequest.fromPartial({ userId, maxLen: 1 }) });
    });
  return {
    call,
    close: () => {
      stream.end();
      client.close();
    },
  };
}

/** A client of {@link tcpEchoServer}: one write, waits for the same bytes back. */
async function tcpEchoClient(port: number): Promise<{ call: Call; close(): void }> {
  const socket: Socket = tcpConnect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const call: Call = (userId) =>
    new Promise<void>((resolve, reject) => {
      const want = Buffer.from(userId);
      let got = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        got = Buffer.concat([got, chunk]);
        if (got.length < want.length) return;
        socket.off('data', onData);
        if (got.equals(want)) resolve();
        else reject(new Error(`tcp echo: wrong answer "${got.toString()}" for "${userId}"`));
      };
      socket.on('data', onData);
      socket.write(want);
    });
  return { call, close: () => socket.destroy() };
}

/** A client of {@link http2EchoServer}: a gRPC-framed message out, waits for it back and for the trailers. */
function http2EchoClient(port: number): { call: Call; close(): void } {
  const session = http2Connect(`http://127.0.0.1:${port}`);
  const call: Call = (userId) =>
    new Promise<void>((resolve, reject) => {
      const body = Buffer.from(userId);
      const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
      framed.writeUInt32BE(body.length, 1);
      const stream = session.request({ ':method': 'POST', ':path': '/bench.Echo/Echo', 'content-type': 'application/grpc', te: 'trailers' });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('trailers', (t) => (status = String(t['grpc-status'])));
      stream.on('error', reject);
      stream.on('close', () => {
        const got = Buffer.concat(chunks);
        if (status === '0' && got.equals(framed)) resolve();
        else reject(new Error(`http2 echo: status ${status}, ${got.length} bytes for ${framed.length}`));
      });
      stream.end(framed);
    });
  return { call, close: () => session.close() };
}

/** A client of {@link http2EchoServer}'s stream echo: one long-lived HTTP/2 stream, a gRPC-framed message out and the same bytes back per call. */
function http2StreamEchoClient(port: number): { call: Call; close(): void } {
  const session = http2Connect(`http://127.0.0.1:${port}`);
  const stream = session.request({ ':method': 'POST', ':path': STREAM_ECHO_PATH, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined); // the child going away at the end
  let pending: { want: Buffer; got: Buffer; resolve(): void; reject(err: Error): void } | undefined;
  stream.on('data', (c: Buffer) => {
    if (!pending) return;
    pending.got = Buffer.concat([pending.got, c]);
    if (pending.got.length < pending.want.length) return;
    const p = pending;
    pending = undefined;
    if (p.got.equals(p.want)) p.resolve();
    else p.reject(new Error(`http2 stream echo: ${p.got.length} bytes back for ${p.want.length}`));
  });
  const call: Call = (userId) =>
    new Promise<void>((resolve, reject) => {
      const body = Buffer.from(userId);
      const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
      framed.writeUInt32BE(body.length, 1);
      pending = { want: framed, got: Buffer.alloc(0), resolve, reject };
      stream.write(framed);
    });
  return {
    call,
    close: () => {
      stream.end();
      session.close();
    },
  };
}

/** In the child process (--serve): a bare and a kit server and the two transport echoes, their ports sent to the parent; runs until disconnected. */
async function serveForParent(): Promise<void> {
  const [bare, kit, tcp, h2] = [await bareServer(), await kitServer(), await tcpEchoServer(), await http2EchoServer()];
  process.send?.({ bare: bare.port, kit: kit.port, tcp: tcp.port, h2: h2.port });
  process.on('disconnect', () => {
    void Promise.all([bare.close(), kit.close(), tcp.close(), h2.close()]).finally(() => process.exit(0));
  });
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sequential calls to servers in another process, back to back and after `IDLE_MS` of idleness, paths interleaved call by call. */
async function crossProcessPhase(out: string[]): Promise<void> {
  const child = fork(process.argv[1] as string, ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ports = await new Promise<{ bare: number; kit: number; tcp: number; h2: number }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { bare: number; kit: number; tcp: number; h2: number }));
      child.once('exit', (code) => reject(new Error(`server process exited (code ${code})`)));
    });
    const clients = [
      { name: 'bare grpc-js (baseline)', ...bareClient(ports.bare) },
      { name: 'service kit', ...kitClient(ports.kit) },
      { name: 'kit server, bare client', ...bareClient(ports.kit) },
      { name: 'bare server, kit client', ...kitClient(ports.bare) },
      { name: 'bare grpc-js, a message on an open bidirectional stream', ...streamedClient(ports.bare) },
      { name: 'service kit, a lookup stream (lookupStream + LookupStreamClient)', ...kitStreamedClient(ports.kit) },
      { name: 'lookupStream server, bare stream client', ...bareLookupStreamClient(ports.kit) },
      { name: 'bare stream server, LookupStreamClient', ...kitStreamedClient(ports.bare) },
      { name: "Node's HTTP/2 alone (a gRPC-shaped echo, no grpc-js)", ...http2EchoClient(ports.h2) },
      { name: "Node's HTTP/2 alone, a framed message on an open stream (what grpc-js's stream runs on)", ...http2StreamEchoClient(ports.h2) },
      { name: 'TCP echo (no HTTP/2)', ...(await tcpEchoClient(ports.tcp)) },
    ];
    try {
      for (let i = 0; i < Math.max(20, CALLS / 10); i++) for (const c of clients) await c.call(`w${i}`);
      const run = async (gapMs: number, calls: number): Promise<number[][]> => {
        const ms = clients.map((): number[] => []);
        for (let i = 0; i < calls; i++) {
          const order = i % 2 === 0 ? clients.map((_, k) => k) : clients.map((_, k) => clients.length - 1 - k);
          for (const k of order) {
            if (gapMs > 0) await pause(gapMs);
            const t = performance.now();
            await clients[k]!.call(`x${i}`);
            ms[k]!.push(performance.now() - t);
          }
        }
        return ms;
      };
      const hot = await run(0, Math.min(CALLS, 1000));
      const idle = await run(IDLE_MS, IDLE_CALLS);
      const pct = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
      out.push(
        `servers in another process: ${Math.min(CALLS, 1000)} calls back to back, then ${IDLE_CALLS} each made after ${IDLE_MS} ms of idleness (paths interleaved):`,
        '',
        `| path | back to back p50 / p99 ms | after ${IDLE_MS} ms idle p50 / p99 ms | idle ÷ back to back (p50) | p50 vs bare, back to back / after idle |`,
        '|---|---|---|---|---|',
      );
      clients.forEach((c, k) => {
        const [h, i] = [hot[k]!, idle[k]!];
        out.push(
          `| ${c.name} | ${pct(h, 0.5).toFixed(3)} / ${pct(h, 0.99).toFixed(3)} | ${pct(i, 0.5).toFixed(3)} / ${pct(i, 0.99).toFixed(3)} | ${(pct(i, 0.5) / pct(h, 0.5)).toFixed(2)}× | ${(pct(h, 0.5) / pct(hot[0]!, 0.5)).toFixed(2)}× / ${(pct(i, 0.5) / pct(idle[0]!, 0.5)).toFixed(2)}× |`,
        );
      });
      const [bareStream, kitStream] = [clients.findIndex((c) => c.name.startsWith('bare grpc-js, a message')), clients.findIndex((c) => c.name.startsWith('service kit, a lookup'))];
      out.push(
        '',
        `Service kit lookup stream ÷ bare stream (p50): ${(pct(hot[kitStream]!, 0.5) / pct(hot[bareStream]!, 0.5)).toFixed(2)}× back to back, ${(pct(idle[kitStream]!, 0.5) / pct(idle[bareStream]!, 0.5)).toFixed(2)}× after idleness.`,
        '',
      );
    } finally {
      for (const c of clients) c.close();
    }
  } finally {
    child.disconnect();
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

/** Accepts spans and drops them: what the SDK costs without a collector's network time. */
class DiscardingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: (r: { code: ExportResultCode }) => void): void {
    this.spans += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

async function phase(title: string, make: () => Promise<Path[]>, out: string[]): Promise<void> {
  const paths = await make();
  try {
    const rows = await measure(paths);
    const base = rows[0] as Row;
    out.push(`${title}:`, '', `| path | p50 ms | p99 ms | p50 vs bare | calls/s at ${INFLIGHT} in flight | time per call vs bare (1 / throughput) | CPU µs per call (client + server) | CPU vs bare |`, '|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      out.push(
        `| ${r.name} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${(r.p50 / base.p50).toFixed(2)}× | ${r.callsPerS.toFixed(0)} | ${(base.callsPerS / r.callsPerS).toFixed(2)}× | ${r.cpuUsPerCall.toFixed(0)} | ${(r.cpuUsPerCall / base.cpuUsPerCall).toFixed(2)}× |`,
      );
    }
    out.push('');
  } finally {
    for (const p of paths) await p.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'service-kit-bench-'));
  const out: string[] = [
    `service kit vs bare grpc-js: ${CALLS} sequential calls per path (interleaved), then ${INFLIGHT} in flight for ${ROUNDS} × ${BLOCK_S} s blocks per path; node ${process.version}`,
    '',
  ];
  try {
    if (!args['cross-only']) await inProcessPhases(dir, out);
    await crossProcessPhase(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The three phases with client and servers in this process. */
async function inProcessPhases(dir: string, out: string[]): Promise<void> {
  const pki = ensureLocalPki({ dir, identities: [{ name: 'bench-server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, { name: 'bench-client' }] });
  await phase(
    'plaintext (and which side costs what: the kit on one side only)',
    async () => [
      await path('bare grpc-js (baseline)', bareServer, bareClient),
      await path('service kit', kitServer, kitClient),
      await path('kit server, bare client', kitServer, bareClient),
      await path('bare server, kit client', bareServer, kitClient),
    ],
    out,
  );
  await phase('mutual TLS', async () => [await path('bare grpc-js, mTLS (baseline)', bareServer, bareClient, { pki }), await path('service kit, mTLS', kitServer, kitClient, { pki })], out);
  // Tracing on: a registered provider (context manager, propagator) recording every span.
  const exporter = new DiscardingExporter();
  const tracing = startTracing({ serviceName: 'service-kit-bench', exporter: 'none', spanProcessors: [new BatchSpanProcessor(exporter)] });
  try {
    await phase('tracing on (every span recorded and exported)', async () => [await path('bare grpc-js (baseline)', bareServer, bareClient), await path('service kit, tracing on', kitServer, kitClient)], out);
    await tracing.forceFlush();
    if (exporter.spans === 0) throw new Error('tracing phase recorded no spans');
    out.push(`spans exported in the tracing phase: ${exporter.spans}`, '');
  } finally {
    await tracing.shutdown();
  }
}

(args.serve ? serveForParent() : main()).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
