// Authorization over real TLS: servers on 127.0.0.1:0 with certificates issued
// by a local CA made for this run; callers identified by client certificates
// (SPIFFE URI SANs) or bearer tokens.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, credentials } from '@grpc/grpc-js';
import { FeatureServerService, HealthCheckRequest, HealthCheckResponse_ServingStatus as ServingStatus, HealthClient, IngestActionsResponse, RealtimeSequence } from '@pinrank/proto';
import { startTracing, type Tracing } from '@pinrank/telemetry';
import { allow, AUTHENTICATED, servicePolicy } from './authz-policy';
import { type ClientTlsOptions } from './client';
import { ensureLocalPki, type LocalPki } from './pki/local-pki';
import { startServer, type RunningServer } from './server';
import { defineService } from './service';
import { captureLogger } from './test-helpers';
import { admittedCode, policyCases, probeMethod } from './testing/policy-probe';

const policy = servicePolicy(FeatureServerService, {
  ingestActions: allow('action-producer'),
  getRealtimeSequence: allow('ranker-router', 'admin'),
  getRealtimeSequences: AUTHENTICATED,
  streamRealtimeSequences: allow('ranker-router', 'admin'),
  deleteUser: allow('admin'),
});
const OPERATOR = 'spiffe://pinrank.local/ns/pinrank/sa/operator';

let dir: string;
let pki: LocalPki;
let tracing: Tracing;
const servers: RunningServer[] = [];
let optional: RunningServer;
let required: RunningServer;
const log = captureLogger();
let ingestCalls = 0;

const tlsAs = (who: string | undefined, server = 'localhost'): ClientTlsOptions => ({
  caFile: pki.caFile,
  ...(who ? pki.files(who === 'admin' ? 'operator' : who) : {}),
  serverNameOverride: server,
});

async function serve(requireClientCert: boolean, logger = captureLogger().logger): Promise<RunningServer> {
  const s = await startServer({
    name: 'authz-test',
    address: '127.0.0.1:0',
    signals: [],
    logger,
    tls: { ...pki.files('feature-server'), clientCaFile: pki.caFile, requireClientCert },
    admin: { tokens: ['admin-token'], allowedIdentities: [OPERATOR] },
    authz: { mode: 'enforce', policies: [policy], tokens: [{ principal: 'action-producer', token: 'producer-token' }] },
    services: [
      defineService(
        FeatureServerService,
        {
          ingestActions: async (requests) => {
            ingestCalls++;
            let n = 0;
            for await (const r of requests) n += r.actions.length;
            return IngestActionsResponse.fromPartial({ accepted: n });
          },
          getRealtimeSequence: async (req, ctx) => RealtimeSequence.fromPartial({ userId: `${req.userId}:${ctx.caller?.principal ?? ''}` }),
        },
        { adminMethods: ['deleteUser'] },
      ),
    ],
  });
  servers.push(s);
  return s;
}

beforeAll(async () => {
  tracing = startTracing({ serviceName: 'authz-test', exporter: 'none' });
  dir = mkdtempSync(join(tmpdir(), 'authz-test-'));
  pki = ensureLocalPki({
    dir,
    identities: [{ name: 'feature-server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, { name: 'ranker-router' }, { name: 'action-producer' }, { name: 'operator' }],
  });
  optional = await serve(false, log.logger);
  required = await serve(true);
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.shutdown()));
  await tracing.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const address = (s: RunningServer) => `127.0.0.1:${s.port}`;

describe('each method of the policy table, over mutual TLS', () => {
  const cases = () => policyCases(FeatureServerService, policy, ['ranker-router', 'action-producer', 'admin']);
  // The table is built from the policy itself; the describe-time call only names the cases.
  const named = policyCases(FeatureServerService, policy, ['ranker-router', 'action-producer', 'admin']).map((c) => c.name);

  it.each(named)('%s', async (name) => {
    const c = cases().find((x) => x.name === name);
    if (!c) throw new Error(`no case ${name}`);
    const code = await probeMethod(address(optional), c.method, { tls: tlsAs(c.caller) });
    if (c.expect === 'refused-unauthenticated') expect(code).toBe('UNAUTHENTICATED');
    else if (c.expect === 'refused-denied') expect(code).toBe('PERMISSION_DENIED');
    else expect({ code, admitted: admittedCode(code) }).toEqual({ code, admitted: true });
  });
});

describe('authorization', () => {
  it('runs no handler and reads no request of a refused client stream', async () => {
    const before = ingestCalls;
    const def = FeatureServerService.ingestActions as never;
    expect(await probeMethod(address(optional), def, { tls: tlsAs('ranker-router') })).toBe('PERMISSION_DENIED');
    expect(await probeMethod(address(optional), def, { tls: tlsAs(undefined) })).toBe('UNAUTHENTICATED');
    expect(ingestCalls).toBe(before);
    expect(await probeMethod(address(optional), def, { tls: tlsAs('action-producer') })).toBe('OK');
    expect(ingestCalls).toBe(before + 1);
  });

  it('identifies token callers too (a token wins over the certificate), and refuses an unknown token', async () => {
    const def = FeatureServerService.ingestActions as never;
    expect(await probeMethod(address(optional), def, { tls: tlsAs(undefined), token: 'producer-token' })).toBe('OK');
    expect(await probeMethod(address(optional), def, { tls: tlsAs('action-producer'), token: 'nope' })).toBe('UNAUTHENTICATED');
    expect(await probeMethod(address(optional), FeatureServerService.deleteUser as never, { tls: tlsAs('ranker-router'), token: 'admin-token' })).toBe('UNIMPLEMENTED');
  });

  it('counts refusals by service, method and code, and logs them with the caller and the trace id', async () => {
    const text = await optional.metrics.registry.metrics();
    expect(text).toMatch(/rpc_server_authz_refusals_total\{service="pinrank.v1.FeatureServer",method="IngestActions",code="PERMISSION_DENIED"\} [1-9]/);
    expect(text).toMatch(/rpc_server_authz_refusals_total\{service="pinrank.v1.FeatureServer",method="IngestActions",code="UNAUTHENTICATED"\} [1-9]/);
    const refused = log.lines().filter((l) => l['msg'] === 'call refused');
    const denied = refused.find((l) => l['code'] === 'PERMISSION_DENIED' && (l['caller'] as { principal?: string })?.principal === 'ranker-router');
    expect(denied).toMatchObject({ rpc: '/pinrank.v1.FeatureServer/IngestActions', trace_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(refused.some((l) => l['caller'] === 'none' && l['code'] === 'UNAUTHENTICATED')).toBe(true);
  });

  it('keeps health public', async () => {
    const health = new HealthClient(address(optional), credentials.createSsl(null, null, null), { 'grpc.ssl_target_name_override': 'localhost' });
    const c = new HealthClient(address(optional), (await import('./client')).channelCredentials(tlsAs(undefined)), { 'grpc.ssl_target_name_override': 'localhost' });
    health.close();
    const res = await new Promise<ServingStatus>((resolve, reject) =>
      c.check(HealthCheckRequest.fromPartial({}), new Metadata(), { deadline: new Date(Date.now() + 5000) }, (err, r) => (err ? reject(err) : resolve(r.status))),
    );
    c.close();
    expect(res).toBe(ServingStatus.SERVING);
  });
});

describe('a server with TLS configured', () => {
  it('answers nothing to a plaintext client, nor (client certificates required) to a TLS client without one', async () => {
    const health = { ...FeatureServerService.getRealtimeSequence, path: '/grpc.health.v1.Health/Check' } as never;
    for (const s of [optional, required]) {
      expect(await probeMethod(address(s), health, {})).toBe('UNAVAILABLE');
      expect(await probeMethod(address(s), FeatureServerService.getRealtimeSequence as never, {})).toBe('UNAVAILABLE');
    }
    expect(await probeMethod(address(required), health, { tls: tlsAs(undefined) })).toBe('UNAVAILABLE');
    expect(await probeMethod(address(required), FeatureServerService.getRealtimeSequence as never, { tls: tlsAs(undefined) })).toBe('UNAVAILABLE');
    expect(await probeMethod(address(required), FeatureServerService.getRealtimeSequence as never, { tls: tlsAs('ranker-router') })).toBe('OK');
  });
});
