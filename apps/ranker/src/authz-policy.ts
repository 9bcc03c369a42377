import { SERVICE_IDENTITIES as ID } from '@pinrank/contracts';
import { ExperimentsService, GRPCInferenceServiceService, RankerService } from '@pinrank/proto';
import { ADMIN_PRINCIPAL, allow, AUTHENTICATED, servicePolicy } from '@pinrank/service-kit';

/** Who may call the router's Ranker API: any identified client. */
export const RANKER_POLICY = servicePolicy(RankerService, {
  rank: AUTHENTICATED,
  recommend: AUTHENTICATED,
});

/** The router's Experiments API: clients may read a user's assignment; the configuration with its counters and reloads are for operators. */
export const EXPERIMENTS_POLICY = servicePolicy(ExperimentsService, {
  listExperiments: allow(ADMIN_PRINCIPAL),
  getAssignment: AUTHENTICATED,
  reloadExperiments: allow(ADMIN_PRINCIPAL),
});

/**
 * The workers' Open Inference Protocol: inference (unary and streamed) for
 * the router only; liveness, metadata and Triton's model configuration for any
 * identified caller (dashboards and perf tools read them); statistics and the
 * repository for the router and operators, loading and unloading for operators.
 */
export const INFERENCE_POLICY = servicePolicy(GRPCInferenceServiceService, {
  serverLive: AUTHENTICATED,
  serverReady: AUTHENTICATED,
  modelReady: AUTHENTICATED,
  serverMetadata: AUTHENTICATED,
  modelMetadata: AUTHENTICATED,
  modelInfer: allow(ID.router),
  modelStreamInfer: allow(ID.router),
  modelConfig: AUTHENTICATED,
  modelStatistics: allow(ID.router, ADMIN_PRINCIPAL),
  repositoryIndex: allow(ID.router, ADMIN_PRINCIPAL),
  repositoryModelLoad: allow(ADMIN_PRINCIPAL),
  repositoryModelUnload: allow(ADMIN_PRINCIPAL),
});
