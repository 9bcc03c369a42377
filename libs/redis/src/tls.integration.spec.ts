// A Redis that speaks TLS only and wants a client certificate from the namespace's CA, and one
// with an ACL user: the stores' connections with the component's certificate and a password file.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalPki, type LocalPki } from '@pinrank/service-kit';
import { connectRedis, type RedisClient } from './connection';
import { startTlsRedis, type TlsRedis } from './testing';

const dir = mkdtempSync(join(tmpdir(), 'redis-tls-test-'));
let pki: LocalPki;
let other: LocalPki;
const servers: TlsRedis[] = [];
const clients: RedisClient[] = [];

beforeAll(() => {
  pki = ensureLocalPki({ dir: join(dir, 'pki'), identities: [{ name: 'redis', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, { name: 'feature-server', dnsNames: ['feature-server'] }] });
  other = ensureLocalPki({ dir: join(dir, 'other'), identities: [{ name: 'feature-server' }] });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function server(o: Partial<Parameters<typeof startTlsRedis>[0]> = {}): Promise<TlsRedis> {
  const s = await startTlsRedis({ ...pki.files('redis'), caFile: pki.caFile, ...o });
  servers.push(s);
  return s;
}

/** Connects (no retries: a refusal must surface) and PINGs. */
async function ping(o: Parameters<typeof connectRedis>[0]): Promise<string> {
  const c = connectRedis({ ...o, redis: { retryStrategy: () => null, maxRetriesPerRequest: 0, ...o.redis } });
  // ioredis reports why on its error event; connect() then only says the connection closed.
  const errors: string[] = [];
  c.on('error', (err: Error) => errors.push(err.message));
  clients.push(c);
  try {
    await c.connect();
    return await c.ping();
  } catch (err) {
    throw new Error([...errors, (err as Error).message].join('; '));
  }
}

describe('Redis over mutual TLS', () => {
  it('connects with the component certificate and the private CA', async () => {
    const s = await server();
    expect(await ping({ url: s.url, connectionName: 'tls-test', security: { tls: { caFile: pki.caFile, ...pki.files('feature-server') } } })).toBe('PONG');
  });

  it('is refused without a client certificate, with one from another CA, and when it does not trust the server', async () => {
    const s = await server();
    await expect(ping({ url: s.url, connectionName: 'tls-test', security: { tls: { caFile: pki.caFile } } })).rejects.toThrow();
    await expect(ping({ url: s.url, connectionName: 'tls-test', security: { tls: { caFile: pki.caFile, ...other.files('feature-server') } } })).rejects.toThrow();
    await expect(ping({ url: s.url, connectionName: 'tls-test', security: { tls: { caFile: other.caFile, ...pki.files('feature-server') } } })).rejects.toThrow();
  });

  it('refuses TLS settings with a redis:// URL, and a certificate without its key, before connecting', () => {
    expect(() => connectRedis({ url: 'redis://127.0.0.1:6379', connectionName: 'x', security: { tls: { caFile: pki.caFile } } })).toThrow(
      'redis.url: "redis://127.0.0.1:6379" is not a rediss:// URL, and TLS is on: use rediss://',
    );
    expect(() => connectRedis({ url: 'rediss://127.0.0.1:6379', connectionName: 'x', security: { tls: { certFile: 'a.crt' } } })).toThrow('needs both its certificate and its key file');
    expect(() => connectRedis({ url: 'rediss://127.0.0.1:6379', connectionName: 'x', security: { tls: { caFile: join(dir, 'missing.crt') } } })).toThrow(/cannot read the CA file .*missing\.crt/);
  });
});

describe('a renewed certificate', () => {
  it('is used from the next connection on, without a new client', async () => {
    const s = await server();
    // The files the client is configured with, swapped under it as cert-manager swaps a Secret's.
    const certFile = join(dir, 'rotating.crt');
    const keyFile = join(dir, 'rotating.key');
    const install = (from: { certFile: string; keyFile: string }): void => {
      copyFileSync(from.certFile, certFile);
      copyFileSync(from.keyFile, keyFile);
    };
    install(pki.files('feature-server'));
    const c = connectRedis({ url: s.url, connectionName: 'rotation-test', security: { tls: { caFile: pki.caFile, certFile, keyFile } }, redis: { retryStrategy: () => 50 } });
    const errors: string[] = [];
    c.on('error', (err: Error) => errors.push(err.message));
    clients.push(c);
    await c.connect();
    expect(await c.ping()).toBe('PONG');
    // A certificate the server does not accept: the next connection presents it and is refused.
    install(other.files('feature-server'));
    c.disconnect(true);
    const until = Date.now() + 10_000;
    while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(errors.length).toBeGreaterThan(0);
    expect(c.status).not.toBe('ready');
    // Renewed again with a good one: the same client connects.
    install(pki.files('feature-server'));
    while (c.status !== 'ready' && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(await c.ping()).toBe('PONG');
  });
});

describe('an outage', () => {
  it('is reported once when the connection drops and once when it is back, however many tries lie between', async () => {
    const s = await server();
    const lines: string[] = [];
    const logger = { warn: (_f: Record<string, unknown>, m: string) => void lines.push(`warn ${m}`), info: (_f: Record<string, unknown>, m: string) => void lines.push(`info ${m}`) };
    const c = connectRedis({ url: s.url, connectionName: 'outage-test', security: { tls: { caFile: pki.caFile, ...pki.files('feature-server') } }, logger, redis: { retryStrategy: () => 50 } });
    let tries = 0;
    c.on('error', () => void tries++);
    clients.push(c);
    await c.connect();
    await s.kill();
    const until = Date.now() + 10_000;
    while (tries < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(tries).toBeGreaterThanOrEqual(5);
    await s.start();
    while (c.status !== 'ready' && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(await c.ping()).toBe('PONG');
    expect(lines).toEqual(['warn redis: connection lost; reconnecting', 'info redis: reconnected']);
  });
});

describe('an ACL user with a password file', () => {
  it('authenticates as the user, and a wrong password is refused', async () => {
    const s = await server({ requireClientCert: false, user: { name: 'feature-server', password: 'right' } });
    const pw = (text: string): string => {
      const f = join(dir, `pw-${Math.random()}`);
      writeFileSync(f, text);
      return f;
    };
    const tls = { caFile: pki.caFile };
    expect(await ping({ url: s.url, connectionName: 'acl-test', security: { tls, user: 'feature-server', passwordFile: pw('right\n') } })).toBe('PONG');
    await expect(ping({ url: s.url, connectionName: 'acl-test', security: { tls, user: 'feature-server', passwordFile: pw('wrong') } })).rejects.toThrow(/WRONGPASS|invalid username-password/i);
    expect(() => connectRedis({ url: s.url, connectionName: 'x', security: { user: 'feature-server' } })).toThrow('a user needs a password file');
  });
});
