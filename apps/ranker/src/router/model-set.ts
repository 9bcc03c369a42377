import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModelConfig, type ModelConfig } from '@pinrank/contracts';
import { type ResolvedRouterOptions } from './router-options';

/** A model the router calls: its config, the version it pins and the pool its placement names. */
export interface RoutedModel {
  name: string;
  /** The version whose config the router read (the newest, or the pinned one). */
  version: string;
  /**
   * Pinned with RANKER_MODEL_VERSIONS: requests name this version. Otherwise
   * requests leave the version empty and the worker serves its newest ready
   * version, so a hot swap on the workers needs no router restart; responses
   * report the version that actually served.
   */
  pinned: boolean;
  placement: 'gpu' | 'cpu';
  config: ModelConfig;
}

/** The models of the ranking path. `lite` is absent when the repository has none. */
export interface ModelSet {
  encoder: RoutedModel;
  heads: RoutedModel & { headNames: string[] };
  lite: (RoutedModel & { headNames: string[] }) | undefined;
  /** The PinnerFormer version the ranker models name (from the heads config), if any. */
  pinnerformerVersion: string | undefined;
  /** Width of the encoder's output (`encoded` [N, width]), read once from its config. */
  encodedWidth: number;
}

const ENCODER_INPUTS = ['seq_action_types', 'seq_item_vectors', 'seq_ages_s', 'cand_vectors', 'cand_user_idx'];
const HEADS_INPUTS = ['encoded', 'user_pf', 'item_pf', 'dense_features'];
const LITE_INPUTS = ['user_pf', 'item_pf', 'dense_features'];

function compareVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

async function latestVersion(repository: string, name: string): Promise<string | undefined> {
  let entries;
  try {
    entries = await readdir(join(repository, name), { withFileTypes: true });
  } catch {
    return undefined;
  }
  const versions = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort(compareVersions);
  return versions[versions.length - 1];
}

function checkTensors(config: ModelConfig, inputs: string[], output: string, source: string): void {
  const have = new Set(config.inputs.map((t) => t.name));
  const missing = inputs.filter((n) => !have.has(n));
  if (missing.length > 0) throw new Error(`${source}: model lacks input(s) ${missing.join(', ')} that the router sends`);
  if (!config.outputs.some((t) => t.name === output)) throw new Error(`${source}: model has no output "${output}"`);
}

/**
 * Reads one model's config from the repository: `version` when given (pinned:
 * requests name it), else the configured pin or the highest version.
 * Thrown by: no such version directory, an invalid config, a config naming another model.
 */
export async function loadRoutedModel(o: ResolvedRouterOptions, name: string, version?: string): Promise<RoutedModel> {
  const pinnedVersion = version ?? o.modelVersions[name];
  const v = pinnedVersion ?? (await latestVersion(o.modelRepository, name));
  if (v === undefined) throw new Error(`model ${name}: no version directory under ${join(o.modelRepository, name)}`);
  if (!existsSync(join(o.modelRepository, name, v))) throw new Error(`model ${name}/${v}: not in the model repository ${o.modelRepository}`);
  const config = await loadModelConfig(join(o.modelRepository, name, v, 'config.json'));
  if (config.name !== name) throw new Error(`model ${name}/${v}: config names "${config.name}"`);
  return { name, version: v, pinned: pinnedVersion !== undefined, placement: o.placementOverrides[name] ?? config.placement, config };
}

function headNames(m: RoutedModel): string[] {
  const names = m.config.heads;
  if (!names) throw new Error(`model ${m.name}/${m.version}: config has no "heads" (the output column names)`);
  return names;
}

/**
 * Checks that the models fit together and the router's requests: the tensors
 * it sends, "heads" on both heads models and the same head columns in both.
 * Thrown by: any mismatch, naming the model and version.
 */
export function assembleModelSet(encoder: RoutedModel, headsModel: RoutedModel, lite: RoutedModel | undefined): ModelSet {
  const src = (m: RoutedModel): string => `model ${m.name}/${m.version}`;
  checkTensors(encoder.config, ENCODER_INPUTS, 'encoded', src(encoder));
  checkTensors(headsModel.config, HEADS_INPUTS, 'probs', src(headsModel));
  if (lite) checkTensors(lite.config, LITE_INPUTS, 'probs', src(lite));
  const width = encodedWidth(encoder);
  const heads = { ...headsModel, headNames: headNames(headsModel) };
  const liteWithHeads = lite ? { ...lite, headNames: headNames(lite) } : undefined;
  if (liteWithHeads && liteWithHeads.headNames.join(',') !== heads.headNames.join(',')) {
    throw new Error(`${src(liteWithHeads)}: heads [${liteWithHeads.headNames.join(', ')}] differ from ${src(heads)} [${heads.headNames.join(', ')}]`);
  }
  return { encoder, heads, lite: liteWithHeads, pinnerformerVersion: heads.config.pinnerformerVersion ?? encoder.config.pinnerformerVersion, encodedWidth: width };
}

/**
 * Reads the configs of the encoder, heads and lite models from the model
 * repository; placement comes from each config (or a configured override).
 * Thrown by: a missing or invalid config, a model without the tensors the
 * router sends, a required lite model that is absent.
 */
export async function loadModelSet(o: ResolvedRouterOptions): Promise<ModelSet> {
  const encoder = await loadRoutedModel(o, o.models.encoder);
  const heads = await loadRoutedModel(o, o.models.heads);
  const liteRequired = o.gpuFallback === 'lite';
  const lite = liteRequired || (await latestVersion(o.modelRepository, o.models.lite)) !== undefined ? await loadRoutedModel(o, o.models.lite) : undefined;
  return assembleModelSet(encoder, heads, lite);
}

/** Width of the encoder's output (`encoded` [N, width]); 1056 under the published compression. */
function encodedWidth(encoder: RoutedModel): number {
  const out = encoder.config.outputs.find((t) => t.name === 'encoded');
  const w = out?.shape[1];
  if (w === undefined || w < 1) throw new Error(`model ${encoder.name}/${encoder.version}: output "encoded" needs a fixed width, got [${out?.shape.join(',')}]`);
  return w;
}
