import { armTrafficShare, type ExperimentArmConfig, type ExperimentsConfig } from '@pinrank/contracts';
import { assembleModelSet, loadRoutedModel, type ModelSet, type RoutedModel } from '../model-set';
import { type ResolvedRouterOptions } from '../router-options';
import { ExperimentPlan, type PlanDefaults, type PlannedArm, type PlannedLayer } from './experiment-plan';

/** Thrown when a configuration is well-formed but does not fit what the router serves (unknown model, version, head or snapshot). */
export class ExperimentConfigError extends Error {
  override readonly name = 'ExperimentConfigError';
}

/** What a configuration is checked against. */
export interface PlanContext {
  options: ResolvedRouterOptions;
  defaults: PlanDefaults;
  /** Snapshot versions the embedding-store holds; undefined when it could not be asked (then pins are not checked). */
  snapshots: ReadonlySet<string> | undefined;
}

async function armModels(arm: ExperimentArmConfig, ctx: PlanContext, where: string): Promise<ModelSet | undefined> {
  const pins = arm.models ?? {};
  const names = Object.keys(pins);
  if (names.length === 0) return undefined;
  const { models } = ctx.options;
  const served = [models.encoder, models.heads, models.lite];
  for (const n of names) {
    if (!served.includes(n)) throw new ExperimentConfigError(`${where}.models: "${n}" is not a model the router calls; it calls ${served.join(', ')}`);
  }
  const base = ctx.defaults.models;
  const pick = async (name: string, current: RoutedModel | undefined): Promise<RoutedModel | undefined> => {
    const version = pins[name];
    if (version === undefined) return current;
    try {
      return await loadRoutedModel(ctx.options, name, version);
    } catch (err) {
      throw new ExperimentConfigError(`${where}.models: ${(err as Error).message}`, { cause: err });
    }
  };
  const encoder = (await pick(models.encoder, base.encoder)) as RoutedModel;
  const heads = (await pick(models.heads, base.heads)) as RoutedModel;
  const lite = await pick(models.lite, base.lite);
  try {
    return assembleModelSet(encoder, heads, lite);
  } catch (err) {
    throw new ExperimentConfigError(`${where}.models: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Checks a parsed configuration against the router (every pinned model
 * version in the repository and compatible with the router's requests, head
 * weights naming real heads, the lite scorer having a lite model, pinned
 * snapshots held by the embedding-store) and builds the plan.
 * Thrown by: any mismatch — an ExperimentConfigError naming the field.
 */
export async function compilePlan(config: ExperimentsConfig, source: string, ctx: PlanContext): Promise<ExperimentPlan> {
  const holdout = config.holdout ?? { fraction: 0, salt: 'holdout' };
  const layers: PlannedLayer[] = [];
  for (const [li, layer] of config.layers.entries()) {
    const planned: PlannedLayer = { name: layer.name, salt: layer.salt ?? layer.name, experiments: [] };
    for (const [ei, e] of layer.experiments.entries()) {
      const arms: PlannedArm[] = [];
      for (const [ai, arm] of e.arms.entries()) {
        const where = `layers.${li}.experiments.${ei}.arms.${ai} ("${arm.name}")`;
        const models = await armModels(arm, ctx, where);
        const effective = models ?? ctx.defaults.models;
        if (arm.scorer === 'lite' && !effective.lite) {
          throw new ExperimentConfigError(`${where}.scorer: "lite" needs ${ctx.options.models.lite} in the model repository ${ctx.options.modelRepository}`);
        }
        if (arm.headWeights) {
          for (const head of Object.keys(arm.headWeights)) {
            if (!effective.heads.headNames.includes(head)) {
              throw new ExperimentConfigError(`${where}.headWeights: head "${head}" is not an output of ${effective.heads.name}/${effective.heads.version} (${effective.heads.headNames.join(', ')})`);
            }
          }
        }
        if (arm.snapshotVersion && ctx.snapshots && !ctx.snapshots.has(arm.snapshotVersion)) {
          throw new ExperimentConfigError(
            `${where}.snapshotVersion: the embedding-store holds no snapshot "${arm.snapshotVersion}" (it holds ${[...ctx.snapshots].join(', ') || 'none'}); load it first (pinrank snapshots load)`,
          );
        }
        arms.push({
          layer: layer.name,
          experiment: e.name,
          name: arm.name,
          fraction: arm.fraction,
          trafficShare: armTrafficShare(config, e, arm),
          key: `${layer.name}/${e.name}/${arm.name}`,
          description: arm.description,
          modelVersions: { ...(arm.models ?? {}) },
          models,
          scorer: arm.scorer,
          headWeights: arm.headWeights ? { ...arm.headWeights } : undefined,
          snapshotVersion: arm.snapshotVersion,
        });
      }
      planned.experiments.push({ layer: layer.name, name: e.name, traffic: e.traffic, salt: e.salt ?? e.name, description: e.description, arms });
    }
    layers.push(planned);
  }
  return new ExperimentPlan(layers, holdout, ctx.defaults, source, config.version ?? '', Date.now(), config);
}
