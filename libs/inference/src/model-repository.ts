import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModelConfig, type ModelConfig } from '@pinrank/contracts';

/** File names inside a version directory. */
export const MODEL_FILE = 'model.onnx';
/** The config file beside the model. */
export const CONFIG_FILE = 'config.json';

/** Which versions of a model are served: the newest N, or the named ones. */
export type VersionPolicy = { latest: number } | { versions: readonly string[] };

/** One version directory found on disk. */
export interface VersionOnDisk {
  name: string;
  version: string;
  dir: string;
  modelPath: string;
  configPath: string;
  /** Changes whenever model.onnx or config.json is replaced (sizes and mtimes). */
  signature: string;
}

/** Orders versions oldest first: numeric parts compare as numbers ("2" < "10"). */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The versions a policy selects from those available, oldest first. */
export function selectVersions(available: readonly string[], policy: VersionPolicy): string[] {
  const sorted = [...available].sort(compareVersions);
  if ('latest' in policy) return sorted.slice(Math.max(0, sorted.length - policy.latest));
  return sorted.filter((v) => policy.versions.includes(v));
}

/**
 * A model repository on disk: `<root>/<model>/<version>/{model.onnx,config.json}`.
 * Directories without both files are ignored (a version being copied in
 * becomes visible once complete; copy it elsewhere and rename it into place).
 */
export class ModelRepository {
  constructor(
    /** The repository root directory. */
    readonly root: string,
  ) {}

  /** Model names (directories directly under the root), sorted. */
  async listModels(): Promise<string[]> {
    return (await subdirectories(this.root)).sort();
  }

  /** The complete versions of one model, oldest first. */
  async listVersions(name: string): Promise<VersionOnDisk[]> {
    const modelDir = join(this.root, name);
    const found: VersionOnDisk[] = [];
    for (const version of await subdirectories(modelDir)) {
      const dir = join(modelDir, version);
      const modelPath = join(dir, MODEL_FILE);
      const configPath = join(dir, CONFIG_FILE);
      const [m, c] = await Promise.all([statOrUndefined(modelPath), statOrUndefined(configPath)]);
      if (!m?.isFile() || !c?.isFile()) continue;
      found.push({ name, version, dir, modelPath, configPath, signature: `${m.size}:${m.mtimeMs}|${c.size}:${c.mtimeMs}` });
    }
    return found.sort((a, b) => compareVersions(a.version, b.version));
  }

  /**
   * The newest complete version of a model — the one a worker with the default
   * policy (`latest: 1`) serves, and the one the router reads by default — or
   * undefined when the model has none.
   */
  async latestVersion(name: string): Promise<VersionOnDisk | undefined> {
    return (await this.listVersions(name)).at(-1);
  }

  /** One complete version of a model, or undefined when it is absent or incomplete. */
  async findVersion(name: string, version: string): Promise<VersionOnDisk | undefined> {
    return (await this.listVersions(name)).find((v) => v.version === version);
  }

  /** Reads and validates a version's config; its name and version must match the directories. */
  async readConfig(entry: VersionOnDisk): Promise<ModelConfig> {
    const config = await loadModelConfig(entry.configPath);
    if (config.name !== entry.name || config.version !== entry.version) {
      throw new Error(`config names ${config.name}/${config.version} but sits in ${entry.name}/${entry.version}`);
    }
    return config;
  }

  /** A cheap fingerprint of the whole tree, used to notice changes. */
  async fingerprint(): Promise<Map<string, string>> {
    const prints = new Map<string, string>();
    for (const name of await this.listModels()) {
      const versions = await this.listVersions(name);
      // A model directory without a complete version yet is nothing to load.
      if (versions.length > 0) prints.set(name, versions.map((v) => `${v.version}=${v.signature}`).join(','));
    }
    return prints;
  }
}

async function subdirectories(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function statOrUndefined(path: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}
