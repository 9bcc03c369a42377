import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteUserRequest, DeleteUserResponse, FeatureServerClient, FeatureServerService, GetRealtimeSequenceRequest, RealtimeSequence } from '@pinrank/proto';
import { callUnary, clientChannelOptions, createClient, loopbackIpOf, type ClientTlsOptions } from './client';
import { startServer, type RunningServer } from './server';
import { defineService } from './service';
import { captureLogger } from './test-helpers';

// Certificates are generated per run with openssl: a CA, a server certificate
// for localhost/127.0.0.1, an allowed admin client and a client not on the allow-list.
let dir: string;
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function issue(name: string, subject: string, ext: string): void {
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  writeFileSync(file(`${name}.ext`), ext);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-sha256', '-extfile', `${name}.ext`);
}

let server: RunningServer;
const clients: { close(): void }[] = [];
const extraServers: RunningServer[] = [];

const SEQUENCE_SERVICE = defineService(
  FeatureServerService,
  {
    getRealtimeSequence: async (req) => RealtimeSequence.fromPartial({ userId: req.userId }),
    deleteUser: async () => DeleteUserResponse.fromPartial({ deletedActions: 7 }),
  },
  { adminMethods: ['deleteUser'] },
);

/** A server on 127.0.0.1 presenting certificate `name` (mutual TLS, no admin list). */
async function serverWith(name: string): Promise<RunningServer> {
  const s = await startServer({
    name: `tls-${name}`,
    address: '127.0.0.1:0',
    signals: [],
    logger: captureLogger().logger,
    tls: { certFile: file(`${name}.crt`), keyFile: file(`${name}.key`), clientCaFile: file('ca.crt') },
    services: [SEQUENCE_SERVICE],
  });
  extraServers.push(s);
  return s;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'service-kit-tls-'));
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=pinrank-test-ca');
  issue('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issue('admin', '/CN=admin-tool', 'subjectAltName=URI:spiffe://pinrank/admin-tool\nextendedKeyUsage=clientAuth\n');
  issue('intruder', '/CN=intruder', 'extendedKeyUsage=clientAuth\n');
  server = await startServer({
    name: 'mtls-test',
    address: '127.0.0.1:0',
    signals: [],
    logger: captureLogger().logger,
    tls: { certFile: file('server.crt'), keyFile: file('server.key'), clientCaFile: file('ca.crt') },
    admin: { allowedIdentities: ['spiffe://pinrank/admin-tool'] },
    services: [SEQUENCE_SERVICE],
  });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.shutdown();
  await Promise.all(extraServers.map((s) => s.shutdown()));
  rmSync(dir, { recursive: true, force: true });
});

function client(tls: ClientTlsOptions, address = `localhost:${server.port}`): FeatureServerClient {
  const c = createClient(FeatureServerClient, address, { tls });
  clients.push(c);
  return c;
}

const get = (c: FeatureServerClient) =>
  callUnary(c.getRealtimeSequence.bind(c), GetRealtimeSequenceRequest.fromPartial({ userId: 'u' }), { retry: false, timeoutMs: 5_000 });
const del = (c: FeatureServerClient) =>
  callUnary(c.deleteUser.bind(c), DeleteUserRequest.fromPartial({ userId: 'u' }), { retry: false, timeoutMs: 5_000 });

describe('mutual TLS', () => {
  it('refuses a client without a certificate', async () => {
    await expect(get(client({ caFile: file('ca.crt') }))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('serves a client with a certificate from the CA, and runs admin RPCs for an allowed identity', async () => {
    const admin = client({ caFile: file('ca.crt'), certFile: file('admin.crt'), keyFile: file('admin.key') });
    await expect(get(admin)).resolves.toMatchObject({ userId: 'u' });
    await expect(del(admin)).resolves.toMatchObject({ deletedActions: 7 });
  });

  it('refuses admin RPCs for a certificate that is not on the allow-list', async () => {
    const intruder = client({ caFile: file('ca.crt'), certFile: file('intruder.crt'), keyFile: file('intruder.key') });
    await expect(get(intruder)).resolves.toMatchObject({ userId: 'u' });
    await expect(del(intruder)).rejects.toMatchObject({ code: 'PERMISSION_DENIED', message: expect.stringContaining('intruder') });
  });
});

describe('a server addressed by a loopback IP', () => {
  const admin = (): ClientTlsOptions => ({ caFile: file('ca.crt'), certFile: file('admin.crt'), keyFile: file('admin.key') });

  it('is verified as "localhost" (no IP as TLS server name), unless a name is given', () => {
    for (const a of ['127.0.0.1:50051', '[::1]:50051', 'ipv4:127.0.0.1:50051', 'dns:///127.0.0.5:80', '127.0.0.1']) expect(loopbackIpOf(a)).toBeDefined();
    for (const a of ['10.0.0.1:50051', 'localhost:50051', 'feature-server.pinrank.svc:50051', '[fe80::1]:1', '127.0.0.1.example.com:1']) expect(loopbackIpOf(a)).toBeUndefined();
    expect(clientChannelOptions({ tls: admin() }, '127.0.0.1:50051')['grpc.ssl_target_name_override']).toBe('localhost');
    expect(clientChannelOptions({ tls: { ...admin(), serverNameOverride: 'feature-server' } }, '127.0.0.1:50051')['grpc.ssl_target_name_override']).toBe('feature-server');
    expect(clientChannelOptions({ tls: admin() }, '10.0.0.1:50051')).not.toHaveProperty(['grpc.ssl_target_name_override']);
    expect(clientChannelOptions({}, '127.0.0.1:50051')).not.toHaveProperty(['grpc.ssl_target_name_override']);
  });

  it('accepts a certificate for localhost or for the IP, and refuses one for neither', async () => {
    issue('only-name', '/CN=only-name', 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n');
    issue('only-ip', '/CN=only-ip', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    issue('elsewhere', '/CN=elsewhere', 'subjectAltName=DNS:elsewhere.example,IP:10.1.2.3\nextendedKeyUsage=serverAuth\n');
    const [byName, byIp, elsewhere] = await Promise.all([serverWith('only-name'), serverWith('only-ip'), serverWith('elsewhere')]);
    await expect(get(client(admin(), `127.0.0.1:${byName.port}`))).resolves.toMatchObject({ userId: 'u' });
    await expect(get(client(admin(), `127.0.0.1:${byIp.port}`))).resolves.toMatchObject({ userId: 'u' });
    await expect(get(client(admin(), `127.0.0.1:${elsewhere.port}`))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // A name given by the caller is verified as given.
    await expect(get(client({ ...admin(), serverNameOverride: 'elsewhere.example' }, `127.0.0.1:${elsewhere.port}`))).resolves.toMatchObject({ userId: 'u' });
    await expect(get(client({ ...admin(), serverNameOverride: 'elsewhere.example' }, `127.0.0.1:${byIp.port}`))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  }, 60_000);
});
