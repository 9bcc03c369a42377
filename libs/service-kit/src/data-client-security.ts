// How a service proves itself to a data tier it connects to (NATS, Redis) and checks the
// server: TLS presenting the service's own certificate, and a user with a password read from
// a file. The variables are declared by the library of each tier (`<PREFIX>_TLS`,
// `<PREFIX>_CA_FILE`, `<PREFIX>_USER`, `<PREFIX>_PASSWORD_FILE`); the rules that join them
// to the service's certificate are here, once.
import { readFileSync } from 'node:fs';
import { ConfigError } from './config';

/** TLS and a user of a data-tier connection. */
export interface DataClientSecurity {
  /** TLS: `caFile` verifies the server (default: the system's roots); `certFile` + `keyFile` are presented as the client certificate. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** A user, with its password in `passwordFile` (first non-empty line). */
  user?: string;
  passwordFile?: string;
}

/** What a service's configuration says about one data-tier connection. */
export interface DataClientSecuritySettings {
  tls: boolean;
  caFile: string | undefined;
  user: string | undefined;
  passwordFile: string | undefined;
}

/** The service's own certificate and CA (PINRANK_TLS_CERT_FILE, PINRANK_TLS_KEY_FILE, PINRANK_TLS_CA_FILE). */
export interface ServiceTlsFiles {
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
  tlsCaFile?: string | undefined;
}

/**
 * The security of a connection from `<prefix>_*` settings. With TLS, the client presents
 * the service's certificate when it has one and verifies the server with `<prefix>_CA_FILE`,
 * else PINRANK_TLS_CA_FILE, else the system's roots. Returns the problems of a combination
 * that cannot work (a CA file without TLS, a user without a password file or the reverse)
 * rather than throwing, so the caller can report them with its own.
 */
export function dataClientSecurity(prefix: string, s: DataClientSecuritySettings, own: ServiceTlsFiles): { security: DataClientSecurity; problems: string[] } {
  const problems: string[] = [];
  if (s.caFile && !s.tls) problems.push(`${prefix}_CA_FILE is set but ${prefix}_TLS is not true: set ${prefix}_TLS=true to connect with TLS`);
  if (Boolean(s.user) !== Boolean(s.passwordFile)) problems.push(`${prefix}_USER and ${prefix}_PASSWORD_FILE must be set together`);
  const caFile = s.caFile ?? own.tlsCaFile;
  const security: DataClientSecurity = {
    ...(s.tls ? { tls: { ...(caFile ? { caFile } : {}), ...(own.tlsCertFile && own.tlsKeyFile ? { certFile: own.tlsCertFile, keyFile: own.tlsKeyFile } : {}) } } : {}),
    ...(s.user && s.passwordFile ? { user: s.user, passwordFile: s.passwordFile } : {}),
  };
  return { security, problems };
}

/** {@link dataClientSecurity} that throws a ConfigError naming the variables of each problem. */
export function dataClientSecurityOrThrow(prefix: string, s: DataClientSecuritySettings, own: ServiceTlsFiles): DataClientSecurity {
  const { security, problems } = dataClientSecurity(prefix, s, own);
  if (problems.length > 0) throw new ConfigError(problems);
  return security;
}

/** The first non-empty line of a secret file, trimmed. Throws TypeError naming `what` and the path when it cannot be read or is empty. */
export function readSecretLine(what: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TypeError(`cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
  const line = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== '');
  if (!line) throw new TypeError(`the ${what} ${file} is empty`);
  return line;
}

/** How a connection uses TLS, for a log line or an error: not at all, verifying the server only, or both ways. */
export function tlsMode(security: DataClientSecurity | undefined): 'off' | 'server-verified' | 'mutual' {
  return !security?.tls ? 'off' : security.tls.certFile ? 'mutual' : 'server-verified';
}

/** Refuses a certificate without its key (or the reverse): TypeError naming `who`. */
export function checkClientCertificate(who: string, tls: DataClientSecurity['tls']): void {
  if (tls && Boolean(tls.certFile) !== Boolean(tls.keyFile)) throw new TypeError(`${who}: a TLS client certificate needs both its certificate and its key file`);
}
