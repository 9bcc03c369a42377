// Requests no well-behaved client sends: undecodable bytes, int64 values past
// 2^53, huge error messages. Each must get a client-error status, never
// INTERNAL, and never hang the call or break the channel.
import { join } from 'node:path';
import { Client, Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  FeatureServerClient,
  FeatureServerService,
  GetRealtimeSequenceRequest,
  IngestActionsRequest,
  IngestActionsResponse,
  RealtimeSequence,
  type IngestActionsResponse as IngestActionsResponseT,
} from '@pinrank/proto';
import { callUnary, createClient } from './client';
import { quote } from './client-input';
import { PinrankError } from './errors';
import { startServer, type RunningServer } from './server';
import { defineService } from './service';
import { captureLogger } from './test-helpers';

let server: RunningServer;
let client: FeatureServerClient;
let raw: Client;

beforeAll(async () => {
  server = await startServer({
    name: 'hostile-test',
    address: '127.0.0.1:0',
    services: [
      defineService(FeatureServerService, {
        getRealtimeSequence: async (req) => {
          // Echoes its input unbounded on purpose: the edge must cap the status.
          if (req.userId.startsWith('echo:')) throw new PinrankError('INVALID_ARGUMENT', `unknown user ${req.userId}`);
          return RealtimeSequence.fromPartial({ userId: req.userId, asOfMs: req.asOfMs });
        },
        ingestActions: async (requests) => {
          let accepted = 0;
          for await (const r of requests) accepted += r.actions.length;
          return IngestActionsResponse.fromPartial({ accepted });
        },
      }),
    ],
    signals: [],
    logger: captureLogger().logger,
    reflection: { protoRoot: join(__dirname, '..', '..', '..', 'proto') },
  });
  client = createClient(FeatureServerClient, `127.0.0.1:${server.port}`);
  raw = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  raw.close();
  await server.shutdown();
});

const PATH = '/pinrank.v1.FeatureServer/GetRealtimeSequence';

/** Sends `bytes` as the request body of `path`, bypassing any serializer. */
function rawUnary(path: string, bytes: Buffer): Promise<{ code: number; details: string }> {
  return new Promise((resolve) => {
    raw.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new Metadata(),
      { deadline: new Date(Date.now() + 10_000) },
      (err: ServiceError | null) => resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '' }),
    );
  });
}

/** A protobuf varint. */
function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

describe('hostile requests at the server edge', () => {
  it('answers INVALID_ARGUMENT (not INTERNAL) for an int64 beyond 2^53', async () => {
    // field 1 user_id "u", field 3 as_of_ms = 2^60
    const body = Buffer.from([0x0a, 1, 0x75, 0x18, ...varint(2n ** 60n)]);
    const res = await rawUnary(PATH, body);
    expect(res.code).toBe(status.INVALID_ARGUMENT);
    expect(res.details).toMatch(/GetRealtimeSequence could not be decoded: an integer field holds a value beyond ±2\^53/);
  });

  it.each([
    ['a truncated length-delimited field', Buffer.from([0x0a, 50, 0x75])],
    ['an invalid wire type', Buffer.from([0x0f, 0x01])],
    ['a varint longer than 10 bytes', Buffer.from([0x18, ...new Array<number>(12).fill(0xff), 0x01])],
    ['a group that is never closed', Buffer.from([0x0b])],
  ])('answers INVALID_ARGUMENT for %s', async (_what, body) => {
    const res = await rawUnary(PATH, body);
    expect(res.code).toBe(status.INVALID_ARGUMENT);
    expect(res.details).toMatch(/could not be decoded/);
  });

  it('ignores unknown fields and decodes the rest', async () => {
    const body = Buffer.from([0x0a, 1, 0x75, 0xf8, 0x07, 0x05]); // user_id "u", unknown field 127 = 5
    expect((await rawUnary(PATH, body)).code).toBe(status.OK);
  });

  it('answers INVALID_ARGUMENT when one message of a client stream is undecodable', async () => {
    const res = await new Promise<{ err: ServiceError | null; value?: IngestActionsResponseT }>((resolve) => {
      const stream = raw.makeClientStreamRequest(
        '/pinrank.v1.FeatureServer/IngestActions',
        (b: Buffer) => b,
        (b: Buffer) => IngestActionsResponse.decode(b),
        new Metadata(),
        { deadline: new Date(Date.now() + 10_000) },
        (err: ServiceError | null, value?: IngestActionsResponseT) => resolve({ err, value }),
      );
      stream.write(Buffer.from(IngestActionsRequest.encode(IngestActionsRequest.fromPartial({ actions: [{ actionId: 'a' }] })).finish()));
      stream.write(Buffer.from([0x0a, 0x7f, 0x01]));
      stream.end();
    });
    expect(res.err?.code).toBe(status.INVALID_ARGUMENT);
  });

  it('answers INVALID_ARGUMENT for undecodable health and reflection requests too', async () => {
    expect((await rawUnary('/grpc.health.v1.Health/Check', Buffer.from([0x0a, 0x7f]))).code).toBe(status.INVALID_ARGUMENT);
    const watch = await new Promise<number>((resolve) => {
      const call = raw.makeServerStreamRequest('/grpc.health.v1.Health/Watch', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0x7f]), new Metadata(), {
        deadline: new Date(Date.now() + 10_000),
      });
      call.on('data', () => undefined);
      call.on('error', (e: ServiceError) => resolve(e.code));
      call.on('status', (s: { code: number }) => resolve(s.code));
    });
    expect(watch).toBe(status.INVALID_ARGUMENT);
    const reflection = await new Promise<number>((resolve) => {
      const call = raw.makeBidiStreamRequest('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', (b: Buffer) => b, (b: Buffer) => b, new Metadata(), {
        deadline: new Date(Date.now() + 10_000),
      });
      call.on('data', () => undefined);
      call.on('error', (e: ServiceError) => resolve(e.code));
      call.on('status', (s: { code: number }) => resolve(s.code));
      call.write(Buffer.from([0xa7, 0x01]));
    });
    expect(reflection).toBe(status.INVALID_ARGUMENT);
    // A good request, a bad one, a good one: the handler's later writes must not keep the status from being sent.
    const mixed = await new Promise<number>((resolve) => {
      const call = raw.makeBidiStreamRequest('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', (b: Buffer) => b, (b: Buffer) => b, new Metadata(), {
        deadline: new Date(Date.now() + 10_000),
      });
      call.on('data', () => undefined);
      call.on('error', (e: ServiceError) => resolve(e.code));
      call.on('status', (s: { code: number }) => resolve(s.code));
      for (const m of [[0x3a, 0x00], [0xa7, 0x01], [0x3a, 0x00], [0x3a, 0x00]]) call.write(Buffer.from(m));
      call.end();
    });
    expect(mixed).toBe(status.INVALID_ARGUMENT);
  });

  it('health Check quotes at most 128 bytes of an unknown service name; the channel keeps working', async () => {
    const res = await rawUnary('/grpc.health.v1.Health/Check', Buffer.concat([Buffer.from([0x0a, 0xa0, 0x8d, 0x06]), Buffer.alloc(100_000, 0x73)]));
    expect(res.code).toBe(status.NOT_FOUND);
    expect(Buffer.byteLength(res.details)).toBeLessThan(300);
    expect((await rawUnary(PATH, Buffer.from([0x0a, 1, 0x75]))).code).toBe(status.OK);
  });

  it('caps a status message that embeds a huge client value, so the call ends and the channel keeps working', async () => {
    const userId = `echo:${'x'.repeat(200_000)}`;
    const err = await callUnary(client.getRealtimeSequence.bind(client), GetRealtimeSequenceRequest.fromPartial({ userId }), {
      timeoutMs: 10_000,
      retry: false,
    }).catch((e: unknown) => e as PinrankError);
    expect(err).toBeInstanceOf(PinrankError);
    expect((err as PinrankError).code).toBe('INVALID_ARGUMENT');
    expect(Buffer.byteLength((err as PinrankError).message)).toBeLessThan(4096);
    // The same channel answers the next call at once.
    const ok = await callUnary(client.getRealtimeSequence.bind(client), GetRealtimeSequenceRequest.fromPartial({ userId: 'u2' }), { timeoutMs: 5_000 });
    expect(ok.userId).toBe('u2');
  });

  it('quote() keeps an echoed value short enough for any message', () => {
    expect(quote(`echo:${'x'.repeat(200_000)}`).length).toBeLessThan(200);
  });
});
