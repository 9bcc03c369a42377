import { type Metadata } from '@grpc/grpc-js';
import { type Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { allow, describeRule, PUBLIC, withGrants, type AuthzGrant, type MethodRule, type ServicePolicy } from './authz-policy';
import { PinrankError } from './errors';
import { ADMIN_PRINCIPAL, IdentityResolver, type AdminAuthOptions, type Caller, type IdentityToken, type PeerCertificateLike } from './identity';
import { type ServiceRegistration } from './service';

/**
 * Whether the server enforces its policies: `enforce` checks every method
 * against its service's policy; `off` leaves data methods open but still
 * guards admin methods; `auto` (default) enforces when policies are given and
 * callers can be identified (mutual TLS or identity tokens).
 */
export type AuthzMode = 'enforce' | 'off' | 'auto';

/** Authorization of a server's calls (see docs/security.md). */
export interface AuthzOptions {
  /** Default `auto`. */
  mode?: AuthzMode;
  /** One policy per registered service (health and reflection are always public). */
  policies?: readonly ServicePolicy[];
  /** Extra principals allowed on methods, from configuration. */
  grants?: readonly AuthzGrant[];
  /** Bearer tokens of principals (local use). */
  tokens?: readonly IdentityToken[];
  /** SPIFFE ID prefix whose remainder is the principal; default `spiffe://pinrank.local/ns/pinrank/sa/`. */
  spiffePrefix?: string;
}

/** What {@link Authorizer.create} needs from the server. */
export interface AuthorizerSetup {
  registrations: readonly ServiceRegistration[];
  authz: AuthzOptions;
  admin: AdminAuthOptions;
  /** Whether clients present certificates the server verified (mutual TLS). */
  mutualTls: boolean;
  /** Where the refusal counter lives (the server's metrics registry). */
  registry: Registry;
}

/** What the call handler tells the authorizer about a call. */
export interface CallCredentials {
  readonly metadata: Metadata;
  readonly certificate: PeerCertificateLike | undefined;
  readonly peer: string;
  /** The call's logger (it carries the trace id). */
  readonly logger: Logger;
}

const REFUSALS = 'rpc_server_authz_refusals_total';

function refusalCounter(registry: Registry): Counter<'service' | 'method' | 'code'> {
  const existing = registry.getSingleMetric(REFUSALS);
  if (existing) return existing as Counter<'service' | 'method' | 'code'>;
  return new Counter({
    name: REFUSALS,
    help: 'Calls refused before their handler ran, by service, method and code (UNAUTHENTICATED or PERMISSION_DENIED).',
    labelNames: ['service', 'method', 'code'],
    registers: [registry],
  });
}

function split(path: string): [string, string] {
  const [service = '', method = ''] = path.replace(/^\//, '').split('/');
  return [service, method];
}

/**
 * What keeps policies from covering registered services: every method of
 * every registration needs a rule, and an admin method's rule must name
 * principals. Empty when complete. Each app's tests call it with its real registrations.
 */
export function policyGaps(registrations: readonly ServiceRegistration[], policies: readonly ServicePolicy[]): string[] {
  const byService = new Map(policies.map((p) => [p.serviceName, p.rules]));
  const problems: string[] = [];
  for (const reg of registrations) {
    const declared = byService.get(reg.serviceName);
    for (const [key, def] of Object.entries(reg.definition)) {
      const [, method] = split(def.path);
      const rule = declared?.get(method);
      if (!rule) problems.push(`${reg.serviceName}/${method} has no rule`);
      else if (reg.adminMethods.has(key) && rule.kind !== 'principals') problems.push(`${reg.serviceName}/${method} is an admin method; its rule must name principals, not "${rule.kind}"`);
    }
  }
  return problems;
}

/**
 * The one place a server decides whether a call may run: it resolves the
 * caller from the call's credentials, checks the method's rule, and counts and
 * logs every refusal with the caller and the trace id.
 */
export class Authorizer {
  /** The mode in force (`auto` resolved). */
  readonly mode: 'enforce' | 'off';
  private readonly rules: ReadonlyMap<string, MethodRule>;
  private readonly identities: IdentityResolver;
  private readonly refusals: Counter<'service' | 'method' | 'code'>;

  private constructor(mode: 'enforce' | 'off', rules: Map<string, MethodRule>, identities: IdentityResolver, registry: Registry) {
    this.mode = mode;
    this.rules = rules;
    this.identities = identities;
    this.refusals = refusalCounter(registry);
  }

  /**
   * Builds the rule of every method of every registered service. Thrown by
   * (TypeError): in enforce mode a service or method without a rule, an admin
   * method whose rule is public or authenticated, a grant naming an unknown method.
   */
  static create(s: AuthorizerSetup): Authorizer {
    const identities = new IdentityResolver({
      admin: s.admin,
      ...(s.authz.tokens ? { tokens: s.authz.tokens } : {}),
      ...(s.authz.spiffePrefix ? { spiffePrefix: s.authz.spiffePrefix } : {}),
    });
    const policies = withGrants(s.authz.policies ?? [], s.authz.grants ?? []);
    const requested = s.authz.mode ?? 'auto';
    const mode = requested === 'auto' ? (policies.length > 0 && (s.mutualTls || identities.hasIdentityTokens) ? 'enforce' : 'off') : requested;
    const rules = new Map<string, MethodRule>();
    if (mode === 'off') {
      for (const reg of s.registrations) {
        for (const [key, def] of Object.entries(reg.definition)) rules.set(def.path, reg.adminMethods.has(key) ? allow(ADMIN_PRINCIPAL) : PUBLIC);
      }
    } else {
      const problems = policyGaps(s.registrations, policies);
      if (problems.length > 0) throw new TypeError(`startServer: authorization policy incomplete:\n  ${problems.join('\n  ')}`);
      const byService = new Map(policies.map((p) => [p.serviceName, p.rules]));
      for (const reg of s.registrations) {
        for (const def of Object.values(reg.definition)) rules.set(def.path, byService.get(reg.serviceName)?.get(split(def.path)[1]) ?? PUBLIC);
      }
    }
    return new Authorizer(mode, rules, identities, s.registry);
  }

  /** The rule of a method path ("/pkg.Service/Method"); public for paths the server does not know. */
  ruleFor(path: string): MethodRule {
    return this.rules.get(path) ?? PUBLIC;
  }

  /**
   * Checks one call before its handler runs. Returns the caller (undefined for
   * public methods). Throws UNAUTHENTICATED when no acceptable credential is
   * presented, PERMISSION_DENIED when the identified caller is not allowed.
   */
  authorize(path: string, call: CallCredentials): Caller | undefined {
    const rule = this.ruleFor(path);
    if (rule.kind === 'public') return undefined;
    const [service, method] = split(path);
    let caller: Caller | undefined;
    try {
      caller = this.check(rule, method, call);
    } catch (err) {
      const e = PinrankError.from(err);
      this.refusals.inc({ service, method, code: e.code });
      call.logger.warn({ caller: caller ?? this.describeCaller(call), peer: call.peer, code: e.code, reason: e.message }, 'call refused');
      throw e;
    }
    if (caller.principal === ADMIN_PRINCIPAL) call.logger.info({ caller, peer: call.peer }, 'admin call authorised');
    return caller;
  }

  private check(rule: Exclude<MethodRule, { kind: 'public' }>, method: string, call: CallCredentials): Caller {
    const adminOnly = rule.kind === 'principals' && rule.principals.length === 1 && rule.principals[0] === ADMIN_PRINCIPAL;
    if (adminOnly && !this.identities.hasAdmins) {
      throw new PinrankError('PERMISSION_DENIED', 'admin RPCs are disabled on this server (no admin tokens or client identities configured)');
    }
    const caller = this.identities.resolve(call.metadata, call.certificate);
    if (!caller) {
      throw new PinrankError('UNAUTHENTICATED', `${method} needs a client certificate or "authorization: Bearer <token>" of: ${describeRule(rule)}`);
    }
    if (rule.kind === 'principals' && !rule.principals.includes(caller.principal)) {
      throw new PinrankError('PERMISSION_DENIED', `${caller.principal} may not call ${method}; allowed: ${describeRule(rule)}`);
    }
    return caller;
  }

  /** The caller for a refusal log line: who the credentials say it is, or "none". */
  private describeCaller(call: CallCredentials): Caller | 'none' {
    try {
      return this.identities.resolve(call.metadata, call.certificate) ?? 'none';
    } catch {
      return 'none';
    }
  }
}
