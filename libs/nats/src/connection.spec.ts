import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@pinrank/service-kit';
import { describeNatsSecurity, natsConnectionOptions, natsServers } from './connection';
import { natsSecurityFromConfig, type NatsSecurityConfig } from './nats-config';

const dir = mkdtempSync(join(tmpdir(), 'nats-options-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
// The shape of a NATS credentials file; the JWT and the seed are placeholders (never used to connect here).
const CREDS = [
  '-----BEGIN NATS USER JWT-----',
  'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln',
  '------END NATS USER JWT------',
  '',
  '-----BEGIN USER NKEY SEED-----',
  'SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4',
  '------END USER NKEY SEED------',
].join('\n');

describe('natsConnectionOptions', () => {
  it('splits the server list and reconnects forever by default', () => {
    const o = natsConnectionOptions({ servers: ' nats://a:4222 , b:4222,', name: 'n' });
    expect(o.servers).toEqual(['nats://a:4222', 'b:4222']);
    expect(o.maxReconnectAttempts).toBe(-1);
    expect(o.name).toBe('n');
    expect(o.tls).toBeUndefined();
  });

  it('pings every 5 s by default, so a server gone silent is left within about 15 s', () => {
    expect(natsConnectionOptions({ servers: 'a', name: 'n' })).toMatchObject({ pingInterval: 5000, maxPingOut: 2 });
    expect(natsConnectionOptions({ servers: 'a', name: 'n', pingIntervalMs: 20_000 }).pingInterval).toBe(20_000);
  });

  it('refuses a server list that names no server', () => {
    expect(() => natsServers(' , ')).toThrow('no server');
  });

  it('passes the TLS files and refuses a certificate without its key', () => {
    expect(natsConnectionOptions({ servers: 'a', name: 'n', tls: { caFile: 'ca.crt', certFile: 'c.crt', keyFile: 'c.key' } }).tls).toEqual({ caFile: 'ca.crt', certFile: 'c.crt', keyFile: 'c.key' });
    expect(natsConnectionOptions({ servers: 'a', name: 'n', tls: {} }).tls).toEqual({});
    expect(() => natsConnectionOptions({ servers: 'a', name: 'n', tls: { certFile: 'c.crt' } })).toThrow('both its certificate and its key');
  });

  it('reads the password file (first non-empty line) and needs user and password together', () => {
    const o = natsConnectionOptions({ servers: 'a', name: 'n', user: 'fs', passwordFile: file('pw', '\n  s3cret \nignored\n') });
    expect(o.user).toBe('fs');
    expect(o.pass).toBe('s3cret');
    expect(() => natsConnectionOptions({ servers: 'a', name: 'n', user: 'fs' })).toThrow('password file');
    expect(() => natsConnectionOptions({ servers: 'a', name: 'n', user: 'fs', passwordFile: file('empty', '\n\n') })).toThrow('is empty');
    expect(() => natsConnectionOptions({ servers: 'a', name: 'n', user: 'fs', passwordFile: join(dir, 'missing') })).toThrow(/cannot read the password file .*missing/);
  });

  it('takes a credentials file and refuses one that is not', () => {
    expect(natsConnectionOptions({ servers: 'a', name: 'n', credsFile: file('u.creds', CREDS) }).authenticator).toEqual(expect.any(Function));
    expect(() => natsConnectionOptions({ servers: 'a', name: 'n', credsFile: file('bad.creds', 'hello') })).toThrow('not a NATS credentials file');
    expect(() => natsConnectionOptions({ servers: 'a', name: 'n', credsFile: file('u2.creds', CREDS), user: 'x', passwordFile: file('pw2', 'p') })).toThrow('not both');
  });

  it('describes what a connection presents without a secret', () => {
    expect(describeNatsSecurity({})).toEqual({ tls: 'off', auth: 'none' });
    expect(describeNatsSecurity({ tls: { caFile: 'ca' } })).toEqual({ tls: 'server-verified', auth: 'none' });
    expect(describeNatsSecurity({ tls: { certFile: 'c', keyFile: 'k' }, credsFile: 'x' })).toEqual({ tls: 'mutual', auth: 'credentials' });
    expect(describeNatsSecurity({ user: 'u', passwordFile: 'p' })).toEqual({ tls: 'off', auth: 'user' });
  });
});

describe('natsSecurityFromConfig', () => {
  const base: NatsSecurityConfig = { natsTls: false, natsCaFile: undefined, natsCredsFile: undefined, natsUser: undefined, natsPasswordFile: undefined };
  const own = { tlsCertFile: 'own.crt', tlsKeyFile: 'own.key', tlsCaFile: 'own-ca.crt' };

  it('is plaintext without TLS and presents nothing', () => {
    expect(natsSecurityFromConfig('FS', base, own)).toEqual({});
  });

  it('with TLS presents the component certificate and trusts its CA unless told another', () => {
    expect(natsSecurityFromConfig('FS', { ...base, natsTls: true }, own)).toEqual({ tls: { caFile: 'own-ca.crt', certFile: 'own.crt', keyFile: 'own.key' } });
    expect(natsSecurityFromConfig('FS', { ...base, natsTls: true, natsCaFile: 'nats-ca.crt' }, own).tls?.caFile).toBe('nats-ca.crt');
    expect(natsSecurityFromConfig('FS', { ...base, natsTls: true }, {})).toEqual({ tls: {} });
  });

  it('names the variables of a combination that cannot work', () => {
    const bad = (): unknown => natsSecurityFromConfig('FS', { ...base, natsCaFile: 'x', natsCredsFile: 'c', natsUser: 'u' }, own);
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        'FS_NATS_CA_FILE is set but FS_NATS_TLS is not true: set FS_NATS_TLS=true to connect with TLS',
        'FS_NATS_USER and FS_NATS_PASSWORD_FILE must be set together',
        'FS_NATS_CREDS_FILE and FS_NATS_USER are both set: NATS takes one of them',
      ]);
    }
  });
});
