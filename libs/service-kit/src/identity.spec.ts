import { Metadata } from '@grpc/grpc-js';
import { certificateIdentities, IdentityResolver } from './identity';

const md = (auth?: string) => {
  const m = new Metadata();
  if (auth !== undefined) m.set('authorization', auth);
  return m;
};
const spiffe = (sa: string) => `spiffe://pinrank.local/ns/pinrank/sa/${sa}`;

describe('IdentityResolver', () => {
  const resolver = new IdentityResolver({
    admin: { tokens: ['tok-a', 'tok-b'], allowedIdentities: ['spiffe://pinrank/ops', 'ops-cli'] },
    tokens: [{ principal: 'action-producer', token: 'prod-tok' }],
  });

  it('maps admin tokens to "admin" and identity tokens to their principal, without revealing either', () => {
    expect(resolver.resolve(md('Bearer tok-b'), undefined)).toEqual({ principal: 'admin', via: 'token', credential: 'admin token #1' });
    expect(resolver.resolve(md('bearer prod-tok'), undefined)).toEqual({ principal: 'action-producer', via: 'token', credential: 'token of action-producer' });
  });

  it('answers UNAUTHENTICATED for a wrong token or a malformed header, even beside a good certificate', () => {
    const cert = { subjectaltname: `URI:${spiffe('ranker-router')}` };
    expect(() => resolver.resolve(md('Bearer tok-c'), cert)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    expect(() => resolver.resolve(md('Basic abc'), undefined)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
  });

  it('names a certificate by its SPIFFE service account, another SPIFFE ID in full, else its CN', () => {
    expect(resolver.resolve(md(), { subject: { CN: 'x' }, subjectaltname: `DNS:x.svc, URI:${spiffe('ranker-router')}` })).toEqual({
      principal: 'ranker-router',
      via: 'mtls',
      credential: spiffe('ranker-router'),
    });
    expect(resolver.resolve(md(), { subjectaltname: 'URI:spiffe://other.domain/ns/a/sa/b' })?.principal).toBe('spiffe://other.domain/ns/a/sa/b');
    expect(resolver.resolve(md(), { subject: { CN: 'batch-tool' } })?.principal).toBe('batch-tool');
    expect(resolver.resolve(md(), undefined)).toBeUndefined();
  });

  it('grants "admin" to listed certificate identities only, never to a certificate that names itself admin', () => {
    expect(resolver.resolve(md(), { subject: { CN: 'ops-cli' } })).toEqual({ principal: 'admin', via: 'mtls', credential: 'ops-cli' });
    expect(resolver.resolve(md(), { subjectaltname: 'URI:spiffe://pinrank/ops' })?.principal).toBe('admin');
    expect(resolver.resolve(md(), { subjectaltname: `URI:${spiffe('admin')}` })?.principal).toBe(spiffe('admin'));
    expect(resolver.resolve(md(), { subject: { CN: 'admin' } })?.principal).toBe('CN=admin');
  });

  it('refuses identity tokens for the reserved admin principal', () => {
    expect(() => new IdentityResolver({ tokens: [{ principal: 'admin', token: 't' }] })).toThrow(/admin tokens only/);
  });

  it('lists certificate identities', () => {
    expect(certificateIdentities({ subject: { CN: 'a' }, subjectaltname: 'DNS:b, IP Address:10.0.0.1, URI:spiffe://c' })).toEqual([
      'a',
      'b',
      '10.0.0.1',
      'spiffe://c',
    ]);
    expect(certificateIdentities(undefined)).toEqual([]);
  });
});
