import { ConfigError, vars, type ConfigOf } from '@pinrank/service-kit';
import { type NatsSecurity } from './connection';

/**
 * The configuration variables of a component's NATS connection, `<prefix>_NATS_*`:
 * `_TLS` (connect with TLS, presenting the component's own certificate), `_CA_FILE` (the CA
 * that signed the NATS server's certificate), `_CREDS_FILE` (a NATS credentials file), and
 * `_USER` with `_PASSWORD_FILE`.
 */
export function natsSecurityVars(prefix: string) {
  return {
    natsTls: vars.bool(`${prefix}_NATS_TLS`, false),
    natsCaFile: vars.optional(vars.file(`${prefix}_NATS_CA_FILE`)),
    natsCredsFile: vars.optional(vars.file(`${prefix}_NATS_CREDS_FILE`)),
    natsUser: vars.optional(vars.string(`${prefix}_NATS_USER`)),
    natsPasswordFile: vars.optional(vars.file(`${prefix}_NATS_PASSWORD_FILE`)),
  };
}

/** The parsed result of {@link natsSecurityVars}. */
export type NatsSecurityConfig = ConfigOf<ReturnType<typeof natsSecurityVars>>;

/** The component's own TLS files (PINRANK_TLS_CERT_FILE, PINRANK_TLS_KEY_FILE, PINRANK_TLS_CA_FILE). */
export interface ComponentTlsFiles {
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
  tlsCaFile?: string | undefined;
}

/**
 * The NATS security of a component from its configuration. With `<prefix>_NATS_TLS`, the
 * client presents the component's certificate when it has one and verifies the server with
 * `<prefix>_NATS_CA_FILE`, else PINRANK_TLS_CA_FILE, else the system's roots. Throws
 * ConfigError, naming the variables, on a combination that cannot work.
 */
export function natsSecurityFromConfig(prefix: string, c: NatsSecurityConfig, own: ComponentTlsFiles): NatsSecurity {
  const problems: string[] = [];
  if (c.natsCaFile && !c.natsTls) problems.push(`${prefix}_NATS_CA_FILE is set but ${prefix}_NATS_TLS is not true: set ${prefix}_NATS_TLS=true to connect with TLS`);
  if (c.natsCredsFile && c.natsUser) problems.push(`${prefix}_NATS_CREDS_FILE and ${prefix}_NATS_USER are both set: NATS takes one of them`);
  if (Boolean(c.natsUser) !== Boolean(c.natsPasswordFile)) problems.push(`${prefix}_NATS_USER and ${prefix}_NATS_PASSWORD_FILE must be set together`);
  if (problems.length > 0) throw new ConfigError(problems);
  const caFile = c.natsCaFile ?? own.tlsCaFile;
  return {
    ...(c.natsTls
      ? { tls: { ...(caFile ? { caFile } : {}), ...(own.tlsCertFile && own.tlsKeyFile ? { certFile: own.tlsCertFile, keyFile: own.tlsKeyFile } : {}) } }
      : {}),
    ...(c.natsCredsFile ? { credsFile: c.natsCredsFile } : {}),
    ...(c.natsUser && c.natsPasswordFile ? { user: c.natsUser, passwordFile: c.natsPasswordFile } : {}),
  };
}
