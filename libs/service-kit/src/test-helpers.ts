// Helpers shared by this library's integration tests (not exported).
import { Writable } from 'node:stream';
import { loadPackageDefinition, credentials, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import pino, { type Logger } from 'pino';

/** A silent-by-default logger that keeps its JSON lines for assertions. */
export function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, dest);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

type ReflectionReply = {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_message: string };
};

/** Sends one grpc.reflection.v1 request (as grpcurl would) and returns the reply. */
async function reflect(address: string, request: Record<string, string>): Promise<ReflectionReply> {
  const def = loadSync(require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto'), { keepCase: true });
  type Stream = {
    on(ev: 'data', f: (m: ReflectionReply) => void): void;
    on(ev: 'error', f: (e: ServiceError) => void): void;
    write(m: unknown): void;
    end(): void;
  };
  const pkg = loadPackageDefinition(def) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => { ServerReflectionInfo(): Stream; close(): void } } } };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
  try {
    return await new Promise<ReflectionReply>((resolve, reject) => {
      const stream = client.ServerReflectionInfo();
      stream.on('data', (m) => {
        resolve(m);
        stream.end();
      });
      stream.on('error', reject);
      stream.write(request);
    });
  } finally {
    client.close();
  }
}

/** Lists services through grpc.reflection.v1. */
export async function reflectServices(address: string): Promise<string[]> {
  const reply = await reflect(address, { list_services: '' });
  return (reply.list_services_response?.service ?? []).map((s) => s.name).sort();
}

/** The encoded file descriptors reflection returns for a symbol (empty on error). */
export async function reflectSymbolFiles(address: string, symbol: string): Promise<Buffer[]> {
  const reply = await reflect(address, { file_containing_symbol: symbol });
  return reply.file_descriptor_response?.file_descriptor_proto ?? [];
}

/** A promise and the function that resolves it. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
