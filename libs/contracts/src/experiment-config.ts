import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ContractError } from './contract-error';
import { parseWith } from './schema-errors';

/** How an arm scores candidates: the TransAct encoder + ranking_heads, or ranking_heads_lite alone. */
export const EXPERIMENT_SCORERS = ['full', 'lite'] as const;
/** A scorer name. */
export type ExperimentScorer = (typeof EXPERIMENT_SCORERS)[number];

/** The arm parameters a layer can own; two layers may not set the same one. */
export const ARM_PARAMETERS = ['models', 'scorer', 'headWeights', 'snapshotVersion'] as const;

const label = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit');
const salt = z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
const modelVersion = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a model version directory name, e.g. "2"');

const armSchema = z
  .object({
    name: label,
    fraction: z.number().gt(0, 'must be > 0').lte(1, 'must be <= 1'),
    description: z.string().max(1000).optional(),
    models: z.record(z.string().min(1, 'model names must not be empty'), modelVersion).optional(),
    scorer: z.enum(EXPERIMENT_SCORERS, { error: `must be one of ${EXPERIMENT_SCORERS.join(', ')}` }).optional(),
    headWeights: z.record(z.string().min(1, 'head names must not be empty'), z.number().finite('must be a finite number')).optional(),
    snapshotVersion: z.string().min(1, 'must not be empty').max(128).optional(),
  })
  .strict();

const experimentSchema = z
  .object({
    name: label,
    traffic: z.number().gt(0, 'must be > 0').lte(1, 'must be <= 1').default(1),
    salt: salt.optional(),
    description: z.string().max(1000).optional(),
    arms: z.array(armSchema).min(1, 'must name at least one arm'),
  })
  .strict();

const layerSchema = z
  .object({
    name: label,
    salt: salt.optional(),
    experiments: z.array(experimentSchema).min(1, 'must hold at least one experiment'),
  })
  .strict();

const configSchema = z
  .object({
    version: z.string().max(128).optional(),
    holdout: z
      .object({
        fraction: z.number().min(0, 'must be >= 0').lt(1, 'must be < 1'),
        salt: salt.default('holdout'),
      })
      .strict()
      .optional(),
    layers: z.array(layerSchema),
  })
  .strict();

/** One arm: a share of the experiment's users and what changes for them. */
export type ExperimentArmConfig = z.infer<typeof armSchema>;
/** One experiment: a share of its layer's users split into arms. */
export type ExperimentConfig = z.infer<typeof experimentSchema>;
/** A layer: experiments that never share a user; different layers overlap. */
export type ExperimentLayerConfig = z.infer<typeof layerSchema>;
/** The whole experiment configuration (docs/online-experiments.md). */
export type ExperimentsConfig = z.infer<typeof configSchema>;

const SUM_TOLERANCE = 1e-9;

/** The older one-experiment form `{name, arms: [{name, share, headWeights}]}`, read as one layer "default". */
function fromSingleExperiment(value: Record<string, unknown>): unknown {
  const arms = Array.isArray(value['arms']) ? (value['arms'] as unknown[]) : [];
  return {
    layers: [
      {
        name: 'default',
        experiments: [
          {
            name: value['name'],
            arms: arms.map((a) => {
              if (!a || typeof a !== 'object') return a;
              const { share, ...rest } = a as Record<string, unknown>;
              return share === undefined ? rest : { ...rest, fraction: share };
            }),
          },
        ],
      },
    ],
  };
}

function checkStructure(c: ExperimentsConfig, source: string): void {
  const fail = (field: string, message: string): never => {
    throw new ContractError(`${field}: ${message}`, source, field);
  };
  const layerNames = new Set<string>();
  const experimentNames = new Set<string>();
  const owner = new Map<string, string>();
  c.layers.forEach((layer, li) => {
    const lf = `layers.${li}`;
    if (layerNames.has(layer.name)) fail(`${lf}.name`, `layer "${layer.name}" appears twice`);
    layerNames.add(layer.name);
    let traffic = 0;
    layer.experiments.forEach((e, ei) => {
      const ef = `${lf}.experiments.${ei}`;
      if (experimentNames.has(e.name)) fail(`${ef}.name`, `experiment "${e.name}" appears twice; experiment names are unique across layers`);
      experimentNames.add(e.name);
      traffic += e.traffic;
      const armNames = new Set<string>();
      let fractions = 0;
      e.arms.forEach((arm, ai) => {
        const af = `${ef}.arms.${ai}`;
        if (armNames.has(arm.name)) fail(`${af}.name`, `arm "${arm.name}" appears twice in experiment "${e.name}"`);
        armNames.add(arm.name);
        fractions += arm.fraction;
        for (const p of ARM_PARAMETERS) {
          if (arm[p] === undefined) continue;
          const keys = p === 'models' ? Object.keys(arm.models ?? {}).map((m) => `models.${m}`) : [p];
          for (const key of keys) {
            const other = owner.get(key);
            if (other !== undefined && other !== layer.name) {
              fail(`${af}.${p}`, `${key} is already set by layer "${other}"; overlapping layers must change different parameters (move experiment "${e.name}" into layer "${other}")`);
            }
            owner.set(key, layer.name);
          }
        }
      });
      if (fractions > 1 + SUM_TOLERANCE) fail(`${ef}.arms`, `arm fractions of "${e.name}" sum to ${round(fractions)}; at most 1`);
    });
    if (traffic > 1 + SUM_TOLERANCE) fail(`${lf}.experiments`, `traffic of the experiments in layer "${layer.name}" sums to ${round(traffic)}; at most 1`);
  });
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/** The share of all users an arm serves: past the holdout, its experiment's traffic, its fraction. */
export function armTrafficShare(config: ExperimentsConfig, experiment: ExperimentConfig, arm: ExperimentArmConfig): number {
  return (1 - (config.holdout?.fraction ?? 0)) * experiment.traffic * arm.fraction;
}

/**
 * Validates an experiment configuration (already-parsed JSON): field types
 * and ranges, unique names, arm fractions and layer traffic summing to at most
 * 1, and no parameter set by two layers. The one-experiment form
 * `{name, arms: [{name, share}]}` is accepted as a single layer "default".
 * Thrown by: any violation — a ContractError naming the field.
 */
export function parseExperimentsConfig(value: unknown, source = 'experiment configuration'): ExperimentsConfig {
  const input = value && typeof value === 'object' && !('layers' in value) && 'arms' in value ? fromSingleExperiment(value as Record<string, unknown>) : value;
  const config = parseWith(configSchema, input, source);
  checkStructure(config, source);
  return config;
}

/** Parses JSON text as an experiment configuration. Thrown by: bad JSON or an invalid configuration (ContractError). */
export function parseExperimentsJson(text: string, source = 'experiment configuration'): ExperimentsConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ContractError(`not valid JSON: ${(err as Error).message}`, source, undefined, { cause: err });
  }
  return parseExperimentsConfig(json, source);
}

/** Reads and validates an experiment configuration file. */
export async function loadExperimentsConfig(path: string): Promise<ExperimentsConfig> {
  return parseExperimentsJson(await readFile(path, 'utf8'), path);
}
