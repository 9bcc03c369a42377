// The ranker's policy tables (router: Ranker and Experiments; workers: the
// Open Inference Protocol) over real mutual TLS: every method refuses a caller
// without credentials and one with the wrong identity, and admits the
// identities the policy names.
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { inferenceService } from '@pinrank/inference';
import { RankerService } from '@pinrank/proto';
import { ADMIN_PRINCIPAL, defineService, describePolicyTables, describeRule, type ServicePolicy } from '@pinrank/service-kit';
import { EXPERIMENTS_POLICY, INFERENCE_POLICY, RANKER_POLICY } from './authz-policy';
import { experimentsService } from './router/experiments/experiments-service';

// The real registrations (their handlers are never called): their methods and admin methods are what the tables cover.
describePolicyTables(
  [RANKER_POLICY, EXPERIMENTS_POLICY, INFERENCE_POLICY],
  [...Object.values(SERVICE_IDENTITIES), ADMIN_PRINCIPAL],
  [defineService(RankerService, {}), experimentsService({} as never), inferenceService({ repositoryManager: {} as never })],
);

// The documented tables (docs/security.md): changing who may call what must change this test too.
it('are the documented tables', () => {
  const table = (p: ServicePolicy) => Object.fromEntries([...p.rules].map(([m, r]) => [m, describeRule(r)]));
  expect(table(RANKER_POLICY)).toEqual({ Rank: 'authenticated', Recommend: 'authenticated' });
  expect(table(EXPERIMENTS_POLICY)).toEqual({ ListExperiments: 'admin', GetAssignment: 'authenticated', ReloadExperiments: 'admin' });
  expect(table(INFERENCE_POLICY)).toEqual({
    ServerLive: 'authenticated',
    ServerReady: 'authenticated',
    ModelReady: 'authenticated',
    ServerMetadata: 'authenticated',
    ModelMetadata: 'authenticated',
    ModelInfer: 'ranker-router',
    ModelStreamInfer: 'ranker-router',
    ModelConfig: 'authenticated',
    ModelStatistics: 'ranker-router, admin',
    RepositoryIndex: 'ranker-router, admin',
    RepositoryModelLoad: 'admin',
    RepositoryModelUnload: 'admin',
  });
});
