import { join } from 'node:path';
import { type ModelConfig } from '@pinrank/contracts';
import { DENSE_FEATURES } from '@pinrank/features';
import { CONFIG_FILE, MODEL_FILE, ModelRepository } from '@pinrank/inference';
import { type ResolvedRouterOptions } from './router-options';

/** A worker pool, named by the `placement` of the models it runs. */
export type PoolName = 'gpu' | 'cpu';

/** A model the router calls: its config, the version it pins and the pool its placement names. */
export interface RoutedModel {
  name: string;
  /** The version whose config the router read (the newest complete one, or the pinned one). */
  version: string;
  /**
   * Pinned with RANKER_MODEL_VERSIONS: requests name this version. Otherwise
   * requests leave the version empty and the worker serves its newest ready
   * version, so a hot swap on the workers needs no router restart; responses
   * report the version that actually served.
   */
  pinned: boolean;
  placement: PoolName;
  config: ModelConfig;
}

/** Tensor widths of the ranking path, read from the model configs (never constants in the router). */
export interface ModelWidths {
  /** Content vectors: sequence rows and candidates (`cand_vectors` [N, content]); 32 in the published design. */
  content: number;
  /** PinnerFormer user and item-tower vectors (`user_pf`, `item_pf` [N, pinnerformer]); 64 here. */
  pinnerformer: number;
  /** The encoder's output (`encoded` [N, encoded]); 1056 under the published compression. */
  encoded: number;
}

/** The models of the ranking path. `lite` is absent when the repository has none. */
export interface ModelSet {
  encoder: RoutedModel;
  heads: RoutedModel & { headNames: string[] };
  lite: (RoutedModel & { headNames: string[] }) | undefined;
  /** The PinnerFormer version the ranker models name (from the heads config), if any. */
  pinnerformerVersion: string | undefined;
  widths: ModelWidths;
}

const ENCODER_INPUTS = ['seq_action_types', 'seq_item_vectors', 'seq_ages_s', 'cand_vectors', 'cand_user_idx'];
const HEADS_INPUTS = ['encoded', 'user_pf', 'item_pf', 'dense_features'];
const LITE_INPUTS = ['user_pf', 'item_pf', 'dense_features'];

const label = (m: RoutedModel): string => `model ${m.name}/${m.version}`;

function checkTensors(m: RoutedModel, inputs: string[], output: string): void {
  const have = new Set(m.config.inputs.map((t) => t.name));
  const missing = inputs.filter((n) => !have.has(n));
  if (missing.length > 0) throw new Error(`${label(m)}: model lacks input(s) ${missing.join(', ')} that the router sends`);
  if (!m.config.outputs.some((t) => t.name === output)) throw new Error(`${label(m)}: model has no output "${output}"`);
}

/** The fixed size of the last axis of a declared tensor, with where it was read. Thrown by: an open (-1) last axis. */
function lastAxis(m: RoutedModel, side: 'inputs' | 'outputs', name: string): [where: string, width: number] {
  const shape = m.config[side].find((t) => t.name === name)?.shape ?? [];
  const where = `${label(m)} ${side === 'inputs' ? 'input' : 'output'} "${name}"`;
  const w = shape[shape.length - 1];
  if (w === undefined || w < 1) throw new Error(`${where} needs a fixed last axis, got [${shape.join(',')}]`);
  return [where, w];
}

/** The width two tensors share. Thrown by: different widths, naming both. */
function sameWidth(what: string, a: [string, number], b: [string, number]): number {
  if (a[1] !== b[1]) throw new Error(`${what} differs: ${a[0]} has ${a[1]}, ${b[0]} has ${b[1]}`);
  return a[1];
}

/**
 * Reads one model's config from the repository — the same ModelRepository the
 * workers load from, so "newest" means the newest complete version for both:
 * `version` when given (pinned: requests name it), else the configured pin,
 * else the newest. Thrown by: no such complete version, an invalid config, a
 * config naming another model or version.
 */
export async function loadRoutedModel(
  o: Pick<ResolvedRouterOptions, 'modelRepository' | 'modelVersions' | 'placementOverrides'>,
  name: string,
  version?: string,
): Promise<RoutedModel> {
  const repo = new ModelRepository(o.modelRepository);
  const pinnedVersion = version ?? o.modelVersions[name];
  const entry = pinnedVersion !== undefined ? await repo.findVersion(name, pinnedVersion) : await repo.latestVersion(name);
  if (!entry) {
    const where = pinnedVersion !== undefined ? `model ${name}/${pinnedVersion}: not in the model repository ${o.modelRepository}` : `model ${name}: no version under ${join(o.modelRepository, name)}`;
    throw new Error(`${where} (a version directory needs ${MODEL_FILE} and ${CONFIG_FILE})`);
  }
  let config: ModelConfig;
  try {
    config = await repo.readConfig(entry);
  } catch (err) {
    throw new Error(`model ${name}/${entry.version}: ${(err as Error).message}`, { cause: err });
  }
  return { name, version: entry.version, pinned: pinnedVersion !== undefined, placement: o.placementOverrides[name] ?? config.placement, config };
}

function headNames(m: RoutedModel): string[] {
  const names = m.config.heads;
  if (!names) throw new Error(`${label(m)}: config has no "heads" (the output column names)`);
  return names;
}

/**
 * Checks that the models fit together and the router's requests: the tensors
 * it sends, the widths they share (content, PinnerFormer, encoded, the dense
 * features the router builds), "heads" on both heads models and the same head
 * columns in both. Thrown by: any mismatch, naming the model and version.
 */
export function assembleModelSet(encoder: RoutedModel, headsModel: RoutedModel, lite: RoutedModel | undefined): ModelSet {
  checkTensors(encoder, ENCODER_INPUTS, 'encoded');
  checkTensors(headsModel, HEADS_INPUTS, 'probs');
  if (lite) checkTensors(lite, LITE_INPUTS, 'probs');
  const content = sameWidth('content vector width', lastAxis(encoder, 'inputs', 'cand_vectors'), lastAxis(encoder, 'inputs', 'seq_item_vectors'));
  const encoded = sameWidth('encoded width', lastAxis(encoder, 'outputs', 'encoded'), lastAxis(headsModel, 'inputs', 'encoded'));
  const userPf = lastAxis(headsModel, 'inputs', 'user_pf');
  let pinnerformer = sameWidth('PinnerFormer width', userPf, lastAxis(headsModel, 'inputs', 'item_pf'));
  if (lite) pinnerformer = sameWidth('PinnerFormer width', userPf, lastAxis(lite, 'inputs', 'user_pf'));
  for (const m of lite ? [headsModel, lite] : [headsModel]) {
    const [where, dense] = lastAxis(m, 'inputs', 'dense_features');
    if (dense !== DENSE_FEATURES) throw new Error(`${where} has ${dense} columns; the router builds ${DENSE_FEATURES} (@pinrank/features)`);
  }
  const heads = { ...headsModel, headNames: headNames(headsModel) };
  const liteWithHeads = lite ? { ...lite, headNames: headNames(lite) } : undefined;
  if (liteWithHeads && liteWithHeads.headNames.join(',') !== heads.headNames.join(',')) {
    throw new Error(`${label(liteWithHeads)}: heads [${liteWithHeads.headNames.join(', ')}] differ from ${label(heads)} [${heads.headNames.join(', ')}]`);
  }
  return {
    encoder,
    heads,
    lite: liteWithHeads,
    pinnerformerVersion: heads.config.pinnerformerVersion ?? encoder.config.pinnerformerVersion,
    widths: { content, pinnerformer, encoded },
  };
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
  const liteOnDisk = o.modelVersions[o.models.lite] !== undefined || (await new ModelRepository(o.modelRepository).latestVersion(o.models.lite)) !== undefined;
  const lite = liteRequired || liteOnDisk ? await loadRoutedModel(o, o.models.lite) : undefined;
  return assembleModelSet(encoder, heads, lite);
}
