import { join } from 'node:path';
import { PINNERFORMER_CONSUMERS, buildModelRepositoryEntry, saveWeights, type BuiltModelEntry, type ModelName } from '@pinrank/models';
import { type TrainedRanker } from './trainer';

/** Options of `exportRanker`. */
export interface ExportRankerOptions {
  /** Model repository root. */
  repositoryDir: string;
  /** Version directory. Default "2" (version 1 holds the seeded reference models). */
  version?: string;
  /** Replace existing entries. Default false. */
  overwrite?: boolean;
  /** Extra provenance (e.g. evaluation figures) written into the weights files' source header. */
  provenance?: Record<string, unknown>;
}

/** Weights files of a trained ranker, written into its run directory. */
export async function saveRankerWeights(t: TrainedRanker, provenance: Record<string, unknown> = {}): Promise<Record<string, string>> {
  const { onStep: _s, ...options } = t.options;
  const source = {
    trainer: 'pinrank train ranker',
    options,
    pinnerformerVersion: t.pf.pinnerformerVersion,
    pinnerformerSnapshots: t.pf.versions,
    steps: t.options.steps,
    finalLoss: t.losses.at(-1) ?? null,
    world: { seed: t.data.manifest.seed, users: t.data.manifest.counts.users, items: t.data.manifest.counts.items },
    ...provenance,
  };
  const paths: Record<string, string> = {};
  for (const m of [t.encoder, t.heads]) {
    if (!m) continue;
    const path = join(t.options.runDir, `${m.spec.name}.prw`);
    await saveWeights(path, m.spec.name, m.spec.hyperparams, m.store, source);
    paths[m.spec.name] = path;
  }
  return paths;
}

/**
 * Writes the trained models into a model repository (`<name>/<version>/`),
 * each loaded in ONNX Runtime and checked against its config before it is
 * renamed into place; the heads' configs name the PinnerFormer version whose
 * snapshots fed training. Only the served forms export: the full ranker
 * (transact_encoder + ranking_heads) or ranking_heads_lite. Thrown by: an
 * ablation variant (TypeError), an existing entry without `overwrite`.
 */
export async function exportRanker(t: TrainedRanker, o: ExportRankerOptions): Promise<BuiltModelEntry[]> {
  const v = t.options.variant;
  if (!v.pinnerformer || v.compression !== 'pool+firstK')
    throw new TypeError('only the full ranker or ranking_heads_lite export (ablations have no served form)');
  const weights = await saveRankerWeights(t, o.provenance);
  const built: BuiltModelEntry[] = [];
  for (const [name, weightsPath] of Object.entries(weights)) {
    built.push(
      await buildModelRepositoryEntry({
        repositoryDir: o.repositoryDir,
        name,
        version: o.version ?? '2',
        weightsPath,
        overwrite: o.overwrite ?? false,
        ...((PINNERFORMER_CONSUMERS as readonly string[]).includes(name as ModelName) ? { pinnerformerVersion: t.pf.pinnerformerVersion } : {}),
      }),
    );
  }
  return built;
}
