import { ConfigError, dataClientSecurity, vars, type ConfigOf, type ServiceTlsFiles } from '@pinrank/service-kit';
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

/**
 * The NATS security of a component from its configuration (`dataClientSecurity` of the
 * service kit, plus the credentials file). Throws ConfigError, naming the variables, on a
 * combination that cannot work.
 */
export function natsSecurityFromConfig(prefix: string, c: NatsSecurityConfig, own: ServiceTlsFiles): NatsSecurity {
  const { security, problems } = dataClientSecurity(`${prefix}_NATS`, { tls: c.natsTls, caFile: c.natsCaFile, user: c.natsUser, passwordFile: c.natsPasswordFile }, own);
  if (c.natsCredsFile && c.natsUser) problems.push(`${prefix}_NATS_CREDS_FILE and ${prefix}_NATS_USER are both set: NATS takes one of them`);
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...security, ...(c.natsCredsFile ? { credsFile: c.natsCredsFile } : {}) };
}
