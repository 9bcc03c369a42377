// The bare-gRPC floors of a sequence read (feature-server-bench.ts): a bare grpc-js
// server answering every GetRealtimeSequence, and every message of a
// StreamRealtimeSequences stream, with one prebuilt answer, and a bare generated
// client. Transport and codec of the same bytes, no read and no service kit; the
// server writes its answers with the single-copy serializers the feature-server
// uses (FeatureServerServiceRaw), so the floor and the served read encode alike.
// The server runs in the bench process or, through bare-floor-process.ts, in its own.
import { credentials, Metadata, Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { FeatureServerClient, FeatureServerServiceRaw, GetRealtimeSequenceRequest, SequenceLookup, type RealtimeSequence, type SequenceLookupResult } from '@pinrank/proto';

/** A bare server answering `answer` to everything, on a loopback port of the system's choice. */
export async function startBareServer(answer: RealtimeSequence): Promise<{ port: number; stop(): void }> {
  const server = new Server();
  server.addService(FeatureServerServiceRaw, {
    getRealtimeSequence: (_call: unknown, cb: (err: null, res: RealtimeSequence) => void) => cb(null, answer),
    streamRealtimeSequences: (call: ServerDuplexStream<SequenceLookup, SequenceLookupResult>) => {
      call.on('data', (m: SequenceLookup) => call.write({ requestId: m.requestId, status: { code: 0, message: '' }, sequence: answer }));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { port, stop: () => server.forceShutdown() };
}

/** A bare client of such a server: a unary read and a read as a message on one open stream; both check the answer's length. */
export function bareClient(address: string, userId: string, asOfMs: number): { read: () => Promise<void>; streamRead: () => Promise<void>; close(): void } {
  const client = new FeatureServerClient(address, credentials.createInsecure());
  const stream = client.streamRealtimeSequences();
  const waiting = new Map<number, (r: SequenceLookupResult) => void>();
  stream.on('data', (r: SequenceLookupResult) => waiting.get(r.requestId)?.(r));
  stream.on('error', () => undefined);
  let nextId = 1;
  return {
    streamRead: () =>
      new Promise<void>((res, rej) => {
        const id = nextId++;
        waiting.set(id, (r) => {
          waiting.delete(id);
          if (r.sequence?.length === 100) res();
          else rej(new Error('bench: stream floor answered short'));
        });
        stream.write(SequenceLookup.fromPartial({ requestId: id, timeoutMs: 10_000, request: { userId, maxLen: 100, asOfMs } }));
      }),
    read: () =>
      new Promise<void>((res, rej) =>
        client.getRealtimeSequence(GetRealtimeSequenceRequest.fromPartial({ userId, maxLen: 100, asOfMs }), new Metadata(), { deadline: Date.now() + 10_000 }, (err, r) =>
          err ? rej(err) : r.length === 100 ? res() : rej(new Error('bench: floor answered short')),
        ),
      ),
    close: () => {
      stream.end();
      client.close();
    },
  };
}
