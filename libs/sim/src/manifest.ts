import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContractError } from '@pinrank/contracts';
import { type ActionLogHeader } from './action-log/format';
import { type WorldOptions, type WorldOptionsInput } from './options';
import { World } from './world';

/** Name written into headers as the producer of simulated files. */
export const SIM_PRODUCER = 'pinrank-sim/1';
/** Name of the manifest in a world directory. */
export const MANIFEST_FILE = 'world.json';

/** `world.json`: what a world directory holds and the options that rebuild its ground truth. */
export interface WorldManifest {
  format: 1;
  producer: string;
  seed: number;
  /** Start of the simulated period, epoch ms. */
  startMs: number;
  /** End of the simulated period, epoch ms (exclusive). */
  endMs: number;
  /** Every generation option, resolved. */
  options: WorldOptions;
  /** File names, relative to the directory. */
  files: { catalog: string; actions: string };
  /** Record counts; `byType` counts actions by outcome. */
  counts: {
    users: number;
    items: number;
    actions: number;
    byType: { impression: number; click: number; save: number; closeup: number; hide: number };
  };
  /** `sha256:<hex>` of each file's contents (as in its trailer). */
  checksums: { catalog: string; actions: string };
}

/** A world directory opened for reading: paths, manifest and the rebuilt ground truth. */
export interface LoadedWorld {
  manifest: WorldManifest;
  world: World;
  catalogPath: string;
  actionsPath: string;
}

/**
 * Opens a directory written by `writeWorld` and rebuilds its world from the
 * manifest's options. Thrown by: a missing or malformed manifest (ContractError).
 */
export async function loadWorld(dir: string): Promise<LoadedWorld> {
  const path = join(dir, MANIFEST_FILE);
  let manifest: WorldManifest;
  try {
    manifest = JSON.parse(await readFile(path, 'utf8')) as WorldManifest;
  } catch (cause) {
    throw new ContractError('cannot read the world manifest', path, undefined, { cause });
  }
  if (manifest.format !== 1 || typeof manifest.options !== 'object' || typeof manifest.files !== 'object')
    throw new ContractError('not a world manifest (format, options and files are required)', path, 'format');
  let world: World;
  try {
    world = World.create(manifest.options);
  } catch (cause) {
    throw new ContractError(`options: ${cause instanceof Error ? cause.message : String(cause)}`, path, 'options', { cause });
  }
  return {
    manifest,
    world,
    catalogPath: join(dir, manifest.files.catalog),
    actionsPath: join(dir, manifest.files.actions),
  };
}

/** Rebuilds the world that wrote an action log, from the generation parameters in its header. */
export function worldFromLogHeader(header: ActionLogHeader, source = 'action log header'): World {
  try {
    return World.create(header.params as WorldOptionsInput);
  } catch (cause) {
    throw new ContractError(`params: ${cause instanceof Error ? cause.message : String(cause)}`, source, 'params', { cause });
  }
}
