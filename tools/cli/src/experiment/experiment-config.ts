import { readFile } from 'node:fs/promises';
import { parseExperimentsJson } from '@pinrank/contracts';

/** One arm as the configuration names it (only what the closed loop needs; the router validates the rest). */
export interface ConfiguredArm {
  name: string;
  fraction: number;
  /** Snapshot version the arm pins, if any. */
  snapshotVersion?: string;
  /** Whether the arm pins model versions (the workers must then serve more than the newest). */
  pinsModels?: boolean;
}

/** One experiment of a layer. */
export interface ConfiguredExperiment {
  layer: string;
  name: string;
  arms: ConfiguredArm[];
}

/** The parts of an experiment configuration file the closed loop reads. */
export interface ExperimentConfigSummary {
  version: string;
  holdoutFraction: number;
  /** Every experiment, in layer order then file order. */
  experiments: ConfiguredExperiment[];
}

/**
 * Validates an experiment configuration (the file the router reads through
 * `RANKER_EXPERIMENTS_FILE`) with the router's own rules and outlines what the
 * closed loop needs: version, holdout, every layer's experiments with their
 * arms. The older one-experiment form is accepted too. Thrown by: invalid
 * JSON or configuration (an error naming the field).
 */
export function parseExperimentConfig(text: string, source = 'experiment configuration'): ExperimentConfigSummary {
  const config = parseExperimentsJson(text, source);
  const experiments = config.layers.flatMap((layer) =>
    layer.experiments.map(
      (e): ConfiguredExperiment => ({
        layer: layer.name,
        name: e.name,
        arms: e.arms.map((a) => ({
          name: a.name,
          fraction: a.fraction,
          ...(a.snapshotVersion ? { snapshotVersion: a.snapshotVersion } : {}),
          ...(Object.keys(a.models ?? {}).length > 0 ? { pinsModels: true } : {}),
        })),
      }),
    ),
  );
  if (experiments.length === 0) throw new Error(`${source}: "layers" hold no experiment; a run needs at least one (see docs/online-experiments.md)`);
  return { version: config.version ?? '', holdoutFraction: config.holdout?.fraction ?? 0, experiments };
}

/** Reads and outlines an experiment configuration file. Thrown by: an unreadable or malformed file. */
export async function readExperimentConfig(path: string): Promise<ExperimentConfigSummary> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the experiment configuration ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseExperimentConfig(text, path);
}

/** Snapshot versions that arms pin, in first-use order. */
export function pinnedSnapshotVersions(config: ExperimentConfigSummary): string[] {
  const out = new Set<string>();
  for (const e of config.experiments) for (const a of e.arms) if (a.snapshotVersion) out.add(a.snapshotVersion);
  return [...out];
}
