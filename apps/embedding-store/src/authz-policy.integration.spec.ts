// The embedding-store's policy table over real mutual TLS: every method refuses
// a caller without credentials and one with the wrong identity, and admits the
// identities the policy names.
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { EmbeddingStoreService } from '@pinrank/proto';
import { ADMIN_PRINCIPAL, checkPolicyCase, policyCases, policyGaps, startPolicyServer, type PolicyServer } from '@pinrank/service-kit';
import { EMBEDDING_STORE_POLICY } from './authz-policy';
import { ADMIN_METHODS, embeddingStoreService } from './service';

const principals = [...Object.values(SERVICE_IDENTITIES), ADMIN_PRINCIPAL];
const cases = policyCases(EmbeddingStoreService, EMBEDDING_STORE_POLICY, principals);
let server: PolicyServer;

beforeAll(async () => {
  server = await startPolicyServer([{ definition: EmbeddingStoreService, policy: EMBEDDING_STORE_POLICY, adminMethods: ADMIN_METHODS }], principals);
}, 30_000);
afterAll(() => server?.close());

it('covers every method of the registered service', () => {
  expect(policyGaps([embeddingStoreService({} as never)], [EMBEDDING_STORE_POLICY])).toEqual([]);
});

it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
  expect(await checkPolicyCase(server, c)).toBeUndefined();
});
