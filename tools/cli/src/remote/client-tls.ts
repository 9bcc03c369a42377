import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { type ClientTlsOptions } from '@pinrank/service-kit';

/** Where `pinrank start` keeps its certificates by default (its data folder's `pki/`). */
export const DEFAULT_TLS_DIR = '.cache/stack/pki';

/** How a client command finds its credentials. */
export interface ClientTlsFlags {
  /** Folder laid out by `pinrank start` (ca.crt, <identity>.crt/.key), or its data folder (holding them in pki/); default PINRANK_TLS_DIR or .cache/stack/pki. */
  tlsDir?: string;
  /** Talk plaintext even when certificates are there. */
  plaintext?: boolean;
}

/**
 * The TLS a client command uses: with --tls-dir (or without it and without
 * PINRANK_TLS_CERT_FILE), the CA and `identity`'s certificate from the stack's
 * certificate folder when it holds them (so commands work against a default
 * `pinrank start`); else the files PINRANK_TLS_CERT_FILE, PINRANK_TLS_KEY_FILE
 * and PINRANK_TLS_CA_FILE name (a pod's mounted certificate, whatever its
 * identity); plaintext otherwise or with --plaintext. Operators' commands
 * present the operator certificate (admin); `ingest` the producer's.
 */
export function clientTlsFor(flags: ClientTlsFlags, identity: string = SERVICE_IDENTITIES.operator): ClientTlsOptions | undefined {
  if (flags.plaintext) return undefined;
  const env = process.env;
  if (flags.tlsDir === undefined && env['PINRANK_TLS_CERT_FILE'] && env['PINRANK_TLS_KEY_FILE'] && env['PINRANK_TLS_CA_FILE']) {
    return { caFile: env['PINRANK_TLS_CA_FILE'], certFile: env['PINRANK_TLS_CERT_FILE'], keyFile: env['PINRANK_TLS_KEY_FILE'] };
  }
  const dir = resolve(flags.tlsDir ?? process.env['PINRANK_TLS_DIR'] ?? DEFAULT_TLS_DIR);
  // The certificate folder itself, or the data folder of a `pinrank start --data <dir>` holding it in pki/.
  const files = certificatesIn(dir, identity) ?? certificatesIn(join(dir, 'pki'), identity);
  if (!files && flags.tlsDir !== undefined) {
    throw new Error(`--tls-dir ${flags.tlsDir}: needs ca.crt, ${identity}.crt and ${identity}.key, in it or in its pki/ (as \`pinrank start --data <dir>\` writes them)`);
  }
  return files;
}

/** The CA and `identity`'s certificate and key in `dir`, when all three are there. */
function certificatesIn(dir: string, identity: string): ClientTlsOptions | undefined {
  const files = { caFile: join(dir, 'ca.crt'), certFile: join(dir, `${identity}.crt`), keyFile: join(dir, `${identity}.key`) };
  return Object.values(files).every((f) => existsSync(f)) ? files : undefined;
}
