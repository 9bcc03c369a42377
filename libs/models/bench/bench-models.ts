// The models and inputs the transact-encoder benchmark compares.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Feeds, transactEncoderHyperparams, weightsFromOnnx } from '../src/index';
import { type PlainLayout, type PlainNorm, plainExport } from './plain-export';

/** A version from the repository. */
export interface EncoderVersion {
  version: string;
  bytes: Uint8Array;
}

/** One plain export of the served weights. */
export interface PlainVariant {
  layout: PlainLayout;
  norm: PlainNorm;
  bytes: Uint8Array;
}

/** The served version, the one alongside, and the plain exports of the served weights. */
export interface EncoderVersions {
  served: EncoderVersion;
  previous: EncoderVersion | undefined;
  plain: PlainVariant[];
}

/**
 * Reads transact_encoder versions from a repository: `version` (default the
 * newest) as the served one and `previous` (default the one below it), and
 * builds the plain per-pair exports from the served model's own weights.
 */
export async function loadVersions(repository: string, version?: string, previous?: string): Promise<EncoderVersions> {
  const dir = join(repository, 'transact_encoder');
  const all = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && /^\d+$/.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => Number(a) - Number(b));
  const served = version ?? all.at(-1);
  if (!served) throw new Error(`no transact_encoder versions in ${repository}`);
  const before = previous ?? all[all.indexOf(served) - 1];
  const read = async (v: string): Promise<EncoderVersion> => ({ version: v, bytes: await readFile(join(dir, v, 'model.onnx')) });
  const manifest = JSON.parse(await readFile(join(dir, served, 'manifest.json'), 'utf8')) as { hyperparams: unknown };
  const hp = transactEncoderHyperparams.parse(manifest.hyperparams);
  const servedModel = await read(served);
  const weights = weightsFromOnnx(servedModel.bytes);
  return {
    served: servedModel,
    previous: before ? await read(before) : undefined,
    plain: (['exporter', 'rows'] as const).flatMap((norm) =>
      (['batch-first', 'sequence-first'] as const).map((layout) => ({ layout, norm, bytes: plainExport(weights, hp, layout, norm) })),
    ),
  };
}

/** Every user's first `real` rows real actions, the rest padding (type 0, age −1, zero vectors). */
export function realRows(feeds: Feeds, real: number): Feeds {
  const full = fullSequences(feeds);
  const items = full['seq_item_vectors']!;
  const [users, S, d] = items.shape as [number, number, number];
  const types = full['seq_action_types']!.data as BigInt64Array;
  const ages = full['seq_ages_s']!.data as Float32Array;
  const vectors = items.data as Float32Array;
  for (let u = 0; u < users; u++) {
    for (let j = real; j < S; j++) {
      types[u * S + j] = 0n;
      ages[u * S + j] = -1;
      vectors.fill(0, (u * S + j) * d, (u * S + j + 1) * d);
    }
  }
  return full;
}

/** The same feeds with every sequence row a real action (types 1–5, positive ages, the sample's vectors or fresh ones). */
export function fullSequences(feeds: Feeds): Feeds {
  const types = feeds['seq_action_types']!;
  const ages = feeds['seq_ages_s']!;
  const items = feeds['seq_item_vectors']!;
  const [users, S, d] = items.shape as [number, number, number];
  const vectors = Float32Array.from(items.data as Float32Array);
  for (let i = 0; i < users * S; i++) if (Number(types.data[i]) === 0) for (let k = 0; k < d; k++) vectors[i * d + k] = Math.sin(1 + i * d + k) * 0.3;
  return {
    ...feeds,
    seq_action_types: { dtype: 'int64', shape: types.shape, data: BigInt64Array.from({ length: users * S }, (_, i) => BigInt(1 + (i % 5))) },
    seq_ages_s: { dtype: 'float32', shape: ages.shape, data: Float32Array.from({ length: users * S }, (_, i) => 60 * (1 + (i % S))) },
    seq_item_vectors: { dtype: 'float32', shape: items.shape, data: vectors },
  };
}
