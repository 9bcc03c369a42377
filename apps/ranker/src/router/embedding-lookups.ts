import { decodeTensorMessage } from '@pinrank/inference';
import { DegradedFlag, VectorKind, type GetEmbeddingsResponse } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';
import { type ModelSet } from './model-set';
import { type RequestContext } from './request-context';
import { type SnapshotMismatchPolicy } from './router-options';
import { fromPeer, type Upstreams } from './upstreams';

// The two embedding lookups of a Rank. They run side by side: content vectors
// come from the item catalog and belong to no snapshot, so only the tower
// lookup (user and item-tower vectors) reads one — pinned, or the active one,
// which its answer names (proto/pinrank/v1/embedding_store.proto).

/** The candidates' content vectors, for those the catalog knows, in candidate order. */
export interface ContentVectors {
  itemIds: string[];
  /** [itemIds.length, width] row-major. */
  vectors: Float32Array;
  unknownItemIds: string[];
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
}

const badStore = (message: string): PinrankError => new PinrankError('INTERNAL', `embedding-store: ${message}`);

/** Content vectors of `itemIds` (no snapshot, never pinned). Thrown by: a failed lookup, a malformed answer (INTERNAL). */
export async function lookupContent(itemIds: readonly string[], o: LookupOptions, ctx: RequestContext): Promise<ContentVectors> {
  const width = o.models.widths.content;
  const res = await o.upstreams.getEmbeddings({ userId: '', itemIds: [...itemIds], kind: VectorKind.VECTOR_KIND_CONTENT, snapshotVersion: '' }, o, ctx);
  const vectors = res.itemIds.length > 0 ? fromPeer('embedding-store', () => decodeTensorMessage(res.itemVectors, 'float32', 'content item_vectors')).data : new Float32Array(0);
  if (vectors.length !== res.itemIds.length * width) throw badStore(`content vectors hold ${vectors.length} values for ${res.itemIds.length} items of ${width}`);
  return { itemIds: res.itemIds, vectors, unknownItemIds: res.unknownItemIds };
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
  const res = await o.upstreams.getEmbeddings({ userId: q.userId, itemIds: [...q.itemIds], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: q.pinned ?? '' }, o, ctx);
  if (q.pinned && res.snapshotVersion !== q.pinned) throw badStore(`answered snapshot ${res.snapshotVersion} for pinned version ${q.pinned}`);
  if (!res.snapshotVersion) throw badStore('a tower lookup answered without naming its snapshot version');
  checkProducer(o.models, res, q.mismatch, ctx);
  const vectors = res.itemIds.length > 0 ? fromPeer('embedding-store', () => decodeTensorMessage(res.itemVectors, 'float32', 'tower item_vectors')).data : new Float32Array(0);
  if (vectors.length !== res.itemIds.length * width) throw badStore(`tower vectors hold ${vectors.length} values for ${res.itemIds.length} items of ${width}`);
  const userMissing = !res.userFound || res.userVector.length === 0;
  if (!userMissing && res.userVector.length !== width) throw badStore(`user vector has ${res.userVector.length} values, expected ${width}`);
  if (userMissing) ctx.flag(DegradedFlag.DEGRADED_FLAG_USER_VECTOR_MISSING, `user ${q.userId} has no vector in snapshot ${res.snapshotVersion}`);
  return {
    rowOf: new Map(res.itemIds.map((id, i) => [id, i])),
    vectors,
    user: userMissing ? new Float32Array(width) : Float32Array.from(res.userVector),
    userMissing,
    snapshotVersion: res.snapshotVersion,
  };
}

/** A snapshot from another PinnerFormer version than the models name: flagged, or refused with FAILED_PRECONDITION. */
function checkProducer(models: ModelSet, res: GetEmbeddingsResponse, mismatch: SnapshotMismatchPolicy, ctx: RequestContext): void {
  const want = models.pinnerformerVersion;
  const got = res.producerModelVersion;
  if (!want || !got || want === got) return;
  const msg = `snapshot ${res.snapshotVersion} was produced by PinnerFormer ${got}; the ranker models name ${want}`;
  if (mismatch === 'refuse') throw new PinrankError('FAILED_PRECONDITION', msg);
  ctx.flag(DegradedFlag.DEGRADED_FLAG_SNAPSHOT_VERSION_MISMATCH, msg);
}
