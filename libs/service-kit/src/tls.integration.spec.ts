import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteUserRequest, DeleteUserResponse, FeatureServerClient, FeatureServerService, GetRealtimeSequenceRequest, RealtimeSequence } from '@pinrank/proto';
import { callUnary, createClient, type ClientTlsOptions } from './client';
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
    services: [
      defineService(
        FeatureServerService,
        {
          getRealtimeSequence: async (req) => RealtimeSequence.fromPartial({ userId: req.userId }),
          deleteUser: async () => DeleteUserResponse.fromPartial({ deletedActions: 7 }),
        },
        { adminMethods: ['deleteUser'] },
      ),
    ],
  });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function client(tls: ClientTlsOptions): FeatureServerClient {
  const c = createClient(FeatureServerClient, `localhost:${server.port}`, { tls });
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
