import { connectivityState, type Client } from '@grpc/grpc-js';
import { FeatureServerClient, FeatureServerService, GetRealtimeSequenceRequest, RealtimeSequence } from '@pinrank/proto';
import pino from 'pino';
import { callUnary, clientChannelOptions, createClient } from './client';
import { startServer, type RunningServer } from './server';
import { defineService } from './service';

const servers: RunningServer[] = [];
const clients: { close(): void }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.shutdown()));
});

async function serve(address: string): Promise<RunningServer> {
  const server = await startServer({
    name: 'test-server',
    address,
    services: [defineService(FeatureServerService, { getRealtimeSequence: async (req) => RealtimeSequence.fromPartial({ userId: req.userId }) })],
    signals: [],
    logger: pino({ level: 'silent' }),
    shutdownTimeoutMs: 1_000,
  });
  servers.push(server);
  return server;
}

function client(port: number): FeatureServerClient {
  const c = createClient(FeatureServerClient, `127.0.0.1:${port}`);
  clients.push(c);
  return c;
}

const lookup = (c: FeatureServerClient) => callUnary(c.getRealtimeSequence.bind(c), GetRealtimeSequenceRequest.fromPartial({ userId: 'u1' }), { timeoutMs: 2_000, retry: false });

/** Resolves when `channel` reaches `state`, asking it to connect while it waits. */
async function reach(channel: ReturnType<Client['getChannel']>, state: connectivityState, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const now = channel.getConnectivityState(true);
    if (now === state) return;
    if (Date.now() > end) throw new Error(`channel stayed ${connectivityState[now]}, wanted ${connectivityState[state]}`);
    await new Promise<void>((resolve) => channel.watchConnectivityState(now, Math.min(end, Date.now() + 200), () => resolve()));
  }
}

describe('createClient', () => {
  it('owns its connection: a client backing off from an address never fails the first call of a new client to a server now there', async () => {
    // A server goes away; a client that talked to it backs off (TRANSIENT_FAILURE, about 1 s).
    const first = await serve('127.0.0.1:0');
    const port = first.port;
    const old = client(port);
    await expect(lookup(old)).resolves.toMatchObject({ userId: 'u1' });
    await first.shutdown();
    await reach(old.getChannel(), connectivityState.TRANSIENT_FAILURE);
    // Another server takes the port (the kernel hands freed ports out again; in a cluster, pod IPs are reused).
    await serve(`127.0.0.1:${port}`);
    // With grpc-js's process-wide subchannel pool the new client would share the old one's backing-off
    // connection and fail at once: "UNAVAILABLE: No connection established. Last error: null".
    await expect(lookup(client(port))).resolves.toMatchObject({ userId: 'u1' });
    expect(clientChannelOptions()['grpc.use_local_subchannel_pool']).toBe(1);
  });
});
