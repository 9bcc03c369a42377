// The embedding-store's policy table over real mutual TLS: every method refuses
// a caller without credentials and one with the wrong identity, and admits the
// identities the policy names.
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { ADMIN_PRINCIPAL, describePolicyTables, describeRule } from '@pinrank/service-kit';
import { EMBEDDING_STORE_POLICY } from './authz-policy';
import { embeddingStoreService } from './service';

// The real registration (its handlers are never called): its methods and admin methods are what the table covers.
describePolicyTables([EMBEDDING_STORE_POLICY], [...Object.values(SERVICE_IDENTITIES), ADMIN_PRINCIPAL], [embeddingStoreService({} as never)]);

// The documented table (docs/security.md): changing who may call what must change this test too.
it('is the documented table', () => {
  expect(Object.fromEntries([...EMBEDDING_STORE_POLICY.rules].map(([m, r]) => [m, describeRule(r)]))).toEqual({
    GetEmbeddings: 'ranker-router, feature-server, admin',
    StreamEmbeddings: 'ranker-router, admin',
    Retrieve: 'ranker-router, admin',
    ListSnapshots: 'ranker-router, pinnerformer-embed, admin',
    LoadSnapshot: 'pinnerformer-embed, admin',
    ActivateSnapshot: 'pinnerformer-embed, admin',
    LoadCatalog: 'admin',
    DeleteUser: 'admin',
  });
});
