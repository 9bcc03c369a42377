import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config';
import { checkClientCertificate, dataClientSecurity, dataClientSecurityOrThrow, readSecretLine, tlsMode } from './data-client-security';

const own = { tlsCertFile: 'own.crt', tlsKeyFile: 'own.key', tlsCaFile: 'own-ca.crt' };
const off = { tls: false, caFile: undefined, user: undefined, passwordFile: undefined };

describe('dataClientSecurity', () => {
  it('presents nothing without TLS or a user', () => {
    expect(dataClientSecurity('X', off, own)).toEqual({ security: {}, problems: [] });
  });

  it('with TLS presents the service certificate and trusts the tier CA, else the service CA, else the system roots', () => {
    expect(dataClientSecurity('X', { ...off, tls: true }, own).security).toEqual({ tls: { caFile: 'own-ca.crt', certFile: 'own.crt', keyFile: 'own.key' } });
    expect(dataClientSecurity('X', { ...off, tls: true, caFile: 'tier-ca.crt' }, own).security.tls?.caFile).toBe('tier-ca.crt');
    expect(dataClientSecurity('X', { ...off, tls: true }, {}).security).toEqual({ tls: {} });
  });

  it('names how a connection uses TLS', () => {
    expect([tlsMode(undefined), tlsMode({}), tlsMode({ tls: { caFile: 'ca' } }), tlsMode({ tls: { certFile: 'c', keyFile: 'k' } })]).toEqual(['off', 'off', 'server-verified', 'mutual']);
  });

  it('names the variables of what cannot work', () => {
    expect(dataClientSecurity('FS_REDIS', { ...off, caFile: 'ca', user: 'u' }, own).problems).toEqual([
      'FS_REDIS_CA_FILE is set but FS_REDIS_TLS is not true: set FS_REDIS_TLS=true to connect with TLS',
      'FS_REDIS_USER and FS_REDIS_PASSWORD_FILE must be set together',
    ]);
    expect(() => dataClientSecurityOrThrow('FS_REDIS', { ...off, passwordFile: 'p' }, own)).toThrow(ConfigError);
  });
});

describe('readSecretLine and checkClientCertificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secret-'));
  it('reads the first non-empty line, and says which file is missing or empty', () => {
    const f = join(dir, 'pw');
    writeFileSync(f, '\n  s3cret  \nnext\n');
    expect(readSecretLine('password file', f)).toBe('s3cret');
    writeFileSync(f, ' \n');
    expect(() => readSecretLine('password file', f)).toThrow(`the password file ${f} is empty`);
    expect(() => readSecretLine('password file', join(dir, 'none'))).toThrow(/cannot read the password file .*none/);
  });

  it('refuses a certificate without its key', () => {
    expect(() => checkClientCertificate('redis', { keyFile: 'k' })).toThrow('redis: a TLS client certificate needs both its certificate and its key file');
    expect(() => checkClientCertificate('redis', { certFile: 'c', keyFile: 'k' })).not.toThrow();
  });
});
