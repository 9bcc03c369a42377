import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type ServicePolicy } from '../authz-policy';
import { policyGaps } from '../authorizer';
import { admittedCode, policyCases, probeMethod, type PolicyCase } from './policy-probe';
import { type ClientTlsOptions } from '../client';
import { ADMIN_PRINCIPAL } from '../identity';
import { ensureLocalPki } from '../pki/local-pki';
import { startServer } from '../server';
import { defineService, type ServiceDefinitionLike, type ServiceRegistration } from '../service';

/** A server answering UNIMPLEMENTED behind a policy, and client credentials per principal. */
export interface PolicyServer {
  address: string;
  /** TLS presenting `principal`'s certificate ("admin": a certificate listed as admin identity); undefined: no certificate. */
  tlsAs(principal: string | undefined): ClientTlsOptions;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1:0 with mutual TLS (client certificates optional,
 * so a caller without one reaches the authorization layer), the given
 * policies enforced and no handlers: a call the policy admits answers
 * UNIMPLEMENTED. Certificates come from a local CA made in a temporary folder.
 */
export async function startPolicyServer(
  services: ReadonlyArray<{ definition: ServiceDefinitionLike; policy: ServicePolicy; adminMethods?: readonly string[] }>,
  principals: readonly string[],
): Promise<PolicyServer> {
  const dir = mkdtempSync(join(tmpdir(), 'policy-server-'));
  const operator = 'test-operator';
  const names = [...new Set(principals.filter((p) => p !== ADMIN_PRINCIPAL))];
  const pki = ensureLocalPki({ dir, identities: [{ name: 'test-server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, { name: operator }, ...names.map((name) => ({ name }))] });
  try {
    const server = await startServer({
      name: 'policy-test',
      address: '127.0.0.1:0',
      signals: [],
      logger: pino({ level: 'silent' }),
      tls: { ...pki.files('test-server'), clientCaFile: pki.caFile, requireClientCert: false },
      admin: { allowedIdentities: [`spiffe://pinrank.local/ns/pinrank/sa/${operator}`] },
      authz: { mode: 'enforce', policies: services.map((s) => s.policy) },
      services: services.map((s) => defineService(s.definition, {}, { adminMethods: [...(s.adminMethods ?? [])] })),
    });
    return {
      address: `127.0.0.1:${server.port}`,
      tlsAs: (p) => ({ caFile: pki.caFile, serverNameOverride: 'localhost', ...(p ? pki.files(p === ADMIN_PRINCIPAL ? operator : p) : {}) }),
      close: async () => {
        await server.shutdown();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Runs one case of a policy table against a policy server; undefined when the answer is the expected one, else what went wrong. */
export async function checkPolicyCase(server: PolicyServer, c: PolicyCase): Promise<string | undefined> {
  const code = await probeMethod(server.address, c.method, { tls: server.tlsAs(c.caller) });
  const ok =
    c.expect === 'refused-unauthenticated' ? code === 'UNAUTHENTICATED' : c.expect === 'refused-denied' ? code === 'PERMISSION_DENIED' : admittedCode(code);
  return ok ? undefined : `${c.name}: expected ${c.expect}, the server answered ${code}`;
}

/**
 * Declares the jest tests of an app's policy tables against its real
 * registrations: no registered method lacks a rule, and, over real mutual TLS
 * (handlers left out, so an admitted call answers UNIMPLEMENTED), every method
 * refuses a caller without credentials and one with another identity and
 * admits the identities its rule names — one test per case.
 */
export function describePolicyTables(policies: readonly ServicePolicy[], principals: readonly string[], registrations: readonly ServiceRegistration[]): void {
  const services = registrations.map((reg) => {
    const policy = policies.find((p) => p.serviceName === reg.serviceName);
    if (!policy) throw new TypeError(`${reg.serviceName} has no policy`);
    return { definition: reg.definition, policy, adminMethods: [...reg.adminMethods] };
  });
  const cases = services.flatMap((s) => policyCases(s.definition, s.policy, principals));
  let server: PolicyServer | undefined;
  beforeAll(async () => {
    server = await startPolicyServer(services, principals);
  }, 30_000);
  afterAll(() => server?.close());
  it('covers every method of every service the app registers', () => {
    expect(policyGaps(registrations, policies)).toEqual([]);
  });
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    if (!server) throw new Error('the policy server did not start');
    expect(await checkPolicyCase(server, c)).toBeUndefined();
  });
}
