import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalPki } from './local-pki';

const DAY = 86_400_000;
let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'local-pki-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const identities = [{ name: 'ranker-router', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] }, { name: 'action-producer' }];
const cert = (file: string) => new X509Certificate(readFileSync(file));

describe('ensureLocalPki', () => {
  it('issues a CA and one certificate per identity, signed by it, with the SPIFFE ID and addresses asked for', () => {
    const pki = ensureLocalPki({ dir, identities });
    expect(pki.issued).toEqual(['ca', 'ranker-router', 'action-producer']);
    const ca = cert(pki.caFile);
    const router = cert(pki.files('ranker-router').certFile);
    expect(ca.ca).toBe(true);
    expect(router.ca).toBe(false);
    expect(router.checkIssued(ca)).toBe(true);
    expect(router.verify(ca.publicKey)).toBe(true);
    expect(router.subjectAltName?.split(', ').sort()).toEqual(
      ['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1', 'URI:spiffe://pinrank.local/ns/pinrank/sa/ranker-router'].sort(),
    );
    expect(router.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(statSync(pki.files('ranker-router').keyFile).mode & 0o777).toBe(0o600);
    expect(() => pki.files('nobody')).toThrow(/no identity "nobody"/);
  });

  it('reuses what is valid, re-issues what is missing, changed or about to expire, and everything under a new CA', () => {
    const first = ensureLocalPki({ dir, identities });
    const before = readFileSync(first.files('ranker-router').certFile, 'utf8');
    expect(ensureLocalPki({ dir, identities }).issued).toEqual([]);
    expect(readFileSync(first.files('ranker-router').certFile, 'utf8')).toBe(before);

    rmSync(first.files('action-producer').certFile);
    expect(ensureLocalPki({ dir, identities }).issued).toEqual(['action-producer']);

    const moved = [{ ...identities[0], ipAddresses: ['10.0.0.7'] }, identities[1]] as typeof identities;
    expect(ensureLocalPki({ dir, identities: moved }).issued).toEqual(['ranker-router']);

    expect(ensureLocalPki({ dir, identities: moved, now: new Date(Date.now() + 89.5 * DAY) }).issued).toEqual(['ranker-router', 'action-producer']);
    expect(ensureLocalPki({ dir, identities: moved, now: new Date(Date.now() + 400 * DAY) }).issued).toEqual(['ca', 'ranker-router', 'action-producer']);
  });

  it('replaces an unreadable certificate and refuses identity names that are not file-safe', () => {
    const pki = ensureLocalPki({ dir, identities });
    writeFileSync(pki.files('action-producer').certFile, 'garbage');
    expect(ensureLocalPki({ dir, identities }).issued).toEqual(['action-producer']);
    expect(() => ensureLocalPki({ dir, identities: [{ name: '../evil' }] })).toThrow(TypeError);
  });
});
