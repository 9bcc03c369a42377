import { ConfigError, dataClientSecurityOrThrow, vars, type ConfigOf, type DataClientSecurity, type ServiceTlsFiles } from '@pinrank/service-kit';

/**
 * The configuration variables of a store's Redis connections, `<prefix>_REDIS_*`: `_TLS`
 * (TLS presenting the service's own certificate, with `rediss://` URLs), `_CA_FILE` (the CA
 * that signed the Redis servers' certificates), and an ACL user `_USER` with `_PASSWORD_FILE`.
 */
export function redisSecurityVars(prefix: string) {
  return {
    redisTls: vars.bool(`${prefix}_REDIS_TLS`, false),
    redisCaFile: vars.optional(vars.file(`${prefix}_REDIS_CA_FILE`)),
    redisUser: vars.optional(vars.string(`${prefix}_REDIS_USER`)),
    redisPasswordFile: vars.optional(vars.file(`${prefix}_REDIS_PASSWORD_FILE`)),
  };
}

/** The parsed result of {@link redisSecurityVars}. */
export type RedisSecurityConfig = ConfigOf<ReturnType<typeof redisSecurityVars>>;

/**
 * The Redis security of a store from its configuration; with TLS, every one of `urls` must
 * be `rediss://`. Throws ConfigError, naming the variables, on a combination that cannot work.
 */
export function redisSecurityFromConfig(prefix: string, c: RedisSecurityConfig, own: ServiceTlsFiles, urls: Record<string, readonly string[]>): DataClientSecurity {
  const security = dataClientSecurityOrThrow(`${prefix}_REDIS`, { tls: c.redisTls, caFile: c.redisCaFile, user: c.redisUser, passwordFile: c.redisPasswordFile }, own);
  if (security.tls) {
    const plain = Object.entries(urls).flatMap(([variable, list]) =>
      list.filter((u) => !u.trim().startsWith('rediss://')).map((u) => `${variable}="${u}": not a rediss:// URL, and ${prefix}_REDIS_TLS=true: use rediss://`),
    );
    if (plain.length > 0) throw new ConfigError(plain);
  }
  return security;
}
