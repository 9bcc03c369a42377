import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { VectorFileWriter, loadModelConfig, type ModelConfig, readVectorFile, readVectorFileHeader } from '@pinrank/contracts';
import { buildSequence, type SequenceAction } from '@pinrank/features';
import { ModelRepository } from '@pinrank/inference';
import { parseItemId, userId, type WorldManifest } from '@pinrank/sim';
import { PINNERFORMER_ACTION_TYPES, pinnerformerFeeds } from '@pinrank/models';
import { collectUserHistories, type HistoryAction } from './user-histories';

/** Options of one run of the batch embedding job. */
export interface EmbedJobOptions {
  /** A directory written by `pinrank simulate` (catalog + action log + world.json). */
  worldDir: string;
  /** Model repository root (holds pinnerformer/<v>/ and pinnerformer_item/<v>/). */
  modelRoot: string;
  /** PinnerFormer model version (default: the newest complete version in the repository, as the workers read it). */
  modelVersion?: string;
  /** Embedding day, YYYY-MM-DD; vectors describe the end of that day (default: the world's last day). */
  asOfDate?: string;
  /** Output directory; files are `<out>/<version>/users[.shard-i-of-n].vec` and `items.vec`. */
  outDir: string;
  /** Snapshot version label (default `<asOfDate>.pf<modelVersion>`). */
  version?: string;
  /** Incremental: only users active after this base snapshot's day; the output names it as its base. */
  baseVersion?: string;
  /** Sequence length M (default: the model's, from its config's `action_types` shape). */
  maxLen?: number;
  /** Users per inference batch (default 256). */
  batchSize?: number;
  /** Shard i of n over user index ranges (default 0 of 1). */
  shard?: number;
  shards?: number;
  /** ONNX Runtime intra-op threads (default 2). */
  threads?: number;
  /** Progress callback. */
  onProgress?: (phase: string, done: number, total: number) => void;
}

/** What a run wrote. */
export interface EmbedJobResult {
  version: string;
  asOfDate: string;
  userFile: string;
  itemFile?: string;
  users: number;
  items: number;
  skippedUsers: number;
}

const DAY_MS = 86_400_000;

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

async function latestVersion(modelRoot: string): Promise<string> {
  const v = await new ModelRepository(modelRoot).latestVersion('pinnerformer');
  if (!v) throw new Error(`no model versions under ${join(modelRoot, 'pinnerformer')}; build them with \`pinrank models build\``);
  return v.version;
}

/** M of a PinnerFormer model: the fixed second dimension of its `action_types` input. */
export function modelSequenceLength(config: ModelConfig): number {
  const m = config.inputs.find((t) => t.name === 'action_types')?.shape[1];
  if (m === undefined || m < 1) throw new Error(`model ${config.name}/${config.version}: input action_types needs a fixed length [-1, M]`);
  return m;
}

/**
 * Computes PinnerFormer user vectors (as of the end of a day, from each user's
 * last M positive actions) and item-tower vectors for the whole catalog, and
 * writes them as one snapshot version. Sharded runs write one user file per
 * shard (shard 0 also writes the item file); incremental runs embed only users
 * active since the base snapshot's day and name that base.
 */
export async function runEmbedJob(o: EmbedJobOptions): Promise<EmbedJobResult> {
  const shards = o.shards ?? 1;
  const shard = o.shard ?? 0;
  if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shards)
    throw new RangeError(`shard must be in 0..shards-1 (got shard ${shard} of ${shards})`);
  const batchSize = o.batchSize ?? 256;
  const manifest = JSON.parse(await readFile(join(o.worldDir, 'world.json'), 'utf8')) as WorldManifest;
  const asOfDate = o.asOfDate ?? isoDay(manifest.endMs - 1);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOfDate)) throw new RangeError(`asOfDate must be YYYY-MM-DD, got "${asOfDate}"`);
  const asOfMs = Date.parse(`${asOfDate}T00:00:00Z`) + DAY_MS - 1;
  const modelVersion = o.modelVersion ?? (await latestVersion(o.modelRoot));
  const version = o.version ?? `${asOfDate}.pf${modelVersion}`;
  const pfDir = join(o.modelRoot, 'pinnerformer', modelVersion);
  const pfConfig = await loadModelConfig(join(pfDir, 'config.json'));
  const maxLen = o.maxLen ?? modelSequenceLength(pfConfig);
  const outDir = join(o.outDir, version);
  await mkdir(outDir, { recursive: true });

  let sinceMs = -Infinity;
  if (o.baseVersion) {
    const base = await readVectorFileHeader(join(o.outDir, o.baseVersion, 'users.vec'));
    sinceMs = Date.parse(`${base.asOfDate}T00:00:00Z`) + DAY_MS - 1;
  }

  // Content vectors by item index, from the catalog.
  const catalogPath = join(o.worldDir, manifest.files.catalog);
  const catalog = await readVectorFileHeader(catalogPath);
  const content = new Float32Array(manifest.counts.items * catalog.dimension);
  const itemIds: string[] = [];
  for await (const rec of readVectorFile(catalogPath)) {
    const idx = parseItemId(rec.id, manifest.counts.items);
    content.set(rec.vector, idx * catalog.dimension);
    itemIds.push(rec.id);
  }

  const userFrom = Math.floor((shard * manifest.counts.users) / shards);
  const userTo = Math.floor(((shard + 1) * manifest.counts.users) / shards);
  const histories = await collectUserHistories(join(o.worldDir, manifest.files.actions), { asOfMs, maxLen, userFrom, userTo });
  const users = [...histories.actions.keys()]
    .filter((u) => (histories.lastActiveMs.get(u) ?? 0) > sinceMs)
    .sort((a, b) => a - b);

  const threads = o.threads ?? 2;
  const sessionOpts: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 };
  const userSession = await ort.InferenceSession.create(join(pfDir, 'model.onnx'), sessionOpts);
  const dim = pfConfig.outputs[0]?.shape.at(-1) ?? 64;

  const userFile = join(outDir, shards === 1 ? 'users.vec' : `users.shard-${shard}-of-${shards}.vec`);
  const header = {
    version,
    dimension: dim,
    producerModel: 'pinnerformer',
    producerModelVersion: modelVersion,
    asOfDate,
    baseVersion: o.baseVersion ?? null,
    createdAtMs: Date.now(),
  };
  const writer = await VectorFileWriter.open(userFile, { ...header, kind: 'user', count: users.length });
  try {
    const D = catalog.dimension;
    for (let start = 0; start < users.length; start += batchSize) {
      const batch = users.slice(start, start + batchSize);
      const B = batch.length;
      const sequences = batch.map((u) =>
        buildSequence(
          (histories.actions.get(u) ?? []).map(
            (h: HistoryAction): SequenceAction => ({
              actionId: String(h.position),
              itemId: '',
              actionType: h.actionType,
              timestampMs: h.timestampMs,
              surface: h.surface,
              durationMs: h.durationMs,
              vector: content.subarray(h.itemIndex * D, (h.itemIndex + 1) * D),
            }),
          ),
          { asOfMs, maxLen, dimension: D, includeTypes: PINNERFORMER_ACTION_TYPES },
        ),
      );
      // The same inputs training builds (libs/models pinnerformerFeeds).
      const feeds = pinnerformerFeeds(sequences);
      const out = await userSession.run(
        Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.dtype, t.data, t.shape)])),
      );
      const emb = out['user_embedding']?.data as Float32Array;
      for (let b = 0; b < B; b++) await writer.write(userId(batch[b] as number), emb.subarray(b * dim, (b + 1) * dim));
      o.onProgress?.('users', Math.min(start + B, users.length), users.length);
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  } finally {
    await userSession.release();
  }

  let itemFile: string | undefined;
  if (shard === 0) {
    const itemDir = join(o.modelRoot, 'pinnerformer_item', modelVersion);
    const itemSession = await ort.InferenceSession.create(join(itemDir, 'model.onnx'), sessionOpts);
    itemFile = join(outDir, 'items.vec');
    const w = await VectorFileWriter.open(itemFile, { ...header, kind: 'item_tower', count: itemIds.length });
    try {
      const D = catalog.dimension;
      const step = 4096;
      for (let start = 0; start < itemIds.length; start += step) {
        const ids = itemIds.slice(start, start + step);
        const x = new Float32Array(ids.length * D);
        ids.forEach((id, i) => {
          const idx = parseItemId(id, manifest.counts.items);
          x.set(content.subarray(idx * D, (idx + 1) * D), i * D);
        });
        const out = await itemSession.run({ item_vectors: new ort.Tensor('float32', x, [ids.length, D]) });
        const emb = out['item_embedding']?.data as Float32Array;
        for (let i = 0; i < ids.length; i++) await w.write(ids[i] as string, emb.subarray(i * dim, (i + 1) * dim));
        o.onProgress?.('items', Math.min(start + ids.length, itemIds.length), itemIds.length);
      }
      await w.close();
    } catch (err) {
      await w.abort();
      throw err;
    } finally {
      await itemSession.release();
    }
  }
  return {
    version,
    asOfDate,
    userFile,
    ...(itemFile ? { itemFile } : {}),
    users: users.length,
    items: itemFile ? itemIds.length : 0,
    skippedUsers: userTo - userFrom - users.length,
  };
}

/** Concatenates shard user files of one version into `users.vec` (streaming). */
export async function mergeUserShards(dir: string, shards: number): Promise<string> {
  const files = Array.from({ length: shards }, (_, i) => join(dir, `users.shard-${i}-of-${shards}.vec`));
  const headers = await Promise.all(files.map((f) => readVectorFileHeader(f)));
  const first = headers[0];
  if (!first) throw new RangeError('no shards to merge');
  for (const h of headers)
    if (h.version !== first.version || h.dimension !== first.dimension)
      throw new Error(`shard files disagree on version or dimension (${h.version}/${h.dimension} vs ${first.version}/${first.dimension})`);
  const out = join(dir, 'users.vec');
  const { format: _f, dtype: _d, ...rest } = first;
  const w = await VectorFileWriter.open(out, { ...rest, count: headers.reduce((s, h) => s + h.count, 0), createdAtMs: Date.now() });
  try {
    for (const f of files) for await (const rec of readVectorFile(f)) await w.write(rec.id, rec.vector, rec.extra);
    await w.close();
  } catch (err) {
    await w.abort();
    throw err;
  }
  return out;
}
