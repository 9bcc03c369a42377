// The router's last-known copy of the vectors the embedding-store served, used
// only while the store cannot answer (UNAVAILABLE or past its timeout): a lone
// replica's restart then costs flagged answers instead of failed ones.
//
// Every successful lookup is remembered; nothing is read from here while the
// store answers, so a changed catalog or a newly activated snapshot is never
// hidden by it. Memory is fixed at start: rows live in preallocated
// Float32Arrays (items, users), and a full cache overwrites its oldest row.
import { RowCache } from '@pinrank/contracts';

/** One snapshot's tower vectors as last served. */
interface SnapshotRows {
  items: RowCache;
  users: RowCache;
  producerModelVersion: string;
}

/** Sizes of a {@link VectorCache}; 0 items turns it off. */
export interface VectorCacheSizes {
  /** Items per kind (content, and tower per snapshot) kept; default 50 000. */
  items: number;
  /** Users' vectors kept per snapshot; default 50 000. */
  users: number;
}

/** What the cache could give for a set of ids. */
export interface CachedRows {
  /** The ids it holds, in the order asked. */
  ids: string[];
  /** [ids.length, width] row-major. */
  vectors: Float32Array;
  /** The ids it does not hold. */
  missing: string[];
}

/** Snapshots kept at once: the active one and one more (a pinned one, or the previous active during a switch). */
const SNAPSHOTS_KEPT = 2;

function gather(rows: RowCache, ids: readonly string[]): CachedRows {
  const vectors = new Float32Array(ids.length * rows.width);
  const found: string[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    if (rows.copyTo(id, vectors, found.length * rows.width)) found.push(id);
    else missing.push(id);
  }
  return { ids: found, vectors: vectors.subarray(0, found.length * rows.width), missing };
}

/**
 * Content vectors (no snapshot) and tower vectors (per snapshot, the two most
 * recently seen) from successful lookups, for the lookups to fall back on.
 */
export class VectorCache {
  private content: RowCache | undefined;
  private readonly snapshots = new Map<string, SnapshotRows>();
  /** The snapshot the latest unpinned tower lookup named. */
  private active: string | undefined;

  constructor(readonly sizes: VectorCacheSizes) {}

  /** Remembers content vectors ([itemIds.length, width]); a width other than the first one seen is not kept. */
  rememberContent(itemIds: readonly string[], vectors: Float32Array, width: number): void {
    this.content ??= new RowCache(width, this.sizes.items);
    if (this.content.width !== width) return;
    for (let i = 0; i < itemIds.length; i++) this.content.put(itemIds[i]!, vectors, i * width);
  }

  /** The cached content vectors of `itemIds`, or undefined when the cache has none of that width. */
  contentOf(itemIds: readonly string[], width: number): CachedRows | undefined {
    if (this.content?.width !== width) return undefined;
    return gather(this.content, itemIds);
  }

  /** Remembers one tower answer of `snapshot` (`pinned`: asked for by version, so not the active one). */
  rememberTower(a: { snapshot: string; pinned: boolean; producerModelVersion: string; itemIds: readonly string[]; vectors: Float32Array; width: number; userId: string; user: Float32Array | undefined }): void {
    let rows = this.snapshots.get(a.snapshot);
    if (!rows) {
      if (this.snapshots.size >= SNAPSHOTS_KEPT) this.dropOneSnapshot();
      rows = { items: new RowCache(a.width, this.sizes.items), users: new RowCache(a.width, Math.max(1, this.sizes.users)), producerModelVersion: a.producerModelVersion };
      this.snapshots.set(a.snapshot, rows);
    }
    if (!a.pinned) this.active = a.snapshot;
    if (rows.items.width !== a.width) return;
    for (let i = 0; i < a.itemIds.length; i++) rows.items.put(a.itemIds[i]!, a.vectors, i * a.width);
    if (a.user && this.sizes.users > 0 && a.user.length === a.width) rows.users.put(a.userId, a.user, 0);
  }

  /**
   * The cached tower vectors of `itemIds` and `userId` from `pinned`, or from
   * the last active snapshot; undefined when that snapshot is not held or
   * has another width.
   */
  towerOf(q: { userId: string; itemIds: readonly string[]; pinned: string | undefined; width: number }): { snapshot: string; producerModelVersion: string; items: CachedRows; user: Float32Array | undefined } | undefined {
    const snapshot = q.pinned ?? this.active;
    const rows = snapshot === undefined ? undefined : this.snapshots.get(snapshot);
    if (!rows || snapshot === undefined || rows.items.width !== q.width) return undefined;
    const user = new Float32Array(q.width);
    const userFound = rows.users.copyTo(q.userId, user, 0);
    return { snapshot, producerModelVersion: rows.producerModelVersion, items: gather(rows.items, q.itemIds), user: userFound ? user : undefined };
  }

  /** Rows held: content vectors, and tower and user vectors summed over the snapshots kept. */
  rows(): { content: number; tower: number; user: number } {
    let tower = 0;
    let user = 0;
    for (const s of this.snapshots.values()) {
      tower += s.items.size;
      user += s.users.size;
    }
    return { content: this.content?.size ?? 0, tower, user };
  }

  /** Drops the oldest snapshot that is not the active one. */
  private dropOneSnapshot(): void {
    for (const version of this.snapshots.keys()) {
      if (version !== this.active) {
        this.snapshots.delete(version);
        return;
      }
    }
  }
}
