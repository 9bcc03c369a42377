import { decodeTensorMessage } from '@pinrank/inference';
import { DegradedFlag, VectorKind, type GetEmbeddingsResponse } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';
import { type ModelSet } from './model-set';
import { type RequestContext } from './request-context';
import { type SnapshotMismatchPolicy } from './router-options';
import { fromPeer, type Upstreams } from './upstreams';
import { type VectorCache } from './vector-cache';

// The two embedding lookups of a Rank. They run side by side: content vectors
// come from the item catalog and belong to no snapshot, so only the tower
// lookup (user and item-tower vectors) reads one — pinned, or the active one,
// which its answer names (proto/pinrank/v1/embedding_store.proto).
// When the store cannot answer, both fall back on the router's last-known
// vectors (vector-cache.ts), flagged VECTORS_FROM_CACHE.

/** The candidates' content vectors, for those the catalog knows, in candidate order. */
export interface ContentVectors {
  itemIds: string[];
  /** [itemIds.length, width] row-major. */
  vectors: Float32Array;
  unknownItemIds: string[];
  /** Candidates the store could not be asked about and the router's cache does not hold (dropped, not refused). */
  uncachedItemIds: string[];
}

/** Tower vectors by item and the user's vector, all from one snapshot. */
export interface TowerVectors {
  rowOf: Map<string, number>;
  /** [rows, width] row-major. */
  vectors: Float32Array;
  /** The user's vector; zeros when missing. */
  user: Float32Array;
  userMissing: boolean;
  /** The snapshot version every one of these vectors came from. */
  snapshotVersion: string;
}

/** What both lookups need. */
export interface LookupOptions {
  upstreams: Upstreams;
  models: ModelSet;
  /** Longest wait for each lookup. */
  timeoutMs: number;
  /** Last-known vectors to fall back on while the store cannot answer; none when off. */
  cache?: VectorCache | undefined;
}

const badStore = (message: string): PinrankError => new PinrankError('INTERNAL', `embedding-store: ${message}`);

/** Content vectors of `itemIds` (no snapshot, never pinned). Thrown by: a failed lookup with nothing cached, a malformed answer (INTERNAL). */
export async function lookupContent(itemIds: readonly string[], o: LookupOptions, ctx: RequestContext): Promise<ContentVectors> {
  const width = o.models.widths.content;
  let res: GetEmbeddingsResponse;
  try {
    res = await o.upstreams.getEmbeddings({ userId: '', itemIds: [...itemIds], kind: VectorKind.VECTOR_KIND_CONTENT, snapshotVersion: '' }, o, ctx);
  } catch (err) {
    const cached = storeDown(err) ? o.cache?.contentOf(itemIds, width) : undefined;
    if (!cached || cached.ids.length === 0) throw err;
    ctx.flag(DegradedFlag.DEGRADED_FLAG_VECTORS_FROM_CACHE, `${describeDown(err)}; content vectors of ${cached.ids.length} of ${itemIds.length} candidate(s) from the router's cache`);
    return { itemIds: cached.ids, vectors: cached.vectors, unknownItemIds: [], uncachedItemIds: cached.missing };
  }
  const vectors = res.itemIds.length > 0 ? fromPeer('embedding-store', () => decodeTensorMessage(res.itemVectors, 'float32', 'content item_vectors')).data : new Float32Array(0);
  if (vectors.length !== res.itemIds.length * width) throw badStore(`content vectors hold ${vectors.length} values for ${res.itemIds.length} items of ${width}`);
  o.cache?.rememberContent(res.itemIds, vectors, width);
  return { itemIds: res.itemIds, vectors, unknownItemIds: res.unknownItemIds, uncachedItemIds: [] };
}

/**
 * The user's vector and the tower vectors of `itemIds` from one snapshot:
 * `pinned`, or the active one. Flags a user without a vector and a snapshot
 * from another PinnerFormer version (or refuses it, per `mismatch`).
 * Thrown by: a failed lookup, an answer from another version than pinned or
 * malformed (INTERNAL), a refused mismatch (FAILED_PRECONDITION).
 */
export async function lookupTower(
  q: { userId: string; itemIds: readonly string[]; pinned: string | undefined; mismatch: SnapshotMismatchPolicy },
  o: LookupOptions,
  ctx: RequestContext,
): Promise<TowerVectors> {
  const width = o.models.widths.pinnerformer;
  let res: GetEmbeddingsResponse;
  try {
    res = await o.upstreams.getEmbeddings({ userId: q.userId, itemIds: [...q.itemIds], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: q.pinned ?? '' }, o, ctx);
  } catch (err) {
    const cached = storeDown(err) ? towerFromCache(q, width, err, o, ctx) : undefined;
    if (!cached) throw err;
    return cached;
  }
  if (q.pinned && res.snapshotVersion !== q.pinned) throw badStore(`answered snapshot ${res.snapshotVersion} for pinned version ${q.pinned}`);
  if (!res.snapshotVersion) throw badStore('a tower lookup answered without naming its snapshot version');
  checkProducer(o.models, res.producerModelVersion, res.snapshotVersion, q.mismatch, ctx);
  const vectors = res.itemIds.length > 0 ? fromPeer('embedding-store', () => decodeTensorMessage(res.itemVectors, 'float32', 'tower item_vectors')).data : new Float32Array(0);
  if (vectors.length !== res.itemIds.length * width) throw badStore(`tower vectors hold ${vectors.length} values for ${res.itemIds.length} items of ${width}`);
  const userMissing = !res.userFound || res.userVector.length === 0;
  if (!userMissing && res.userVector.length !== width) throw badStore(`user vector has ${res.userVector.length} values, expected ${width}`);
  if (userMissing) ctx.flag(DegradedFlag.DEGRADED_FLAG_USER_VECTOR_MISSING, `user ${q.userId} has no vector in snapshot ${res.snapshotVersion}`);
  const user = userMissing ? new Float32Array(width) : Float32Array.from(res.userVector);
  o.cache?.rememberTower({
    snapshot: res.snapshotVersion,
    pinned: Boolean(q.pinned),
    producerModelVersion: res.producerModelVersion,
    itemIds: res.itemIds,
    vectors,
    width,
    userId: q.userId,
    user: userMissing ? undefined : user,
  });
  return { rowOf: new Map(res.itemIds.map((id, i) => [id, i])), vectors, user, userMissing, snapshotVersion: res.snapshotVersion };
}

/** Errors that say the store did not answer (rather than refused the question): the cache may stand in. */
function storeDown(err: unknown): boolean {
  const code = PinrankError.from(err).code;
  return code === 'UNAVAILABLE' || code === 'DEADLINE_EXCEEDED';
}

const describeDown = (err: unknown): string => `embedding-store did not answer (${PinrankError.from(err).code})`;

/** The tower lookup answered from the cache (flagged), or undefined when the cache holds none of the candidates of that snapshot. */
function towerFromCache(
  q: { userId: string; itemIds: readonly string[]; pinned: string | undefined; mismatch: SnapshotMismatchPolicy },
  width: number,
  err: unknown,
  o: LookupOptions,
  ctx: RequestContext,
): TowerVectors | undefined {
  const cached = o.cache?.towerOf({ userId: q.userId, itemIds: q.itemIds, pinned: q.pinned, width });
  if (!cached || cached.items.ids.length === 0) return undefined;
  checkProducer(o.models, cached.producerModelVersion, cached.snapshot, q.mismatch, ctx);
  ctx.flag(
    DegradedFlag.DEGRADED_FLAG_VECTORS_FROM_CACHE,
    `${describeDown(err)}; tower vectors of ${cached.items.ids.length} of ${q.itemIds.length} candidate(s) from the router's cache of snapshot ${cached.snapshot}`,
  );
  if (!cached.user) ctx.flag(DegradedFlag.DEGRADED_FLAG_USER_VECTOR_MISSING, `user ${q.userId}: the embedding-store did not answer and the router's cache of snapshot ${cached.snapshot} has no vector`);
  return {
    rowOf: new Map(cached.items.ids.map((id, i) => [id, i])),
    vectors: cached.items.vectors,
    user: cached.user ?? new Float32Array(width),
    userMissing: !cached.user,
    snapshotVersion: cached.snapshot,
  };
}

/** A snapshot from another PinnerFormer version than the models name: flagged, or refused with FAILED_PRECONDITION. */
function checkProducer(models: ModelSet, got: string, snapshot: string, mismatch: SnapshotMismatchPolicy, ctx: RequestContext): void {
  const want = models.pinnerformerVersion;
  if (!want || !got || want === got) return;
  const msg = `snapshot ${snapshot} was produced by PinnerFormer ${got}; the ranker models name ${want}`;
  if (mismatch === 'refuse') throw new PinrankError('FAILED_PRECONDITION', msg);
  ctx.flag(DegradedFlag.DEGRADED_FLAG_SNAPSHOT_VERSION_MISMATCH, msg);
}
