/** Life-cycle status of a snapshot version as stored (ACTIVE is derived from the active pointer). */
export type SnapshotStatus = 'loading' | 'ready' | 'failed';

/** What the store knows about one snapshot version; persisted as JSON so every replica sees it. */
export interface SnapshotRecord {
  /** Version label (from the files' headers). */
  version: string;
  /** Where it is in its life cycle. */
  status: SnapshotStatus;
  /** Load progress in [0, 1]. */
  progress: number;
  /** Why loading failed (status `failed`), else empty. */
  error: string;
  /** Producing model name. */
  producerModel: string;
  /** Producing model version (the space the vectors live in). */
  producerModelVersion: string;
  /** Date the embeddings describe (YYYY-MM-DD). */
  asOfDate: string;
  /** User vectors in this version (after merging over the base). */
  userCount: number;
  /** Item-tower vectors in this version (after merging over the base). */
  itemCount: number;
  /** Vector dimension. */
  dimension: number;
  /** The version this incremental snapshot was merged over, or null. */
  baseVersion: string | null;
  /** When the snapshot files were created (epoch ms, from the header). */
  createdAtMs: number;
  /** When loading started (epoch ms). */
  startedAtMs: number;
  /** When loading finished (epoch ms; 0 while loading). */
  loadedAtMs: number;
  /** Load order: higher is newer. */
  seq: number;
}

/** Metadata name of a version's record. */
export function recordMetaName(version: string): string {
  return `snap:${version}`;
}

/** Metadata name prefix of all version records. */
export const RECORD_META_PREFIX = 'snap:';

/** Metadata name of the active-version pointer. */
export const ACTIVE_META_NAME = 'active';

/** Parses a stored record. Thrown by: text that is not a record (the store is corrupt). */
export function parseRecord(text: string, name: string): SnapshotRecord {
  const value = JSON.parse(text) as Partial<SnapshotRecord>;
  if (typeof value.version !== 'string' || !['loading', 'ready', 'failed'].includes(String(value.status)) || typeof value.seq !== 'number') {
    throw new Error(`stored snapshot record ${name} is malformed`);
  }
  return value as SnapshotRecord;
}

/** Newest first (by load order). */
export function newestFirst(a: SnapshotRecord, b: SnapshotRecord): number {
  return b.seq - a.seq;
}
