// Raw gRPC calls that send bytes as they are (no serializer), in every
// streaming shape, always with a deadline, and report the status.
import { Client, Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { channelCredentials, clientChannelOptions, type ClientTlsOptions } from '@pinrank/service-kit';

/** The streaming shape of a method. */
export type CallShape = 'unary' | 'client_stream' | 'server_stream' | 'bidi';

/** What one call ended with. */
export interface CallOutcome {
  code: status;
  details: string;
  /** The call ran into its own deadline (a hang, as far as the fuzzer is concerned). */
  timedOut: boolean;
  /** The first messages a bidirectional call answered with (at most {@link MAX_REPLIES}). */
  replies: Buffer[];
}

/** Replies of one bidirectional call kept for the checks. */
export const MAX_REPLIES = 32;

const identity = (b: Buffer): Buffer => b;

/** One channel to one process, sending raw request bytes. */
export class RawClient {
  private readonly client: Client;

  /** A channel to `address`, plaintext or with `tls` (the service kit's client defaults: 64 MiB messages; a loopback IP verified as localhost). */
  constructor(address: string, tls?: ClientTlsOptions) {
    this.client = new Client(address, channelCredentials(tls, address), clientChannelOptions(tls ? { tls } : {}, address));
  }

  /** Calls `path` with `messages` (one for unary and server-streaming calls) and resolves with the status; never rejects. */
  call(path: string, shape: CallShape, messages: readonly Buffer[], o: { token?: string; deadlineMs: number }): Promise<CallOutcome> {
    const md = new Metadata();
    if (o.token) md.set('authorization', `Bearer ${o.token}`);
    const deadline = new Date(Date.now() + o.deadlineMs);
    return new Promise((resolve) => {
      let settled = false;
      const replies: Buffer[] = [];
      const finish = (code: status, details: string): void => {
        if (settled) return;
        settled = true;
        resolve({ code, details, timedOut: code === status.DEADLINE_EXCEEDED && Date.now() >= deadline.getTime() - 5, replies });
      };
      const onError = (err: ServiceError): void => finish(err.code, err.details);
      const first = messages[0] ?? Buffer.alloc(0);
      switch (shape) {
        case 'unary':
          this.client.makeUnaryRequest(path, identity, identity, first, md, { deadline }, (err: ServiceError | null) => (err ? onError(err) : finish(status.OK, '')));
          return;
        case 'client_stream': {
          const call = this.client.makeClientStreamRequest(path, identity, identity, md, { deadline }, (err: ServiceError | null) => (err ? onError(err) : finish(status.OK, '')));
          for (const m of messages) call.write(m);
          call.end();
          return;
        }
        case 'server_stream': {
          const call = this.client.makeServerStreamRequest(path, identity, identity, first, md, { deadline });
          // One message proves the stream works; a watch would otherwise run to the deadline.
          call.on('data', () => call.cancel());
          call.on('error', onError);
          call.on('status', (s: StatusObject) => finish(s.code, s.details));
          return;
        }
        case 'bidi': {
          const call = this.client.makeBidiStreamRequest(path, identity, identity, md, { deadline });
          call.on('data', (b: Buffer) => {
            if (replies.length < MAX_REPLIES) replies.push(b);
          });
          call.on('error', onError);
          call.on('status', (s: StatusObject) => finish(s.code, s.details));
          for (const m of messages) call.write(m);
          call.end();
          return;
        }
      }
    });
  }

  close(): void {
    this.client.close();
  }
}
