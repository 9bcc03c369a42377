import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureStackPki } from '../stack/stack-pki';
import { clientTlsFor } from './client-tls';

let dir: string;
const saved = { ...process.env };
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-tls-'));
  ensureStackPki(dir, '127.0.0.1');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
});

describe('clientTlsFor', () => {
  it("uses the stack's certificate folder, the operator's certificate unless another identity is asked for", () => {
    const pki = join(dir, 'pki');
    expect(clientTlsFor({ tlsDir: pki })).toEqual({ caFile: join(pki, 'ca.crt'), certFile: join(pki, 'pinrank-operator.crt'), keyFile: join(pki, 'pinrank-operator.key') });
    expect(clientTlsFor({ tlsDir: pki }, 'action-producer')?.certFile).toBe(join(pki, 'action-producer.crt'));
    expect(clientTlsFor({ tlsDir: pki, plaintext: true })).toBeUndefined();
  });

  it("takes the data folder of a `pinrank start --data <dir>` too (its pki/)", () => {
    expect(clientTlsFor({ tlsDir: dir })).toEqual(clientTlsFor({ tlsDir: join(dir, 'pki') }));
  });

  it('says what is missing in a given folder, and is plaintext when the default folder holds nothing', () => {
    expect(() => clientTlsFor({ tlsDir: join(dir, 'pki', 'nothing-here') })).toThrow(/needs ca.crt, pinrank-operator.crt and pinrank-operator.key, in it or in its pki\//);
    process.env['PINRANK_TLS_DIR'] = join(dir, 'nothing-here');
    expect(clientTlsFor({})).toBeUndefined();
  });

  it("uses a pod's mounted certificate named by PINRANK_TLS_*", () => {
    Object.assign(process.env, { PINRANK_TLS_CERT_FILE: '/t/tls.crt', PINRANK_TLS_KEY_FILE: '/t/tls.key', PINRANK_TLS_CA_FILE: '/t/ca.crt' });
    expect(clientTlsFor({})).toEqual({ caFile: '/t/ca.crt', certFile: '/t/tls.crt', keyFile: '/t/tls.key' });
  });
});
