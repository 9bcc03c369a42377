import { Metadata } from '@grpc/grpc-js';
import { FeatureServerService } from '@pinrank/proto';
import pino from 'pino';
import { Registry } from 'prom-client';
import { allow, AUTHENTICATED, parseAuthzGrant, PUBLIC, servicePolicy } from './authz-policy';
import { Authorizer, type AuthorizerSetup } from './authorizer';
import { defineService } from './service';

const reg = defineService(FeatureServerService, {}, { adminMethods: ['deleteUser'] });
const policy = servicePolicy(FeatureServerService, {
  ingestActions: allow('action-producer'),
  getRealtimeSequence: allow('ranker-router'),
  getRealtimeSequences: AUTHENTICATED,
  streamRealtimeSequences: allow('ranker-router'),
  deleteUser: allow('admin'),
});
const path = (m: string) => `/pinrank.v1.FeatureServer/${m}`;
const setup = (o: Partial<AuthorizerSetup> = {}): AuthorizerSetup => ({
  registrations: [reg],
  authz: { policies: [policy] },
  admin: { tokens: ['adm'] },
  mutualTls: true,
  registry: new Registry(),
  ...o,
});
const creds = (cert?: string, token?: string) => {
  const metadata = new Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return { metadata, certificate: cert ? { subjectaltname: `URI:spiffe://pinrank.local/ns/pinrank/sa/${cert}` } : undefined, peer: 'test', logger: pino({ level: 'silent' }) };
};

describe('servicePolicy', () => {
  it('needs a rule for every method and knows no others', () => {
    expect(() => servicePolicy(FeatureServerService, { ingestActions: PUBLIC } as never)).toThrow(/no rule for GetRealtimeSequence/);
    expect(() => servicePolicy(FeatureServerService, { ...{ ingestActions: PUBLIC, getRealtimeSequence: PUBLIC, getRealtimeSequences: PUBLIC, deleteUser: PUBLIC }, dropAll: PUBLIC } as never)).toThrow(
      /unknown methods dropAll/,
    );
    expect([...policy.rules.keys()]).toEqual(['IngestActions', 'GetRealtimeSequence', 'GetRealtimeSequences', 'StreamRealtimeSequences', 'DeleteUser']);
  });

  it('parses grants and refuses malformed ones', () => {
    expect(parseAuthzGrant('pinrank.v1.FeatureServer/*=debug-tool')).toEqual({ service: 'pinrank.v1.FeatureServer', method: '*', principal: 'debug-tool' });
    expect(() => parseAuthzGrant('FeatureServer=x')).toThrow(/Service/);
  });
});

describe('Authorizer', () => {
  it('auto enforces with policies and identified callers, and stays off without policies or identities', () => {
    expect(Authorizer.create(setup()).mode).toBe('enforce');
    expect(Authorizer.create(setup({ mutualTls: false })).mode).toBe('off');
    expect(Authorizer.create(setup({ mutualTls: false, authz: { policies: [policy], tokens: [{ principal: 'p', token: 't' }] } })).mode).toBe('enforce');
    expect(Authorizer.create(setup({ authz: {} })).mode).toBe('off');
  });

  it('in enforce mode refuses to start when a registered method has no rule or an admin method is open', () => {
    const partial = { serviceName: policy.serviceName, rules: new Map([...policy.rules].filter(([m]) => m !== 'IngestActions')) };
    expect(() => Authorizer.create(setup({ authz: { mode: 'enforce', policies: [partial] } }))).toThrow(/FeatureServer\/IngestActions has no rule/);
    expect(() => Authorizer.create(setup({ authz: { mode: 'enforce' } }))).toThrow(/has no rule/);
    const open = { serviceName: policy.serviceName, rules: new Map([...policy.rules, ['DeleteUser', AUTHENTICATED]]) };
    expect(() => Authorizer.create(setup({ authz: { mode: 'enforce', policies: [open] } }))).toThrow(/DeleteUser is an admin method/);
  });

  it('answers UNAUTHENTICATED without a credential, PERMISSION_DENIED for another principal, the caller otherwise', () => {
    const a = Authorizer.create(setup());
    expect(() => a.authorize(path('GetRealtimeSequence'), creds())).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    expect(() => a.authorize(path('GetRealtimeSequence'), creds('action-producer'))).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }));
    expect(a.authorize(path('GetRealtimeSequence'), creds('ranker-router'))?.principal).toBe('ranker-router');
    expect(a.authorize(path('GetRealtimeSequences'), creds('anyone'))?.principal).toBe('anyone');
    expect(a.authorize(path('DeleteUser'), creds('ranker-router', 'adm'))?.principal).toBe('admin');
    expect(() => a.authorize(path('DeleteUser'), creds('ranker-router'))).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }));
  });

  it('off mode leaves data methods open and keeps admin methods guarded', () => {
    const a = Authorizer.create(setup({ authz: { mode: 'off', policies: [policy] } }));
    expect(a.authorize(path('GetRealtimeSequence'), creds())).toBeUndefined();
    expect(() => a.authorize(path('DeleteUser'), creds('ranker-router'))).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }));
    expect(() => a.authorize(path('DeleteUser'), creds())).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    const nobody = Authorizer.create(setup({ admin: {}, authz: { mode: 'off' } }));
    expect(() => nobody.authorize(path('DeleteUser'), creds(undefined, 'adm'))).toThrow(/admin RPCs are disabled/);
  });

  it('widens a rule by a configured grant, and refuses a grant for an unknown method', () => {
    const a = Authorizer.create(setup({ authz: { policies: [policy], grants: [parseAuthzGrant('pinrank.v1.FeatureServer/GetRealtimeSequence=debug-tool')] } }));
    expect(a.authorize(path('GetRealtimeSequence'), creds('debug-tool'))?.principal).toBe('debug-tool');
    expect(() => a.authorize(path('IngestActions'), creds('debug-tool'))).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }));
    expect(() => Authorizer.create(setup({ authz: { policies: [policy], grants: [parseAuthzGrant('pinrank.v1.FeatureServer/Nope=x')] } }))).toThrow(/no such method/);
  });

  it('counts refusals by service, method and code', async () => {
    const registry = new Registry();
    const a = Authorizer.create(setup({ registry }));
    for (const c of [creds(), creds('action-producer'), creds('action-producer')]) expect(() => a.authorize(path('GetRealtimeSequence'), c)).toThrow();
    const text = await registry.metrics();
    expect(text).toContain('rpc_server_authz_refusals_total{service="pinrank.v1.FeatureServer",method="GetRealtimeSequence",code="UNAUTHENTICATED"} 1');
    expect(text).toContain('rpc_server_authz_refusals_total{service="pinrank.v1.FeatureServer",method="GetRealtimeSequence",code="PERMISSION_DENIED"} 2');
  });
});
