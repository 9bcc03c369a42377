import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * For the tests of one file that run client commands against plaintext
 * servers: points the commands' default certificate folder (PINRANK_TLS_DIR,
 * else .cache/stack/pki) at one that does not exist, so the certificates a
 * developer's own `pinrank start` left in the checkout do not turn the
 * commands to TLS. Restored after the file's tests.
 */
export function withoutLocalStackTls(): void {
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env['PINRANK_TLS_DIR'];
    process.env['PINRANK_TLS_DIR'] = join(tmpdir(), 'pinrank-tests-without-tls');
  });
  afterAll(() => {
    if (saved === undefined) delete process.env['PINRANK_TLS_DIR'];
    else process.env['PINRANK_TLS_DIR'] = saved;
  });
}
