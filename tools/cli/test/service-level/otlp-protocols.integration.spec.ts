// The other two OTLP transports, through the standard variables, from a real
// service process: OTEL_EXPORTER_OTLP_PROTOCOL=grpc and =http/protobuf each
// reach a real receiver (a grpc-js server and an HTTP server in this process
// that keep the raw protobuf bodies). http/json is covered, span tree and all,
// by stack.integration.spec.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Server as GrpcServer, ServerCredentials, type ServiceDefinition, type handleUnaryCall } from '@grpc/grpc-js';
import { EmbeddingStoreClient, ListSnapshotsRequest } from '@pinrank/proto';
import { withEphemeralPorts } from '../../src/stack/ephemeral-ports';
import { ManagedProcess, type ServiceSpec } from '../../src/stack/managed-process';
import { call } from './grpc-call';
import { REPO_ROOT } from './stack-fixture';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const SPAN_NAME = 'pinrank.v1.EmbeddingStore/ListSnapshots';

interface Received {
  contentType: string;
  body: Buffer;
}

const grpcBodies: Received[] = [];
const httpBodies: Received[] = [];
let grpcServer: GrpcServer;
let httpServer: HttpServer;
let dir: string;
const processes: ManagedProcess[] = [];

// `slot` gives each spec its own placeholder ports, which withEphemeralPorts replaces.
function embeddingStoreSpec(name: string, slot: number, otel: Record<string, string>): ServiceSpec {
  const grpc = `127.0.0.1:${2 * slot + 1}`;
  const metrics = `127.0.0.1:${2 * slot + 2}`;
  return {
    name,
    app: 'embedding-store',
    args: [],
    address: grpc,
    metricsAddress: metrics,
    fromSource: true,
    env: {
      EMBEDDING_STORE_ADDR: grpc,
      EMBEDDING_STORE_METRICS_ADDR: metrics,
      EMBEDDING_STORE_BACKEND: 'lmdb',
      EMBEDDING_STORE_LMDB_PATH: join(dir, name),
      TSX_TSCONFIG_PATH: join(REPO_ROOT, 'tsconfig.base.json'),
      LOG_LEVEL: 'warn',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      ...otel,
    },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinrank-otlp-protocols-'));
  grpcServer = new GrpcServer();
  const identity = (b: Buffer): Buffer => b;
  const definition: ServiceDefinition = {
    Export: { path: EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  };
  const exportHandler: handleUnaryCall<Buffer, Buffer> = (c, cb) => {
    grpcBodies.push({ contentType: String(c.metadata.get('content-type')[0] ?? 'application/grpc'), body: c.request });
    cb(null, Buffer.alloc(0)); // an empty ExportTraceServiceResponse
  };
  grpcServer.addService(definition, { Export: exportHandler });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  httpServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') httpBodies.push({ contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      res.writeHead(req.url === '/v1/traces' ? 200 : 404, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  const httpPort = await new Promise<number>((resolve) =>
    httpServer.listen(0, '127.0.0.1', () => resolve((httpServer.address() as { port: number }).port)),
  );
  const specs = await withEphemeralPorts(
    [
      embeddingStoreSpec('es-grpc', 0, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${grpcPort}` }),
      embeddingStoreSpec('es-protobuf', 1, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${httpPort}` }),
    ],
    '127.0.0.1',
  );
  const tails = new Map<string, string[]>();
  for (const s of specs) processes.push(new ManagedProcess(s, REPO_ROOT, (n, l) => tails.set(n, [...(tails.get(n) ?? []), l].slice(-30))));
  await Promise.all(processes.map((p) => p.waitServing(240_000).catch((err: Error) => Promise.reject(new Error(`${err.message}\n${(tails.get(p.spec.name) ?? []).join('\n')}`)))));
}, 300_000);

afterAll(async () => {
  for (const p of processes) await p.stop(15_000);
  grpcServer?.forceShutdown();
  httpServer?.closeAllConnections();
  await new Promise<void>((resolve) => (httpServer ? httpServer.close(() => resolve()) : resolve()));
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

async function waitForBody(bodies: Received[], what: string): Promise<Received> {
  const needle = Buffer.from(SPAN_NAME);
  const until = Date.now() + 30_000;
  for (;;) {
    const hit = bodies.find((b) => b.body.includes(needle));
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`${what}: no export carrying ${SPAN_NAME} within 30 s (${bodies.length} bodies)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it.each([
  ['grpc', 'es-grpc', grpcBodies],
  ['http/protobuf', 'es-protobuf', httpBodies],
] as const)('OTEL_EXPORTER_OTLP_PROTOCOL=%s delivers the server span to the collector', async (protocol, name, bodies) => {
  const p = processes.find((x) => x.spec.name === name) as ManagedProcess;
  const client = new EmbeddingStoreClient(p.spec.address, credentials.createInsecure());
  try {
    await call(client.listSnapshots.bind(client), ListSnapshotsRequest.fromPartial({}));
  } finally {
    client.close();
  }
  const got = await waitForBody(bodies, protocol);
  // Protobuf, not JSON: strings appear verbatim, and the body is not a JSON document.
  expect(got.body[0]).not.toBe('{'.charCodeAt(0));
  expect(got.body.includes(Buffer.from('embedding-store'))).toBe(true);
  if (protocol === 'http/protobuf') expect(got.contentType).toBe('application/x-protobuf');
}, 60_000);
