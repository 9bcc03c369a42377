// The feature-server's policy table over real mutual TLS: every method refuses
// a caller without credentials and one with the wrong identity, and admits the
// identities the policy names.
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { FeatureServerService } from '@pinrank/proto';
import { ADMIN_PRINCIPAL, checkPolicyCase, policyCases, policyGaps, startPolicyServer, type PolicyServer } from '@pinrank/service-kit';
import { FEATURE_SERVER_POLICY } from './authz-policy';
import { featureServerService } from './service';

const principals = [...Object.values(SERVICE_IDENTITIES), ADMIN_PRINCIPAL];
const cases = policyCases(FeatureServerService, FEATURE_SERVER_POLICY, principals);
let server: PolicyServer;

beforeAll(async () => {
  server = await startPolicyServer([{ definition: FeatureServerService, policy: FEATURE_SERVER_POLICY, adminMethods: ['deleteUser'] }], principals);
}, 30_000);
afterAll(() => server?.close());

it('covers every method of the registered service', () => {
  expect(policyGaps([featureServerService({} as never)], [FEATURE_SERVER_POLICY])).toEqual([]);
});

it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
  expect(await checkPolicyCase(server, c)).toBeUndefined();
});
