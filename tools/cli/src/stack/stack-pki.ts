import { isIP } from 'node:net';
import { join } from 'node:path';
import { SERVICE_IDENTITIES as ID } from '@pinrank/contracts';
import { ensureLocalPki, localPkiServerEnv, type ClientTlsOptions, type LocalPki } from '@pinrank/service-kit';

/** The identity each process of a local stack presents, by its stack name. */
export const STACK_IDENTITIES = {
  router: ID.router,
  'feature-server': ID.featureServer,
  'embedding-store': ID.embeddingStore,
  'gpu-worker': ID.gpuWorker,
  'cpu-worker': ID.cpuWorker,
} as const;

/** The client identities a local stack issues: operators (admin), the action producer and the batch embedding job. */
export const STACK_CLIENT_IDENTITIES = [ID.operator, ID.producer, ID.embedJob] as const;

/** A server certificate the stack issues for a NATS server beside it (`pinrank start --nats tls://… --nats-tls`): localhost and 127.0.0.1. */
export const STACK_NATS_IDENTITY = 'nats';

/** The PKI folder of a stack's data folder. */
export const stackPkiDir = (dataDir: string): string => join(dataDir, 'pki');

/**
 * The stack's local CA and certificates under `<dataDir>/pki`: made on first
 * start, reused afterwards, re-issued when expired or when the bind host changed.
 * Servers are certified for localhost, 127.0.0.1 and `host` when it is an address.
 */
export function ensureStackPki(dataDir: string, host: string): LocalPki {
  const extra = isIP(host) && host !== '0.0.0.0' && host !== '::' && host !== '127.0.0.1' ? [host] : [];
  const dns = isIP(host) || host === 'localhost' ? ['localhost'] : ['localhost', host];
  return ensureLocalPki({
    dir: stackPkiDir(dataDir),
    identities: [
      ...Object.values(STACK_IDENTITIES).map((name) => ({ name, dnsNames: dns, ipAddresses: ['127.0.0.1', ...extra] })),
      ...STACK_CLIENT_IDENTITIES.map((name) => ({ name })),
      { name: STACK_NATS_IDENTITY, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', ...extra] },
    ],
  });
}

/** Client TLS presenting `identity`'s certificate of a stack PKI. */
export function stackClientTls(pki: LocalPki, identity: string): ClientTlsOptions {
  return { caFile: pki.caFile, ...pki.files(identity) };
}

/**
 * The environment that turns a service of the stack to mutual TLS with its
 * own certificate (served, and presented to the services it calls), its policy
 * enforced, and the operators' certificate mapped to the admin principal.
 */
export function stackTlsEnv(pki: LocalPki, identity: string): Record<string, string> {
  return localPkiServerEnv(pki, identity, ID.operator);
}
