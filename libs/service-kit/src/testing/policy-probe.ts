import { Client, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { describeRule, type MethodRule, type ServicePolicy } from '../authz-policy';
import { channelCredentials, clientChannelOptions, type ClientTlsOptions } from '../client';
import { type MethodDefinitionLike, type ServiceDefinitionLike } from '../service';

/** The credentials a probe presents. */
export interface ProbeCredentials {
  tls?: ClientTlsOptions;
  /** Bearer token. */
  token?: string;
}

const raw = (b: Buffer): Buffer => b;

/**
 * Calls one method with an empty request in its own streaming shape (a
 * client stream sends one empty message) and resolves with the status code
 * name the server answered (OK when it succeeded).
 */
export async function probeMethod(address: string, def: MethodDefinitionLike<unknown, unknown>, creds: ProbeCredentials): Promise<string> {
  const client = new Client(address, channelCredentials(creds.tls, address), clientChannelOptions(creds.tls ? { tls: creds.tls } : {}, address));
  const md = new Metadata();
  if (creds.token) md.set('authorization', `Bearer ${creds.token}`);
  const options = { deadline: new Date(Date.now() + 10_000) };
  const empty = Buffer.alloc(0);
  try {
    return await new Promise<string>((resolve) => {
      const done = (err: ServiceError | null): void => resolve(err ? (GrpcStatus[err.code] ?? String(err.code)) : 'OK');
      if (!def.requestStream && !def.responseStream) {
        client.makeUnaryRequest(def.path, raw, raw, empty, md, options, (err) => done(err));
      } else if (def.requestStream && !def.responseStream) {
        const call = client.makeClientStreamRequest(def.path, raw, raw, md, options, (err) => done(err));
        call.write(empty);
        call.end();
      } else {
        let call;
        if (def.requestStream) {
          const bidi = client.makeBidiStreamRequest(def.path, raw, raw, md, options);
          bidi.end();
          call = bidi;
        } else {
          call = client.makeServerStreamRequest(def.path, raw, raw, empty, md, options);
        }
        call.on('data', () => undefined);
        call.on('error', (err: ServiceError) => done(err));
        call.on('end', () => done(null));
      }
    });
  } finally {
    client.close();
  }
}

/** One expectation of a policy table: a method, who calls it, and what the authorization layer must answer. */
export interface PolicyCase {
  /** "Service/Method as <who>". */
  name: string;
  method: MethodDefinitionLike<unknown, unknown>;
  /** A principal from the universe, or undefined for a caller without credentials. */
  caller: string | undefined;
  /** `refused-unauthenticated`, `refused-denied`, or `admitted` (the call reaches the handler). */
  expect: 'refused-unauthenticated' | 'refused-denied' | 'admitted';
}

function expectation(rule: MethodRule, caller: string | undefined): PolicyCase['expect'] {
  if (rule.kind === 'public') return 'admitted';
  if (caller === undefined) return 'refused-unauthenticated';
  if (rule.kind === 'authenticated' || rule.principals.includes(caller)) return 'admitted';
  return 'refused-denied';
}

/**
 * The table of cases for a policy: for every method, a caller without
 * credentials, every allowed principal, and one principal of the universe that
 * is not allowed (when there is one). Throws TypeError when the policy names a
 * method the definition lacks or leaves one out.
 */
export function policyCases(definition: ServiceDefinitionLike, policy: ServicePolicy, universe: readonly string[]): PolicyCase[] {
  const cases: PolicyCase[] = [];
  const methods = Object.values(definition).map((d) => [d.path.replace(/^\//, '').split('/')[1] ?? '', d] as const);
  for (const [method, def] of methods) {
    const rule = policy.rules.get(method);
    if (!rule) throw new TypeError(`${policy.serviceName}/${method} has no rule`);
    const allowed = rule.kind === 'principals' ? rule.principals.filter((p) => universe.includes(p)) : universe.slice(0, 1);
    const outsider = rule.kind === 'principals' ? universe.find((p) => !rule.principals.includes(p)) : undefined;
    for (const caller of [undefined, ...allowed, ...(outsider ? [outsider] : [])]) {
      cases.push({ name: `${method} [${describeRule(rule)}] as ${caller ?? 'nobody'}`, method: def, caller, expect: expectation(rule, caller) });
    }
  }
  if (policy.rules.size !== methods.length) throw new TypeError(`${policy.serviceName}: the policy names methods the service does not have`);
  return cases;
}

/** The status code names that mean the authorization layer let a call through (the handler answered). */
export function admittedCode(code: string): boolean {
  return code !== 'UNAUTHENTICATED' && code !== 'PERMISSION_DENIED' && code !== 'UNAVAILABLE';
}
