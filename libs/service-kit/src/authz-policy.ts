import { type ServiceDefinitionLike } from './service';

/** Who may call one method. */
export type MethodRule =
  /** Anybody, without a credential (health, reflection-like metadata). */
  | { readonly kind: 'public' }
  /** Any identified caller (a client certificate from the trusted CA, or a known token). */
  | { readonly kind: 'authenticated' }
  /** Only these principals. */
  | { readonly kind: 'principals'; readonly principals: readonly string[] };

/** Anybody may call the method, even without a credential. */
export const PUBLIC: MethodRule = Object.freeze({ kind: 'public' });

/** Any identified caller may call the method. */
export const AUTHENTICATED: MethodRule = Object.freeze({ kind: 'authenticated' });

/** Only the named principals may call the method. Throws TypeError when none is named. */
export function allow(...principals: string[]): MethodRule {
  if (principals.length === 0 || principals.some((p) => !p)) throw new TypeError('allow(): name at least one non-empty principal');
  return Object.freeze({ kind: 'principals', principals: Object.freeze([...new Set(principals)]) });
}

/** One service's declared policy: a rule for every method, by the method's proto name (e.g. "GetRealtimeSequence"). */
export interface ServicePolicy {
  /** Fully qualified service name, e.g. "pinrank.v1.FeatureServer". */
  readonly serviceName: string;
  /** Rule by proto method name. */
  readonly rules: ReadonlyMap<string, MethodRule>;
}

function pathParts(path: string): [string, string] {
  const [service = '', method = ''] = path.replace(/^\//, '').split('/');
  return [service, method];
}

/**
 * Declares who may call each method of a ts-proto service definition. The
 * type asks for a rule for every method, so a new RPC does not compile until
 * it says who may call it; a missing or unknown key also throws TypeError at run time.
 */
export function servicePolicy<D extends ServiceDefinitionLike>(definition: D, rules: { readonly [K in keyof D]: MethodRule }): ServicePolicy {
  const keys = Object.keys(definition);
  const first = definition[keys[0] ?? ''];
  if (!first) throw new TypeError('servicePolicy: the service definition has no methods');
  const [serviceName] = pathParts(first.path);
  const given = rules as Record<string, MethodRule | undefined>;
  const unknown = Object.keys(given).filter((k) => !keys.includes(k));
  if (unknown.length > 0) throw new TypeError(`servicePolicy(${serviceName}): unknown methods ${unknown.join(', ')}; methods: ${keys.join(', ')}`);
  const out = new Map<string, MethodRule>();
  for (const key of keys) {
    const rule = given[key];
    const [, method] = pathParts((definition[key] as D[string]).path);
    if (!rule) throw new TypeError(`servicePolicy(${serviceName}): no rule for ${method}; every method must say who may call it`);
    out.set(method, rule);
  }
  return { serviceName, rules: out };
}

/** An extra principal allowed on one method (or every method, "*") of a service, from configuration. */
export interface AuthzGrant {
  readonly service: string;
  /** Proto method name, or "*" for every method of the service. */
  readonly method: string;
  readonly principal: string;
}

/** Parses "pinrank.v1.FeatureServer/GetRealtimeSequence=debug-tool" (method may be "*"). Throws Error naming what is wrong. */
export function parseAuthzGrant(raw: string): AuthzGrant {
  const m = /^([A-Za-z_][\w.]*)\/(\*|[A-Za-z_]\w*)=([^\s=,]+)$/.exec(raw.trim());
  if (!m?.[1] || !m[2] || !m[3]) throw new Error(`"${raw}" is not <package.Service>/<Method|*>=<principal>`);
  return { service: m[1], method: m[2], principal: m[3] };
}

/**
 * Adds configured grants to declared policies. A grant only ever widens a
 * principals rule; public and authenticated rules already admit the principal.
 * Throws TypeError for a grant naming a service or method that has no policy.
 */
export function withGrants(policies: readonly ServicePolicy[], grants: readonly AuthzGrant[]): ServicePolicy[] {
  const byName = new Map(policies.map((p) => [p.serviceName, new Map(p.rules)]));
  for (const g of grants) {
    const rules = byName.get(g.service);
    if (!rules) throw new TypeError(`authz grant ${g.service}/${g.method}: no such service here; services: ${[...byName.keys()].join(', ')}`);
    const methods = g.method === '*' ? [...rules.keys()] : [g.method];
    for (const method of methods) {
      const rule = rules.get(method);
      if (!rule) throw new TypeError(`authz grant ${g.service}/${g.method}: no such method; methods: ${[...rules.keys()].join(', ')}`);
      if (rule.kind === 'principals') rules.set(method, allow(...rule.principals, g.principal));
    }
  }
  return [...byName].map(([serviceName, rules]) => ({ serviceName, rules }));
}

/** A readable form of a rule, for docs, logs and errors. */
export function describeRule(rule: MethodRule): string {
  return rule.kind === 'principals' ? rule.principals.join(', ') : rule.kind;
}
