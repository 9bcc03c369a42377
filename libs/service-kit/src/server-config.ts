import { readFileSync } from 'node:fs';
import { parseAuthzGrant } from './authz-policy';
import { type ClientTlsOptions } from './client';
import { type ConfigOf, type ConfigVar, vars } from './config';
import { DEFAULT_SPIFFE_PREFIX, type IdentityToken } from './identity';
import { type ServerOptions } from './server-options';

/** Defaults an app gives for its own addresses (loopback: a deployment names the interface it wants). */
export interface ServerVarDefaults {
  /** gRPC bind address, e.g. "127.0.0.1:50051". */
  address: string;
  /** /metrics bind address, e.g. "127.0.0.1:51051". */
  metricsAddress: string;
}

/** Parses "principal=token" (the token may itself hold "="). */
export function parseIdentityToken(raw: string): IdentityToken {
  const at = raw.indexOf('=');
  const principal = raw.slice(0, at).trim();
  const token = raw.slice(at + 1).trim();
  if (at <= 0 || !token || /\s/.test(principal)) throw new Error('expected principal=token');
  return { principal, token };
}

function listOf<T>(variable: string, allowed: string, parse: (item: string) => T): ConfigVar<T[]> {
  return {
    variable,
    allowed,
    parse: (raw) =>
      (raw ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map((item, i) => {
          try {
            return parse(item);
          } catch (err) {
            // Never echo a token: name the entry by position.
            throw new Error(`entry #${i}: ${(err as Error).message}`);
          }
        }),
  };
}

/**
 * The configuration variables every pinrank server shares: `<PREFIX>_ADDR`,
 * `<PREFIX>_METRICS_ADDR`, TLS files, admin secrets, drain and connection-age
 * timings, message size and log level. Spread into an app's `readConfig` spec.
 */
export function serverVars(prefix: string, defaults: ServerVarDefaults) {
  return {
    address: vars.hostPort(`${prefix}_ADDR`, defaults.address),
    metricsAddress: vars.hostPort(`${prefix}_METRICS_ADDR`, defaults.metricsAddress),
    healthAddress: vars.optional(vars.hostPort(`${prefix}_HEALTH_ADDR`)),
    tlsCertFile: vars.optional(vars.file('PINRANK_TLS_CERT_FILE')),
    tlsKeyFile: vars.optional(vars.file('PINRANK_TLS_KEY_FILE')),
    tlsClientCaFile: vars.optional(vars.file('PINRANK_TLS_CLIENT_CA_FILE')),
    tlsCaFile: vars.optional(vars.file('PINRANK_TLS_CA_FILE')),
    tlsRequireClientCert: vars.bool('PINRANK_TLS_REQUIRE_CLIENT_CERT', true),
    adminTokens: vars.list('PINRANK_ADMIN_TOKENS', []),
    adminTokensFile: vars.optional(vars.file('PINRANK_ADMIN_TOKENS_FILE')),
    adminIdentities: vars.list('PINRANK_ADMIN_IDENTITIES', []),
    authz: vars.oneOf('PINRANK_AUTHZ', ['auto', 'enforce', 'off'] as const, 'auto'),
    identityTokens: listOf('PINRANK_IDENTITY_TOKENS', 'a comma-separated list of principal=token', parseIdentityToken),
    identityTokensFile: vars.optional(vars.file('PINRANK_IDENTITY_TOKENS_FILE')),
    authzAllow: listOf('PINRANK_AUTHZ_ALLOW', 'a comma-separated list of <package.Service>/<Method|*>=<principal>', parseAuthzGrant),
    spiffePrefix: vars.string('PINRANK_SPIFFE_PREFIX', DEFAULT_SPIFFE_PREFIX),
    shutdownTimeoutMs: vars.int('PINRANK_SHUTDOWN_TIMEOUT_MS', 15_000, { min: 1, max: 600_000 }),
    drainDelayMs: vars.int('PINRANK_DRAIN_DELAY_MS', 0, { min: 0, max: 600_000 }),
    maxConnectionAgeMs: vars.int('PINRANK_MAX_CONNECTION_AGE_MS', 300_000, { min: 1_000 }),
    maxMessageBytes: vars.int('PINRANK_MAX_MESSAGE_BYTES', 64 * 1024 * 1024, { min: 1024, max: 2 ** 31 - 1 }),
    logLevel: vars.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'info'),
    protoDir: vars.optional(vars.string('PINRANK_PROTO_DIR')),
  } satisfies Record<string, ConfigVar<unknown>>;
}

/** The parsed result of {@link serverVars}. */
export type ServerVarsConfig = ConfigOf<ReturnType<typeof serverVars>>;

function secretLines(file: string | undefined): string[] {
  if (!file) return [];
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'));
}

function fileTokens(file: string | undefined): IdentityToken[] {
  return secretLines(file).map((line, i) => {
    try {
      return parseIdentityToken(line);
    } catch {
      throw new TypeError(`PINRANK_IDENTITY_TOKENS_FILE: line ${i + 1} of the non-comment lines is not principal=token`);
    }
  });
}

/**
 * Maps the shared server variables onto ServerOptions (everything but name,
 * services and the apps' authorization policies). Throws TypeError when TLS
 * files are given by halves or a token file holds a malformed line.
 */
export function serverOptionsFromConfig(
  c: ServerVarsConfig,
): Omit<ServerOptions, 'name' | 'services'> & { address: string } {
  if ((c.tlsCertFile === undefined) !== (c.tlsKeyFile === undefined)) {
    throw new TypeError('PINRANK_TLS_CERT_FILE and PINRANK_TLS_KEY_FILE must be set together');
  }
  if (c.tlsClientCaFile !== undefined && c.tlsCertFile === undefined) {
    throw new TypeError('PINRANK_TLS_CLIENT_CA_FILE (mutual TLS) needs PINRANK_TLS_CERT_FILE and PINRANK_TLS_KEY_FILE');
  }
  if (c.tlsCaFile !== undefined && c.tlsCertFile === undefined) {
    throw new TypeError('PINRANK_TLS_CA_FILE (TLS to the services this one calls) needs PINRANK_TLS_CERT_FILE and PINRANK_TLS_KEY_FILE (its client certificate)');
  }
  return {
    address: c.address,
    metricsAddress: c.metricsAddress,
    ...(c.healthAddress ? { healthAddress: c.healthAddress } : {}),
    ...(c.tlsCertFile && c.tlsKeyFile
      ? {
          tls: {
            certFile: c.tlsCertFile,
            keyFile: c.tlsKeyFile,
            ...(c.tlsClientCaFile ? { clientCaFile: c.tlsClientCaFile, requireClientCert: c.tlsRequireClientCert } : {}),
          },
        }
      : {}),
    admin: { tokens: [...c.adminTokens, ...secretLines(c.adminTokensFile)], allowedIdentities: c.adminIdentities },
    authz: {
      mode: c.authz,
      tokens: [...c.identityTokens, ...fileTokens(c.identityTokensFile)],
      grants: c.authzAllow,
      spiffePrefix: c.spiffePrefix,
    },
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    drainDelayMs: c.drainDelayMs,
    maxConnectionAgeMs: c.maxConnectionAgeMs,
    maxReceiveMessageBytes: c.maxMessageBytes,
    maxSendMessageBytes: c.maxMessageBytes,
  };
}

/**
 * TLS of the calls a service makes to other services: with PINRANK_TLS_CA_FILE
 * set, servers are verified against it and this process presents its own
 * certificate (PINRANK_TLS_CERT_FILE/KEY_FILE) as client certificate, i.e. its
 * identity; otherwise plaintext (undefined).
 */
export function clientTlsFromConfig(c: Pick<ServerVarsConfig, 'tlsCaFile' | 'tlsCertFile' | 'tlsKeyFile'>): ClientTlsOptions | undefined {
  if (c.tlsCaFile === undefined) return undefined;
  return { caFile: c.tlsCaFile, ...(c.tlsCertFile && c.tlsKeyFile ? { certFile: c.tlsCertFile, keyFile: c.tlsKeyFile } : {}) };
}
