import { Client, credentials, type ServiceError } from '@grpc/grpc-js';
import { PinrankError } from './errors';
import { startServer, type RunningServer } from './server';
import { defineService } from './service';
import { captureLogger } from './test-helpers';

// A hand-written definition in the ts-proto shape, with numbers as 4-byte payloads.
const u32 = {
  serialize: (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  },
  deserialize: (b: Buffer): number => b.readUInt32BE(0),
};
const method = <Q extends boolean, R extends boolean>(name: string, requestStream: Q, responseStream: R) => ({
  path: `/test.Counter/${name}`,
  requestStream,
  responseStream,
  requestSerialize: u32.serialize,
  requestDeserialize: u32.deserialize,
  responseSerialize: u32.serialize,
  responseDeserialize: u32.deserialize,
});
const CounterService = { countTo: method('CountTo', false, true), echoDoubled: method('EchoDoubled', true, true) };

let server: RunningServer;
let client: Client;
beforeAll(async () => {
  server = await startServer({
    name: 'streaming-test',
    address: '127.0.0.1:0',
    signals: [],
    logger: captureLogger().logger,
    services: [
      defineService(CounterService, {
        countTo: async function* (n) {
          for (let i = 1; i <= n; i++) {
            if (i === 4 && n === 13) throw new PinrankError('OUT_OF_RANGE', 'unlucky');
            yield i;
          }
        },
        echoDoubled: async function* (requests) {
          for await (const r of requests) yield r * 2;
        },
      }),
    ],
  });
  client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await server.shutdown();
});

function collect(stream: NodeJS.EventEmitter): Promise<{ values: number[]; error?: ServiceError }> {
  const values: number[] = [];
  return new Promise((resolve) => {
    stream.on('data', (v: number) => values.push(v));
    stream.on('error', (error: ServiceError) => resolve({ values, error }));
    stream.on('end', () => resolve({ values }));
  });
}

describe('streaming handlers', () => {
  it('server-streaming: an async generator streams every value, and a PinrankError ends the stream with its code', async () => {
    const ok = await collect(client.makeServerStreamRequest('/test.Counter/CountTo', u32.serialize, u32.deserialize, 5));
    expect(ok).toEqual({ values: [1, 2, 3, 4, 5] });
    const failed = await collect(client.makeServerStreamRequest('/test.Counter/CountTo', u32.serialize, u32.deserialize, 13));
    expect(failed.values).toEqual([1, 2, 3]);
    expect(failed.error).toMatchObject({ code: 11, details: 'unlucky' });
  });

  it('bidi-streaming: requests arrive as an async iterable', async () => {
    const stream = client.makeBidiStreamRequest('/test.Counter/EchoDoubled', u32.serialize, u32.deserialize);
    const result = collect(stream);
    for (const n of [1, 2, 3]) stream.write(n);
    stream.end();
    expect(await result).toEqual({ values: [2, 4, 6] });
  });
});
