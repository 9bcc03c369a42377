import { createHash, timingSafeEqual } from 'node:crypto';
import { type Metadata } from '@grpc/grpc-js';
import { PinrankError } from './errors';

/**
 * The principal of operators. Only the admin settings grant it (admin tokens,
 * listed admin certificate identities): a certificate or identity token that
 * merely names itself "admin" does not.
 */
export const ADMIN_PRINCIPAL = 'admin';

/** The SPIFFE ID prefix whose remainder is a principal: `spiffe://pinrank.local/ns/pinrank/sa/ranker-router` → `ranker-router`. */
export const DEFAULT_SPIFFE_PREFIX = 'spiffe://pinrank.local/ns/pinrank/sa/';

/** Who may call admin RPCs. With neither list set, nobody is an admin. */
export interface AdminAuthOptions {
  /** Bearer tokens accepted in the `authorization: Bearer <token>` metadata (from secrets). */
  tokens?: readonly string[];
  /**
   * mTLS client identities that are admins: a certificate matches when its
   * subject CN or one of its subjectAltName values (DNS, URI, IP, email) is listed.
   */
  allowedIdentities?: readonly string[];
}

/** A bearer token standing for a principal (local use; production uses client certificates). */
export interface IdentityToken {
  readonly principal: string;
  readonly token: string;
}

/** How callers are identified. Defaults: no tokens, no admins, {@link DEFAULT_SPIFFE_PREFIX}. */
export interface IdentityOptions {
  /** Admin tokens and admin certificate identities; they grant {@link ADMIN_PRINCIPAL}. */
  admin?: AdminAuthOptions;
  /** Bearer tokens of other principals (e.g. `action-producer`); "admin" is refused here. */
  tokens?: readonly IdentityToken[];
  /** A URI SAN starting with this prefix names the principal by its remainder. */
  spiffePrefix?: string;
}

/** The peer certificate fields the check reads (a subset of Node's PeerCertificate). */
export interface PeerCertificateLike {
  subject?: { CN?: string | string[] } | null;
  subjectaltname?: string;
}

/** An identified caller. */
export interface Caller {
  /** The name policies list (e.g. "ranker-router", "admin"). */
  readonly principal: string;
  /** How it was identified. */
  readonly via: 'mtls' | 'token';
  /** What matched, safe to log: the certificate identity, or "admin token #i" / "token of <principal>" (never a token). */
  readonly credential: string;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** All identities a certificate presents: its CN and every subjectAltName value. */
export function certificateIdentities(cert: PeerCertificateLike | undefined): string[] {
  if (!cert) return [];
  const ids: string[] = [];
  const cn = cert.subject?.CN;
  if (typeof cn === 'string') ids.push(cn);
  else if (Array.isArray(cn)) ids.push(...cn);
  for (const part of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*(?:DNS|URI|IP Address|email):(.+)$/.exec(part);
    if (m?.[1]) ids.push(m[1].trim());
  }
  return ids;
}

function uriSans(cert: PeerCertificateLike): string[] {
  return (cert.subjectaltname ?? '')
    .split(',')
    .map((p) => /^\s*URI:(.+)$/.exec(p)?.[1]?.trim())
    .filter((u): u is string => u !== undefined);
}

/**
 * Turns the credentials of a call into a {@link Caller}: a bearer token when
 * one is sent (it wins over the certificate), otherwise the verified client
 * certificate. Certificate principal: a listed admin identity → "admin"; a URI
 * SAN under the SPIFFE prefix → its remainder; another `spiffe://` URI → the
 * whole URI; otherwise the subject CN.
 */
export class IdentityResolver {
  private readonly adminTokens: Buffer[];
  private readonly tokens: Array<{ principal: string; digest: Buffer }>;
  private readonly adminIdentities: ReadonlySet<string>;
  private readonly spiffePrefix: string;

  /** Throws TypeError for an identity token of the reserved admin principal or an empty token or principal. */
  constructor(options: IdentityOptions = {}) {
    this.adminTokens = (options.admin?.tokens ?? []).map(digest);
    this.adminIdentities = new Set(options.admin?.allowedIdentities ?? []);
    this.spiffePrefix = options.spiffePrefix ?? DEFAULT_SPIFFE_PREFIX;
    this.tokens = (options.tokens ?? []).map((t, i) => {
      if (!t.principal || !t.token) throw new TypeError(`identity token #${i}: principal and token must be non-empty`);
      if (t.principal === ADMIN_PRINCIPAL) throw new TypeError(`identity token #${i}: "${ADMIN_PRINCIPAL}" is granted by admin tokens only`);
      return { principal: t.principal, digest: digest(t.token) };
    });
  }

  /** Whether any identity token is configured (tokens alone identify callers without mTLS). */
  get hasIdentityTokens(): boolean {
    return this.tokens.length > 0;
  }

  /** Whether anybody can be an admin. */
  get hasAdmins(): boolean {
    return this.adminTokens.length > 0 || this.adminIdentities.size > 0;
  }

  /**
   * The caller, or undefined when it presents no credential. Throws
   * UNAUTHENTICATED for a malformed authorization header or a token nobody issued.
   */
  resolve(metadata: Metadata, certificate: PeerCertificateLike | undefined): Caller | undefined {
    const header = metadata.get('authorization')[0];
    if (header !== undefined) return this.fromToken(typeof header === 'string' ? header : header.toString('utf8'));
    return certificate ? this.fromCertificate(certificate) : undefined;
  }

  private fromToken(header: string): Caller {
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m?.[1]) throw new PinrankError('UNAUTHENTICATED', 'authorization metadata must be "Bearer <token>"');
    const presented = digest(m[1].trim());
    // Compare digests in constant time so the check leaks neither content nor length.
    const admin = this.adminTokens.findIndex((d) => timingSafeEqual(d, presented));
    if (admin >= 0) return { principal: ADMIN_PRINCIPAL, via: 'token', credential: `admin token #${admin}` };
    const known = this.tokens.find((t) => timingSafeEqual(t.digest, presented));
    if (known) return { principal: known.principal, via: 'token', credential: `token of ${known.principal}` };
    throw new PinrankError('UNAUTHENTICATED', 'bearer token not accepted');
  }

  private fromCertificate(cert: PeerCertificateLike): Caller | undefined {
    const ids = certificateIdentities(cert);
    const admin = ids.find((id) => this.adminIdentities.has(id));
    if (admin !== undefined) return { principal: ADMIN_PRINCIPAL, via: 'mtls', credential: admin };
    const uris = uriSans(cert);
    const scoped = uris.find((u) => u.startsWith(this.spiffePrefix) && u.length > this.spiffePrefix.length);
    const spiffe = scoped ?? uris.find((u) => u.startsWith('spiffe://'));
    const cn = cert.subject?.CN;
    const credential = spiffe ?? (Array.isArray(cn) ? cn[0] : cn);
    if (!credential) return undefined;
    let principal = scoped ? scoped.slice(this.spiffePrefix.length) : credential;
    // "admin" comes from the admin settings only; a certificate naming itself so keeps its full name.
    if (principal === ADMIN_PRINCIPAL) principal = spiffe ?? `CN=${credential}`;
    return { principal, via: 'mtls', credential };
  }
}
