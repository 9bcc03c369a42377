import {
  ArmCounters,
  ExperimentsService,
  GetAssignmentResponse,
  ListExperimentsResponse,
  ReloadExperimentsResponse,
  type ArmStatus,
  type GetAssignmentRequest,
} from '@pinrank/proto';
import { defineService } from '@pinrank/service-kit';
import { checkUser } from '../validate';
import { HOLDOUT_KEY, type ArmTally } from './arm-metrics';
import { type PlannedArm } from './experiment-plan';
import { type ExperimentStore } from './experiment-store';

function counters(t: ArmTally): ArmCounters {
  return ArmCounters.fromPartial({
    requests: t.requests,
    errors: t.errors,
    itemsReturned: t.itemsReturned,
    degraded: t.degraded,
    meanLatencyMs: t.requests > 0 ? Math.round((t.latencyMsSum / t.requests) * 1000) / 1000 : 0,
  });
}

function armStatus(store: ExperimentStore, a: PlannedArm): Partial<ArmStatus> {
  return {
    name: a.name,
    fraction: a.fraction,
    trafficShare: a.trafficShare,
    modelVersions: a.modelVersions,
    scorer: a.scorer ?? '',
    headWeights: a.headWeights ?? {},
    snapshotVersion: a.snapshotVersion ?? '',
    counters: counters(store.metrics.tally(a.key)),
  };
}

function assignment(store: ExperimentStore, req: GetAssignmentRequest): GetAssignmentResponse {
  checkUser(req.userId);
  const plan = store.current;
  const t = plan.treatmentOf(req.userId);
  const pinned: Record<string, string> = {};
  for (const m of [t.models.encoder, t.models.heads, t.models.lite]) if (m?.pinned) pinned[m.name] = m.version;
  return GetAssignmentResponse.fromPartial({
    userId: req.userId,
    holdout: t.holdout,
    assignments: t.arms.map((a) => ({ layer: a.layer, experiment: a.experiment, arm: a.name })),
    modelVersions: pinned,
    scorer: t.scorer,
    headWeights: t.headWeights,
    snapshotVersion: t.snapshotVersion ?? '',
    configVersion: plan.version,
  });
}

/** The Experiments API of the router: the serving configuration with counters, a user's assignment, and an admin reload. */
export function experimentsService(store: ExperimentStore) {
  return defineService(
    ExperimentsService,
    {
      listExperiments: async () => {
        const plan = store.current;
        return ListExperimentsResponse.fromPartial({
          configVersion: plan.version,
          source: plan.source,
          loadedAtMs: plan.loadedAtMs,
          holdoutFraction: plan.holdout.fraction,
          holdoutSalt: plan.holdout.salt,
          layers: plan.layers.map((l) => ({
            name: l.name,
            salt: l.salt,
            experiments: l.experiments.map((e) => ({
              name: e.name,
              layer: e.layer,
              traffic: e.traffic,
              salt: e.salt,
              description: e.description ?? '',
              arms: e.arms.map((a) => armStatus(store, a)),
            })),
          })),
          holdoutCounters: counters(store.metrics.tally(HOLDOUT_KEY)),
          lastReloadError: store.lastError,
          lastReloadAtMs: store.lastReloadAtMs,
        });
      },
      getAssignment: async (req) => assignment(store, req),
      reloadExperiments: async () => {
        const r = await store.reload();
        return ReloadExperimentsResponse.fromPartial({ configVersion: r.version, changed: r.changed, source: store.current.source });
      },
    },
    { adminMethods: ['reloadExperiments'] },
  );
}
