// Real nats-server processes: mutual TLS with certificates mapped to users by their SPIFFE
// IDs, a user and password, and a connection that outlives NATS's ten reconnect attempts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SPIFFE_PREFIX as SPIFFE, ensureLocalPki, type LocalPki } from '@pinrank/service-kit';
import { type NatsConnection } from 'nats';
import { connectNats } from './connection';
import { startNatsServer, type NatsTestServer } from './testing';

const dir = mkdtempSync(join(tmpdir(), 'nats-conn-'));
// Client certificates carry DNS names besides the SPIFFE ID, as cert-manager issues them: NATS still maps the SPIFFE ID.
const identities = [{ name: 'nats', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, { name: 'feature-server', dnsNames: ['feature-server', 'feature-server.pinrank.svc'] }, { name: 'action-producer' }, { name: 'stranger' }];
let pki: LocalPki;
let otherPki: LocalPki;
const open: NatsConnection[] = [];
const servers: NatsTestServer[] = [];

beforeAll(() => {
  pki = ensureLocalPki({ dir: join(dir, 'pki'), identities });
  otherPki = ensureLocalPki({ dir: join(dir, 'other-pki'), identities: [{ name: 'feature-server' }] });
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function server(o: Parameters<typeof startNatsServer>[0]): Promise<NatsTestServer> {
  const s = await startNatsServer(o);
  servers.push(s);
  return s;
}

const keep = (nc: NatsConnection): NatsConnection => (open.push(nc), nc);

describe('mutual TLS, certificates mapped to users', () => {
  let s: NatsTestServer;
  beforeEach(async () => {
    s = await server({
      jetstream: false,
      tls: { ...pki.files('nats'), caFile: pki.caFile, clients: 'verify_and_map' },
      users: [
        { user: `${SPIFFE}feature-server`, subscribe: ['pinrank.actions.>', '_INBOX.>'], publish: ['_INBOX.>'] },
        { user: `${SPIFFE}action-producer`, publish: ['pinrank.actions.>'], subscribe: ['_INBOX.>'] },
      ],
    });
  });

  it('lets a mapped identity in, and its messages through', async () => {
    const consumer = keep(await connectNats({ servers: s.url, name: 'fs', tls: { caFile: pki.caFile, ...pki.files('feature-server') } }));
    const producer = keep(await connectNats({ servers: s.url, name: 'producer', tls: { caFile: pki.caFile, ...pki.files('action-producer') } }));
    const sub = consumer.subscribe('pinrank.actions.>', { max: 1 });
    await consumer.flush();
    producer.publish('pinrank.actions.3', new TextEncoder().encode('hello'));
    for await (const m of sub) expect(new TextDecoder().decode(m.data)).toBe('hello');
  });

  it('refuses a client without a certificate, with one of an unmapped identity, and one from another CA', async () => {
    // The server closes a refused handshake without a reason the client can read: a timeout, explained.
    await expect(connectNats({ servers: s.url, name: 'x', connectTimeoutMs: 1000, tls: { caFile: pki.caFile } })).rejects.toThrow(
      /cannot connect to tls:\/\/127\.0\.0\.1:\d+ \(TLS server-verified, auth none\): TIMEOUT \(.*none was presented/,
    );
    await expect(connectNats({ servers: s.url, name: 'x', tls: { caFile: pki.caFile, ...pki.files('stranger') } })).rejects.toThrow(/TLS mutual, auth none\): .*Authorization Violation/i);
    await expect(connectNats({ servers: s.url, name: 'x', connectTimeoutMs: 1000, tls: { caFile: pki.caFile, ...otherPki.files('feature-server') } })).rejects.toThrow(
      /TLS mutual, auth none\): TIMEOUT \(.*refused the client certificate/,
    );
  });

  it('says what to set when a tls:// URL comes without the TLS settings', async () => {
    await expect(connectNats({ servers: s.url, name: 'x', connectTimeoutMs: 1000 })).rejects.toThrow(/TLS off, auth none\): .*certificate.*turn the service's NATS TLS setting on, with the CA that signed it/);
  });

  it('refuses to talk plaintext to a TLS server and a server whose CA it does not trust', async () => {
    await expect(connectNats({ servers: s.url.replace('tls://', 'nats://'), name: 'x' })).rejects.toThrow(/cannot connect .*TLS off/);
    await expect(connectNats({ servers: s.url, name: 'x', connectTimeoutMs: 1000, tls: { caFile: otherPki.caFile, ...pki.files('feature-server') } })).rejects.toThrow(/cannot connect/);
  });
});

describe('user and password', () => {
  it('connects with the password file and names the refused user otherwise', async () => {
    const s = await server({ jetstream: false, users: [{ user: 'feature-server', password: 'right' }] });
    const pw = (text: string): string => {
      const f = join(dir, `pw-${Math.random()}`);
      writeFileSync(f, text);
      return f;
    };
    const nc = keep(await connectNats({ servers: s.url, name: 'fs', user: 'feature-server', passwordFile: pw('right\n') }));
    expect(nc.isClosed()).toBe(false);
    await expect(connectNats({ servers: s.url, name: 'fs', user: 'feature-server', passwordFile: pw('wrong') })).rejects.toThrow(/auth user\): .*Authorization Violation/i);
  });
});

describe('an outage', () => {
  it('outlives more reconnect attempts than NATS allows by default', async () => {
    const s = await server({ jetstream: false });
    const nc = keep(await connectNats({ servers: s.url, name: 'fs', reconnectTimeWaitMs: 50 }));
    await s.kill();
    // NATS's default gives up after 10 attempts: 10 × 50 ms here. Wait for well over that.
    await new Promise((r) => setTimeout(r, 1500));
    expect(nc.isClosed()).toBe(false);
    await s.start();
    const sub = nc.subscribe('after', { max: 1 });
    const deadline = Date.now() + 10_000;
    let got = '';
    const read = (async () => {
      for await (const m of sub) got = new TextDecoder().decode(m.data);
    })();
    while (!got && Date.now() < deadline) {
      nc.publish('after', new TextEncoder().encode('back'));
      await new Promise((r) => setTimeout(r, 100));
    }
    await read;
    expect(got).toBe('back');
  });
});
