import { createHash, timingSafeEqual } from 'node:crypto';
import { type Metadata } from '@grpc/grpc-js';
import { PinrankError } from './errors';

/** Who may call admin RPCs. With neither list set, every admin RPC is refused. */
export interface AdminAuthOptions {
  /** Bearer tokens accepted in the `authorization: Bearer <token>` metadata (from secrets). */
  tokens?: readonly string[];
  /**
   * mTLS client identities allowed without a token: a certificate matches when
   * its subject CN or one of its subjectAltName values (DNS, URI, IP, email) is listed.
   */
  allowedIdentities?: readonly string[];
}

/** The peer certificate fields the check reads (a subset of Node's PeerCertificate). */
export interface PeerCertificateLike {
  subject?: { CN?: string | string[] } | null;
  subjectaltname?: string;
}

/** The caller admitted to an admin RPC. */
export interface AdminPrincipal {
  /** "token" or "mtls". */
  kind: 'token' | 'mtls';
  /** The matched identity ("bearer token #i" for tokens, never the token itself). */
  id: string;
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

/**
 * Decides whether a call may run an admin RPC. Throws UNAUTHENTICATED when no
 * acceptable credential is presented (or a bad token is), PERMISSION_DENIED
 * when admin access is not configured or the client certificate is not allowed.
 */
export function authorizeAdmin(
  options: AdminAuthOptions,
  metadata: Metadata,
  peerCertificate: PeerCertificateLike | undefined,
): AdminPrincipal {
  const tokens = options.tokens ?? [];
  const allowed = options.allowedIdentities ?? [];
  if (tokens.length === 0 && allowed.length === 0) {
    throw new PinrankError('PERMISSION_DENIED', 'admin RPCs are disabled on this server (no admin tokens or client identities configured)');
  }
  const header = metadata.get('authorization')[0];
  if (header !== undefined) {
    const m = /^Bearer\s+(.+)$/i.exec(typeof header === 'string' ? header : header.toString('utf8'));
    if (!m?.[1]) throw new PinrankError('UNAUTHENTICATED', 'authorization metadata must be "Bearer <token>"');
    const presented = digest(m[1].trim());
    // Compare digests in constant time so the check leaks neither content nor length.
    const index = tokens.findIndex((t) => timingSafeEqual(digest(t), presented));
    if (index >= 0) return { kind: 'token', id: `bearer token #${index}` };
    throw new PinrankError('UNAUTHENTICATED', 'admin token not accepted');
  }
  const ids = certificateIdentities(peerCertificate);
  if (ids.length > 0) {
    const match = ids.find((id) => allowed.includes(id));
    if (match !== undefined) return { kind: 'mtls', id: match };
    throw new PinrankError('PERMISSION_DENIED', `client identity ${ids.join(', ')} is not allowed to call admin RPCs`);
  }
  throw new PinrankError('UNAUTHENTICATED', 'admin RPC: send "authorization: Bearer <token>" or use an allowed client certificate');
}
