// The feature-server's policy table over real mutual TLS: every method refuses
// a caller without credentials and one with the wrong identity, and admits the
// identities the policy names.
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { ADMIN_PRINCIPAL, describePolicyTables, describeRule } from '@pinrank/service-kit';
import { FEATURE_SERVER_POLICY } from './authz-policy';
import { featureServerService } from './service';

// The real registration (its handlers are never called): its methods and admin methods are what the table covers.
describePolicyTables([FEATURE_SERVER_POLICY], [...Object.values(SERVICE_IDENTITIES), ADMIN_PRINCIPAL], [featureServerService({} as never)]);

// The documented table (docs/security.md): changing who may call what must change this test too.
it('is the documented table', () => {
  expect(Object.fromEntries([...FEATURE_SERVER_POLICY.rules].map(([m, r]) => [m, describeRule(r)]))).toEqual({
    IngestActions: 'action-producer',
    GetRealtimeSequence: 'ranker-router, admin',
    GetRealtimeSequences: 'ranker-router, admin',
    StreamRealtimeSequences: 'ranker-router, admin',
    DeleteUser: 'admin',
  });
});
