import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SPIFFE_PREFIX } from '../identity';
import { ipBytes, issueCertificate, type IssuedCertificate } from './x509';

/** One identity to issue a certificate for. */
export interface LocalIdentity {
  /** Principal name: the file name, the CN and the end of the SPIFFE ID. */
  name: string;
  /** DNS names it serves under (servers); default none. */
  dnsNames?: readonly string[];
  /** IP addresses it serves on (servers); default none. */
  ipAddresses?: readonly string[];
}

/** Options of {@link ensureLocalPki}. */
export interface LocalPkiOptions {
  /** Folder holding `ca.crt`, `ca.key` and `<name>.crt`/`<name>.key` (created when missing). */
  dir: string;
  identities: readonly LocalIdentity[];
  /** SPIFFE prefix of the URI SANs; default {@link DEFAULT_SPIFFE_PREFIX}. */
  spiffePrefix?: string;
  /** CA lifetime; default 365 days. */
  caValidityDays?: number;
  /** Certificate lifetime; default 90 days. */
  validityDays?: number;
  /** Re-issue what expires within this many days; default 1. */
  renewWithinDays?: number;
  /** Clock (tests); default `new Date()`. */
  now?: Date;
}

/** The files of a local PKI. */
export interface LocalPki {
  dir: string;
  /** The CA certificate every service and client trusts. */
  caFile: string;
  /** Certificate and key of an identity. Throws TypeError for an identity the PKI does not hold. */
  files(name: string): { certFile: string; keyFile: string };
  /** What this call (re)issued: "ca" and identity names; empty when everything was reused. */
  issued: string[];
}

/**
 * The environment that runs a pinrank server with `identity`'s certificate of
 * a local PKI: mutual TLS served and used for its own calls, its policies
 * enforced, and `operator`'s certificate mapped to the admin principal.
 */
export function localPkiServerEnv(pki: LocalPki, identity: string, operator: string, spiffePrefix = DEFAULT_SPIFFE_PREFIX): Record<string, string> {
  const own = pki.files(identity);
  return {
    PINRANK_TLS_CERT_FILE: own.certFile,
    PINRANK_TLS_KEY_FILE: own.keyFile,
    PINRANK_TLS_CLIENT_CA_FILE: pki.caFile,
    PINRANK_TLS_CA_FILE: pki.caFile,
    PINRANK_AUTHZ: 'enforce',
    PINRANK_SPIFFE_PREFIX: spiffePrefix,
    PINRANK_ADMIN_IDENTITIES: `${spiffePrefix}${operator}`,
  };
}

const DAY_MS = 86_400_000;
const CA_NAME = 'pinrank local CA';

/** An IP as Node prints it in subjectAltName (IPv6 as eight unpadded hex groups). */
function printedIp(ip: string): string {
  const b = ipBytes(ip);
  if (b.length === 4) return ip;
  return Array.from({ length: 8 }, (_, i) => (((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0)).toString(16)).join(':');
}

function wantedSans(id: LocalIdentity, prefix: string): string[] {
  return [...(id.dnsNames ?? []).map((d) => `DNS:${d}`), ...(id.ipAddresses ?? []).map((ip) => `IP Address:${printedIp(ip)}`), `URI:${prefix}${id.name}`].sort();
}

function readPair(certFile: string, keyFile: string): { x509: X509Certificate; pair: IssuedCertificate } | undefined {
  if (!existsSync(certFile) || !existsSync(keyFile)) return undefined;
  try {
    const certPem = readFileSync(certFile, 'utf8');
    return { x509: new X509Certificate(certPem), pair: { certPem, keyPem: readFileSync(keyFile, 'utf8') } };
  } catch {
    return undefined;
  }
}

function write(certFile: string, keyFile: string, pair: IssuedCertificate): void {
  writeFileSync(keyFile, pair.keyPem, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(certFile, pair.certPem);
}

/**
 * A local certificate authority and one certificate per identity, kept in a
 * folder: created on first use, reused afterwards, re-issued when a
 * certificate is missing, unreadable, about to expire, not signed by the
 * current CA, or names other addresses than asked (a new CA re-issues all).
 * For development stacks and tests; production certificates come from cert-manager.
 */
export function ensureLocalPki(o: LocalPkiOptions): LocalPki {
  const prefix = o.spiffePrefix ?? DEFAULT_SPIFFE_PREFIX;
  const now = o.now ?? new Date();
  const renewBy = new Date(now.getTime() + (o.renewWithinDays ?? 1) * DAY_MS);
  const names = o.identities.map((i) => i.name);
  const bad = names.find((n, i) => !/^[a-z0-9][a-z0-9.-]*$/.test(n) || names.indexOf(n) !== i);
  if (bad !== undefined) throw new TypeError(`ensureLocalPki: identity "${bad}" is duplicated or not a lower-case DNS-like name`);
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const issued: string[] = [];
  const fresh = (x: X509Certificate): boolean => new Date(x.validTo) > renewBy && new Date(x.validFrom) <= now;

  const caFile = join(o.dir, 'ca.crt');
  const caKeyFile = join(o.dir, 'ca.key');
  let ca = readPair(caFile, caKeyFile);
  if (!ca || !ca.x509.ca || !fresh(ca.x509)) {
    const pair = issueCertificate({
      subject: { commonName: CA_NAME },
      ca: true,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + (o.caValidityDays ?? 365) * DAY_MS),
    });
    write(caFile, caKeyFile, pair);
    ca = { x509: new X509Certificate(pair.certPem), pair };
    issued.push('ca');
  }
  const authority = ca;

  for (const id of o.identities) {
    const certFile = join(o.dir, `${id.name}.crt`);
    const keyFile = join(o.dir, `${id.name}.key`);
    const sans = wantedSans(id, prefix);
    const have = readPair(certFile, keyFile);
    const current =
      have !== undefined &&
      fresh(have.x509) &&
      have.x509.checkIssued(authority.x509) &&
      have.x509.verify(authority.x509.publicKey) &&
      (have.x509.subjectAltName ?? '').split(', ').sort().join('|') === sans.join('|');
    if (current) continue;
    write(
      certFile,
      keyFile,
      issueCertificate({
        subject: { commonName: id.name, ...(id.dnsNames ? { dnsNames: id.dnsNames } : {}), ...(id.ipAddresses ? { ipAddresses: id.ipAddresses } : {}), uris: [`${prefix}${id.name}`] },
        issuer: { certificate: authority.pair, commonName: CA_NAME },
        ca: false,
        notBefore: new Date(now.getTime() - 60_000),
        notAfter: new Date(now.getTime() + (o.validityDays ?? 90) * DAY_MS),
      }),
    );
    issued.push(id.name);
  }
  return {
    dir: o.dir,
    caFile,
    files(name) {
      if (!names.includes(name)) throw new TypeError(`local PKI: no identity "${name}"; identities: ${names.join(', ')}`);
      return { certFile: join(o.dir, `${name}.crt`), keyFile: join(o.dir, `${name}.key`) };
    },
    issued,
  };
}
