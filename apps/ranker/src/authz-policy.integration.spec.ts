// The ranker's policy tables (router: Ranker and Experiments; workers: the
// Open Inference Protocol) over real mutual TLS: every method refuses a caller
// without credentials and one with the wrong identity, and admits the
// identities the policy names.
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { inferenceService } from '@pinrank/inference';
import { ExperimentsService, GRPCInferenceServiceService, RankerService } from '@pinrank/proto';
import { ADMIN_PRINCIPAL, checkPolicyCase, defineService, policyCases, policyGaps, startPolicyServer, type PolicyServer } from '@pinrank/service-kit';
import { EXPERIMENTS_POLICY, INFERENCE_POLICY, RANKER_POLICY } from './authz-policy';
import { experimentsService } from './router/experiments/experiments-service';

const principals = [...Object.values(SERVICE_IDENTITIES), ADMIN_PRINCIPAL];
const services = [
  { definition: RankerService, policy: RANKER_POLICY, adminMethods: [] },
  { definition: ExperimentsService, policy: EXPERIMENTS_POLICY, adminMethods: ['reloadExperiments'] },
  { definition: GRPCInferenceServiceService, policy: INFERENCE_POLICY, adminMethods: ['repositoryModelLoad', 'repositoryModelUnload'] },
];
const cases = services.flatMap((s) => policyCases(s.definition, s.policy, principals));
let server: PolicyServer;

beforeAll(async () => {
  server = await startPolicyServer(services, principals);
}, 30_000);
afterAll(() => server?.close());

it('covers every method of every service the router and the workers register', () => {
  const router = [defineService(RankerService, {}), experimentsService({} as never)];
  expect(policyGaps(router, [RANKER_POLICY, EXPERIMENTS_POLICY])).toEqual([]);
  expect(policyGaps([inferenceService({ manager: {} as never })], [INFERENCE_POLICY])).toEqual([]);
});

it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
  expect(await checkPolicyCase(server, c)).toBeUndefined();
});
