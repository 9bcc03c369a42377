import { readFileSync } from 'node:fs';
import { type ConfigOf, type ConfigVar, vars } from './config';
import { type ServerOptions } from './server-options';

/** Defaults an app gives for its own addresses. */
export interface ServerVarDefaults {
  /** gRPC bind address, e.g. "0.0.0.0:50051". */
  address: string;
  /** /metrics bind address, e.g. "0.0.0.0:51051". */
  metricsAddress: string;
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
    tlsCertFile: vars.optional(vars.file('PINRANK_TLS_CERT_FILE')),
    tlsKeyFile: vars.optional(vars.file('PINRANK_TLS_KEY_FILE')),
    tlsClientCaFile: vars.optional(vars.file('PINRANK_TLS_CLIENT_CA_FILE')),
    adminTokens: vars.list('PINRANK_ADMIN_TOKENS', []),
    adminTokensFile: vars.optional(vars.file('PINRANK_ADMIN_TOKENS_FILE')),
    adminIdentities: vars.list('PINRANK_ADMIN_IDENTITIES', []),
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

/**
 * Maps the shared server variables onto ServerOptions (everything but name and
 * services). Throws TypeError when TLS files are given by halves.
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
  const fileTokens = c.adminTokensFile
    ? readFileSync(c.adminTokensFile, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '' && !s.startsWith('#'))
    : [];
  return {
    address: c.address,
    metricsAddress: c.metricsAddress,
    ...(c.tlsCertFile && c.tlsKeyFile
      ? { tls: { certFile: c.tlsCertFile, keyFile: c.tlsKeyFile, ...(c.tlsClientCaFile ? { clientCaFile: c.tlsClientCaFile } : {}) } }
      : {}),
    admin: { tokens: [...c.adminTokens, ...fileTokens], allowedIdentities: c.adminIdentities },
    shutdownTimeoutMs: c.shutdownTimeoutMs,
    drainDelayMs: c.drainDelayMs,
    maxConnectionAgeMs: c.maxConnectionAgeMs,
    maxReceiveMessageBytes: c.maxMessageBytes,
    maxSendMessageBytes: c.maxMessageBytes,
  };
}
