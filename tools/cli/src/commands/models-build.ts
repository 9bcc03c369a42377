import { type Command, InvalidArgumentError } from 'commander';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SEED, MODEL_NAMES, PINNERFORMER_CONSUMERS, buildModelRepositoryEntry, isModelName, refreshModelConfig } from '@pinrank/models';
import { type CliIo } from '../io';
import { intOption } from './options';

/** Options of `pinrank models build` after parsing. */
interface ModelsBuildOptions {
  name?: string[];
  version: string;
  repository: string;
  weights?: string;
  from?: string;
  seed: number;
  hyperparams?: Record<string, unknown>;
  pinnerformerVersion: string;
  overwrite: boolean;
}

/**
 * Registers `pinrank models build`: writes `<repository>/<name>/<version>/`
 * (model.onnx + config.json + manifest.json) from a weights file, or from a
 * seeded initialisation when no weights are given.
 */
export function registerModelsBuild(program: Command, io: CliIo): void {
  const models = program.commands.find((c) => c.name() === 'models') ?? program.command('models').description('build and inspect the model repository');
  models
    .command('build')
    .description('write model.onnx + config.json + manifest.json for models into the repository (seeded weights unless --weights or --from)')
    .option('--name <names...>', `models to build (default: all of ${MODEL_NAMES.join(', ')})`, parseNames)
    .option('--version <version>', 'version directory to write', '1')
    .option('--repository <dir>', 'model repository root', 'models')
    .option('--weights <file>', 'weights file (pinrank weights format); needs exactly one --name')
    .option('--from <entry>', "re-emit an existing entry's weights (its model.onnx) in the current graph form, e.g. models/transact_encoder/3; needs exactly one --name")
    .option('--seed <n>', 'seed of the initialisation when no weights file is given', intOption(0, 0xffffffff), DEFAULT_SEED)
    .option('--hyperparams <json>', 'hyperparameter overrides for a seeded build, as JSON', parseJsonObject)
    .option('--pinnerformer-version <version>', 'PinnerFormer version recorded in the configs of models fed by its vectors', '1')
    .option('--overwrite', 'replace existing entries', false)
    .action(async (opts: ModelsBuildOptions) => {
      const names = opts.name ?? [...MODEL_NAMES];
      if ((opts.weights || opts.from) && names.length !== 1) throw new InvalidArgumentError(`${opts.weights ? '--weights' : '--from'} needs exactly one --name`);
      if (opts.weights && opts.from) throw new InvalidArgumentError('--weights and --from cannot be combined');
      for (const name of names) {
        const built = await buildModelRepositoryEntry({
          repositoryDir: opts.repository,
          name,
          version: opts.version,
          seed: opts.seed,
          overwrite: opts.overwrite,
          ...(opts.weights ? { weightsPath: opts.weights } : {}),
          ...(opts.from ? { reemitFrom: opts.from } : {}),
          ...(opts.hyperparams ? { hyperparams: opts.hyperparams } : {}),
          ...((PINNERFORMER_CONSUMERS as readonly string[]).includes(name) ? { pinnerformerVersion: opts.pinnerformerVersion } : {}),
        });
        const onnx = built.manifest.files.find((f) => f.path === 'model.onnx');
        io.out(
          `${built.dir}: ${built.manifest.parameterCount} parameters, model.onnx ${onnx?.bytes ?? 0} bytes sha256 ${onnx?.sha256 ?? '?'} (weights: ${built.manifest.weights.source})\n`,
        );
      }
    });
}

/**
 * Registers `pinrank models refresh-configs`: rewrites the config.json of
 * existing entries from the current model definitions (their manifests'
 * hyperparameters), keeping model.onnx, so trained versions pick up
 * config-format changes without their weights files.
 */
export function registerModelsRefreshConfigs(program: Command, io: CliIo): void {
  const models = program.commands.find((c) => c.name() === 'models') ?? program.command('models').description('build and inspect the model repository');
  models
    .command('refresh-configs')
    .description('rewrite config.json (and its manifest digest) of every entry from the current model definitions, keeping model.onnx')
    .option('--name <names...>', `models to refresh (default: all of ${MODEL_NAMES.join(', ')})`, parseNames)
    .option('--repository <dir>', 'model repository root', 'models')
    .action(async (opts: { name?: string[]; repository: string }) => {
      for (const name of opts.name ?? [...MODEL_NAMES]) {
        const versions = await readdir(join(opts.repository, name)).catch(() => [] as string[]);
        for (const version of versions.filter((v) => !v.startsWith('.')).sort()) {
          const r = await refreshModelConfig(join(opts.repository, name, version));
          io.out(`${r.dir}: config.json ${r.changed ? 'rewritten' : 'unchanged'}\n`);
        }
      }
    });
}

function parseNames(value: string, previous: string[] | undefined): string[] {
  const names = value.split(',').filter((n) => n.length > 0);
  for (const n of names) if (!isModelName(n)) throw new InvalidArgumentError(`unknown model "${n}" (known: ${MODEL_NAMES.join(', ')})`);
  return [...(previous ?? []), ...names];
}

function parseJsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('must be a JSON object');
  return parsed as Record<string, unknown>;
}
