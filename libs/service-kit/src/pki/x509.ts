import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { bits, boolean, context, integer, namedBits, octets, oid, sequence, set, time, utf8 } from './der';

/** What a certificate says about its holder. */
export interface CertificateSubject {
  /** Subject common name. */
  commonName: string;
  /** DNS subjectAltNames. */
  dnsNames?: readonly string[];
  /** IP subjectAltNames (v4 or v6). */
  ipAddresses?: readonly string[];
  /** URI subjectAltNames, e.g. a SPIFFE ID. */
  uris?: readonly string[];
}

/** A certificate and its private key, both PEM. */
export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

/** Options of {@link issueCertificate}. */
export interface IssueOptions {
  subject: CertificateSubject;
  /** The issuing CA; omitted for a self-signed CA certificate. */
  issuer?: { certificate: IssuedCertificate; commonName: string };
  /** A CA certificate (may sign others) or a leaf (server and client authentication). */
  ca: boolean;
  notBefore: Date;
  notAfter: Date;
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid(OID.organization), utf8('pinrank'))), set(sequence(oid(OID.commonName), utf8(commonName))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octets(value));
}

/** The bytes of an IPv4 or IPv6 address, as an iPAddress subjectAltName holds them. Throws TypeError for anything else. */
export function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new TypeError(`not an IP address: ${ip}`);
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.concat(groups.map((g) => Buffer.from([parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff])));
}

/** The key identifier RFC 5280 suggests: SHA-1 of the subjectPublicKey bits. */
function keyId(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // For a P-256 key the 65-byte point closes the SPKI; hashing the whole SPKI would do as well, this matches OpenSSL.
  return createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
}

/**
 * Issues an X.509 v3 certificate with a fresh ECDSA P-256 key, signed by the
 * issuer (or self-signed for a CA without issuer). Leaves carry both server and
 * client authentication, so one certificate is a service's identity in both directions.
 */
export function issueCertificate(o: IssueOptions): IssuedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const signingKey = o.issuer ? o.issuer.certificate.keyPem : privateKey;
  const issuerKey = o.issuer ? createPublicKey(o.issuer.certificate.keyPem) : publicKey;
  const s = o.subject;
  const sans = [
    ...(s.dnsNames ?? []).map((d) => context(2, false, Buffer.from(d, 'ascii'))),
    ...(s.ipAddresses ?? []).map((ip) => context(7, false, ipBytes(ip))),
    ...(s.uris ?? []).map((u) => context(6, false, Buffer.from(u, 'ascii'))),
  ];
  const extensions = [
    extension(OID.basicConstraints, true, o.ca ? sequence(boolean(true), integer(0)) : sequence()),
    // CA: digitalSignature, keyCertSign, cRLSign; leaf: digitalSignature.
    extension(OID.keyUsage, true, namedBits(o.ca ? [0, 5, 6] : [0])),
    ...(o.ca ? [] : [extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth), oid(OID.clientAuth)))]),
    ...(sans.length > 0 ? [extension(OID.subjectAltName, false, sequence(...sans))] : []),
    extension(OID.subjectKeyId, false, octets(keyId(publicKey))),
    extension(OID.authorityKeyId, false, sequence(context(0, false, keyId(issuerKey)))),
  ];
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const tbs = sequence(
    context(0, true, integer(2)),
    integer(serial),
    algorithm,
    name(o.issuer?.commonName ?? s.commonName),
    sequence(time(o.notBefore), time(o.notAfter)),
    name(s.commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
    context(3, true, sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, signingKey);
  const der = sequence(tbs, algorithm, bits(signature));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
