import { readVectorFile } from '@pinrank/contracts';
import { towerKey, towerPrefix, userKey, userPrefix } from '../store/keys';
import { type VectorStore } from '../store/vector-store';
import { type SnapshotFiles } from './snapshot-files';

/** What a load needs besides the files. */
export interface StagedLoadOptions {
  /** Where vectors go (under the new version's keys only). */
  store: VectorStore;
  /** The validated files. */
  files: SnapshotFiles;
  /** For an incremental snapshot: the base version and its counts (vectors are copied, then overridden). */
  base: { version: string; userCount: number; itemCount: number } | null;
  /** Records per store write. */
  batchSize: number;
  /** Called with progress in [0, 1] after each batch. */
  onProgress: (progress: number) => void;
  /** True for users deleted while this load runs; their vectors are not written. */
  isDeletedUser: (userId: string) => boolean;
  /** Aborts the load between batches. */
  signal?: AbortSignal;
}

/** Counts of a finished load (after merging over the base). */
export interface StagedLoadResult {
  /** Distinct users in the version. */
  userCount: number;
  /** Distinct items in the version. */
  itemCount: number;
}

type KeyFn = (version: string, id: string) => string;

/**
 * Writes a snapshot's vectors under its own version's keys: first the base's
 * vectors (incremental snapshots), then every record of both files, validated
 * as they stream (dimension, finite values, count, checksum, duplicate ids).
 * Nothing outside the new version's keys is touched, so a failure leaves every
 * other version intact; the caller removes the partial version. Thrown by: any
 * validation failure (ContractError or Error naming the record).
 */
export async function runStagedLoad(options: StagedLoadOptions): Promise<StagedLoadResult> {
  const { store, files, base, batchSize, onProgress, signal } = options;
  const version = files.user.version;
  const dimension = files.user.dimension;
  const total = Math.max(1, (base ? base.userCount + base.itemCount : 0) + files.user.count + files.item.count);
  let done = 0;
  const progressed = (n: number): void => {
    done += n;
    onProgress(Math.min(1, done / total));
  };
  const keep = (kind: 'u' | 't', id: string): boolean => kind === 't' || !options.isDeletedUser(id);

  const copyBase = async (kind: 'u' | 't', prefix: string, key: KeyFn): Promise<number> => {
    let copied = 0;
    for await (const batch of store.scan(prefix, batchSize)) {
      signal?.throwIfAborted();
      const entries = batch.filter(([id]) => keep(kind, id)).map(([id, v]) => [key(version, id), v] as const);
      await store.writeVectors(entries);
      copied += entries.length;
      progressed(batch.length);
    }
    return copied;
  };

  const ingest = async (kind: 'u' | 't', path: string, key: KeyFn, baseCount: number): Promise<number> => {
    const seen = new Set<string>();
    let added = 0;
    let batch: Array<readonly [string, Float32Array]> = [];
    const flush = async (): Promise<void> => {
      signal?.throwIfAborted();
      if (base) {
        // Ids already present (copied from the base) are replacements, not additions.
        const found = await store.readRows(batch.map(([k]) => k), dimension, new Float32Array(batch.length * dimension));
        added += found.filter((f) => !f).length;
      } else {
        added += batch.length;
      }
      await store.writeVectors(batch);
      progressed(batch.length);
      batch = [];
    };
    let index = 0;
    for await (const record of readVectorFile(path)) {
      if (record.vector.length !== dimension) throw new Error(`${path}: record ${index} has ${record.vector.length} values, expected ${dimension}`);
      if (seen.has(record.id)) throw new Error(`${path}: record ${index}: id "${record.id}" appears twice`);
      seen.add(record.id);
      index++;
      if (keep(kind, record.id)) batch.push([key(version, record.id), record.vector]);
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
    return baseCount + added;
  };

  let baseUsers = 0;
  let baseItems = 0;
  if (base) {
    baseUsers = await copyBase('u', userPrefix(base.version), userKey);
    baseItems = await copyBase('t', towerPrefix(base.version), towerKey);
  }
  const userCount = await ingest('u', files.userFile, userKey, baseUsers);
  const itemCount = await ingest('t', files.itemFile, towerKey, baseItems);
  onProgress(1);
  return { userCount, itemCount };
}
