import { Metadata } from '@grpc/grpc-js';
import { authorizeAdmin, certificateIdentities } from './admin';

const md = (auth?: string) => {
  const m = new Metadata();
  if (auth !== undefined) m.set('authorization', auth);
  return m;
};

describe('authorizeAdmin', () => {
  const options = { tokens: ['tok-a', 'tok-b'], allowedIdentities: ['spiffe://pinrank/ops', 'ops-cli'] };

  it('accepts a configured bearer token without revealing it', () => {
    expect(authorizeAdmin(options, md('Bearer tok-b'), undefined)).toEqual({ kind: 'token', id: 'bearer token #1' });
  });

  it('answers UNAUTHENTICATED for no credentials, a wrong token or a malformed header', () => {
    expect(() => authorizeAdmin(options, md(), undefined)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    expect(() => authorizeAdmin(options, md('Bearer tok-c'), undefined)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    expect(() => authorizeAdmin(options, md('Basic abc'), undefined)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
  });

  it('accepts an allowed certificate identity (CN or subjectAltName) and refuses others with PERMISSION_DENIED', () => {
    expect(authorizeAdmin(options, md(), { subject: { CN: 'ops-cli' } })).toEqual({ kind: 'mtls', id: 'ops-cli' });
    expect(authorizeAdmin(options, md(), { subject: { CN: 'x' }, subjectaltname: 'DNS:x.svc, URI:spiffe://pinrank/ops' })).toEqual({
      kind: 'mtls',
      id: 'spiffe://pinrank/ops',
    });
    expect(() => authorizeAdmin(options, md(), { subject: { CN: 'ranker' } })).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }));
  });

  it('refuses everything when admin access is not configured', () => {
    expect(() => authorizeAdmin({}, md('Bearer tok-a'), { subject: { CN: 'ops-cli' } })).toThrow(
      expect.objectContaining({ code: 'PERMISSION_DENIED' }),
    );
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
