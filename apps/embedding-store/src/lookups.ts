import {
  DataType,
  GetEmbeddingsResponse,
  RetrieveResponse,
  ScoredItem,
  Tensor,
  VectorKind,
  type GetEmbeddingsRequest,
  type RetrieveRequest,
} from '@pinrank/proto';
import { MAX_RPC_ID_BYTES, PinrankError, checkId, quote } from '@pinrank/service-kit';
import { type Logger } from 'pino';
import { type ItemTowerProvider } from './item-tower';
import { type EmbeddingStoreMetrics } from './metrics';
import { type SnapshotLease } from './snapshots/reader-leases';
import { type SnapshotManager } from './snapshots/snapshot-manager';
import { type SnapshotRecord } from './snapshots/snapshot-record';
import { CONTENT_PREFIX, towerPrefix, userKey } from './store/keys';
import { readRowsUnder, type VectorStore } from './store/vector-store';

/** Options of {@link Lookups}. */
export interface LookupsOptions {
  /** Vector storage. Required. */
  store: VectorStore;
  /** Snapshot versions. Required. */
  snapshots: SnapshotManager;
  /** Item-tower model by PinnerFormer version, for catalog items missing from a snapshot. Required. */
  itemTower: ItemTowerProvider;
  /** Metrics sink; default none. */
  metrics?: EmbeddingStoreMetrics;
  /** Log sink; default silent. */
  logger?: Logger;
  /** Content vector dimension. Default 32. */
  contentDimension?: number;
  /** Most item ids per GetEmbeddings. Default 10000. */
  maxItems?: number;
  /** Largest k of Retrieve. Default 1000. */
  maxK?: number;
  /** Most excluded ids per Retrieve. Default 10000. */
  maxExclude?: number;
}

// Snapshot versions have the form of vector-file version labels (libs/contracts).
const SNAPSHOT_VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function invalid(message: string): never {
  throw new PinrankError('INVALID_ARGUMENT', message);
}

/** Checks a pinned snapshot version (empty: the active one) before any message repeats it. */
export function checkSnapshotVersion(version: string, field = 'snapshot_version'): void {
  if (version && !SNAPSHOT_VERSION.test(version)) invalid(`${field}: ${quote(version)} is not a snapshot version (1-64 characters of A-Z a-z 0-9 . _ -)`);
}

/** Keeps the rows flagged in `keep` (row-major, `d` floats per row), in order. */
function compactRows(rows: Float32Array, keep: boolean[], d: number): Float32Array {
  let n = 0;
  for (let i = 0; i < keep.length; i++) {
    if (!keep[i]) continue;
    if (n !== i) rows.copyWithin(n * d, i * d, (i + 1) * d);
    n++;
  }
  return rows.subarray(0, n * d);
}

/** GetEmbeddings and Retrieve: validated, version-consistent reads. */
export class Lookups {
  private readonly o: Required<Omit<LookupsOptions, 'metrics' | 'logger'>> & Pick<LookupsOptions, 'metrics' | 'logger'>;

  constructor(options: LookupsOptions) {
    this.o = {
      ...options,
      contentDimension: options.contentDimension ?? 32,
      maxItems: options.maxItems ?? 10_000,
      maxK: options.maxK ?? 1000,
      maxExclude: options.maxExclude ?? 10_000,
    };
    if (!options.store || !options.snapshots || !options.itemTower) throw new TypeError('Lookups: store, snapshots and itemTower are required');
    for (const name of ['contentDimension', 'maxItems', 'maxK', 'maxExclude'] as const) {
      if (!Number.isInteger(this.o[name]) || this.o[name] < 1) throw new TypeError(`Lookups: ${name} must be an integer >= 1`);
    }
  }

  /**
   * A user vector and item vectors of one kind, all from one snapshot version
   * (pinned, or the active one, resolved once). Unknown ids are listed, never
   * zero-filled. Thrown by: bad input (INVALID_ARGUMENT), an unknown version (NOT_FOUND).
   */
  async getEmbeddings(req: GetEmbeddingsRequest): Promise<GetEmbeddingsResponse> {
    const started = performance.now();
    const { userId, itemIds, kind } = req;
    if (!userId && itemIds.length === 0) invalid('empty request: give a user_id, item_ids, or both');
    if (itemIds.length > this.o.maxItems) invalid(`item_ids: ${itemIds.length} ids given; send at most ${this.o.maxItems} per call`);
    if (itemIds.length > 0 && kind !== VectorKind.VECTOR_KIND_CONTENT && kind !== VectorKind.VECTOR_KIND_TOWER) {
      invalid('kind: set VECTOR_KIND_CONTENT or VECTOR_KIND_TOWER for item vectors');
    }
    checkId(userId, 'user_id', { required: false });
    checkSnapshotVersion(req.snapshotVersion);
    const unique = new Set<string>();
    itemIds.forEach((id, i) => {
      // The common case (a short id) without building the field name per id.
      if (!id || id.length * 3 > MAX_RPC_ID_BYTES) checkId(id, `item_ids[${i}]`);
      if (unique.has(id)) invalid(`item_ids[${i}]: ${quote(id)} appears twice; send each id once`);
      unique.add(id);
    });
    const needsSnapshot = userId !== '' || kind === VectorKind.VECTOR_KIND_TOWER || req.snapshotVersion !== '';
    const lease = needsSnapshot ? this.o.snapshots.acquire(req.snapshotVersion) : undefined;
    try {
      const response = GetEmbeddingsResponse.fromPartial({
        snapshotVersion: lease?.record.version ?? '',
        producerModelVersion: lease?.record.producerModelVersion ?? '',
      });
      // The user's and the items' reads start together: one round trip to Redis (its
      // client pipelines commands sent in the same tick), not one after the other.
      await Promise.all([
        userId && lease ? this.readUser(lease.record, userId, response) : undefined,
        itemIds.length === 0
          ? undefined
          : kind === VectorKind.VECTOR_KIND_CONTENT
            ? this.readContent(itemIds, response)
            : this.readTower(lease as SnapshotLease, itemIds, response),
      ]);
      this.o.metrics?.observeLookup('GetEmbeddings', this.o.store.backend, (performance.now() - started) / 1000);
      return response;
    } finally {
      lease?.release();
    }
  }

  /**
   * Nearest items by tower vector to a user's vector or a raw vector, from one
   * version's ANN index. Thrown by: bad input (INVALID_ARGUMENT), an unknown
   * user or version (NOT_FOUND), no active snapshot (FAILED_PRECONDITION).
   */
  async retrieve(req: RetrieveRequest): Promise<RetrieveResponse> {
    const started = performance.now();
    if (!Number.isInteger(req.k) || req.k < 1 || req.k > this.o.maxK) invalid(`k: ${req.k} is out of range; ask for 1..${this.o.maxK} items`);
    if (req.excludeItemIds.length > this.o.maxExclude) invalid(`exclude_item_ids: ${req.excludeItemIds.length} ids; at most ${this.o.maxExclude}`);
    if (!req.query) invalid('query: give a user_id or a vector');
    checkSnapshotVersion(req.snapshotVersion);
    req.excludeItemIds.forEach((id, i) => checkId(id, `exclude_item_ids[${i}]`));
    if (req.query.$case === 'userId') checkId(req.query.value, 'query.user_id');
    const lease = this.o.snapshots.acquire(req.snapshotVersion);
    try {
      const { version, dimension } = lease.record;
      let query: Float32Array;
      if (req.query.$case === 'userId') {
        const userId = req.query.value;
        query = new Float32Array(dimension);
        const [found] = await this.o.store.readRows([userKey(version, userId)], dimension, query);
        if (!found) {
          this.o.metrics?.countUnknown('user', 1);
          throw new PinrankError('NOT_FOUND', `user ${quote(userId)} has no vector in snapshot ${version}; retrieve with a vector, or rank without retrieval`);
        }
      } else {
        const values = req.query.value.values;
        if (values.length !== dimension) invalid(`query.vector: ${values.length} values; snapshot ${version} has dimension ${dimension}`);
        const bad = values.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) invalid(`query.vector: value ${bad} is ${values[bad]}; only finite values are allowed`);
        query = Float32Array.from(values);
      }
      const index = await this.o.snapshots.index(version);
      const hits = index.search(query, req.k, new Set(req.excludeItemIds));
      this.o.metrics?.observeLookup('Retrieve', this.o.store.backend, (performance.now() - started) / 1000);
      return RetrieveResponse.fromPartial({
        snapshotVersion: version,
        items: hits.map((h) => ScoredItem.fromPartial({ itemId: h.id, score: h.score })),
      });
    } finally {
      lease.release();
    }
  }

  private async readUser(record: SnapshotRecord, userId: string, response: GetEmbeddingsResponse): Promise<void> {
    const vector = new Float32Array(record.dimension);
    const [found] = await this.o.store.readRows([userKey(record.version, userId)], record.dimension, vector);
    response.userFound = found === true;
    if (found) response.userVector = Array.from(vector);
    else this.o.metrics?.countUnknown('user', 1);
  }

  private async readContent(itemIds: string[], response: GetEmbeddingsResponse): Promise<void> {
    const d = this.o.contentDimension;
    const rows = new Float32Array(itemIds.length * d);
    const found = await readRowsUnder(this.o.store, CONTENT_PREFIX, itemIds, d, rows);
    this.fillItems(response, itemIds, found, compactRows(rows, found, d), d);
    this.o.metrics?.countUnknown('content', response.unknownItemIds.length);
  }

  private async readTower(lease: SnapshotLease, itemIds: string[], response: GetEmbeddingsResponse): Promise<void> {
    const { version, dimension: d } = lease.record;
    const rows = new Float32Array(itemIds.length * d);
    const found = await readRowsUnder(this.o.store, towerPrefix(version), itemIds, d, rows);
    const missing = itemIds.map((_, i) => i).filter((i) => !found[i]);
    if (missing.length > 0) {
      const computed = await this.computeTower(lease.record, missing.map((i) => itemIds[i] as string));
      missing.forEach((row, j) => {
        const vector = computed[j];
        if (!vector) return;
        rows.set(vector, row * d);
        found[row] = true;
        response.computedItemIds.push(itemIds[row] as string);
      });
      this.o.metrics?.countComputed(response.computedItemIds.length);
    }
    this.fillItems(response, itemIds, found, compactRows(rows, found, d), d);
    this.o.metrics?.countUnknown('tower', response.unknownItemIds.length);
  }

  /** Tower vectors for catalog items missing from the snapshot (undefined where none can be computed). */
  private async computeTower(record: SnapshotRecord, ids: string[]): Promise<Array<Float32Array | undefined>> {
    const out = new Array<Float32Array | undefined>(ids.length).fill(undefined);
    const tower = await this.o.itemTower(record.producerModelVersion);
    if (!tower) return out;
    const cd = this.o.contentDimension;
    const content = new Float32Array(ids.length * cd);
    const found = await readRowsUnder(this.o.store, CONTENT_PREFIX, ids, cd, content);
    const rows = found.map((f, i) => (f ? i : -1)).filter((i) => i >= 0);
    if (rows.length === 0) return out;
    try {
      const vectors = await tower(rows.map((i) => content.slice(i * cd, (i + 1) * cd)));
      if (vectors.length !== rows.length) throw new Error(`item tower returned ${vectors.length} vectors for ${rows.length} items`);
      vectors.forEach((v, j) => {
        if (v.length !== record.dimension) throw new Error(`item tower returned ${v.length}-d vectors; snapshot ${record.version} is ${record.dimension}-d`);
        if (!v.every(Number.isFinite)) throw new Error('item tower returned a non-finite value');
        out[rows[j] as number] = v;
      });
    } catch (err) {
      // The fallback must not fail the lookup: the items are reported unknown instead.
      this.o.logger?.warn({ err, modelVersion: record.producerModelVersion }, 'on-the-fly item-tower vectors failed');
      out.fill(undefined);
    }
    return out;
  }

  private fillItems(response: GetEmbeddingsResponse, itemIds: string[], found: boolean[], rows: Float32Array, d: number): void {
    itemIds.forEach((id, i) => (found[i] ? response.itemIds : response.unknownItemIds).push(id));
    response.itemVectors = Tensor.fromPartial({
      dtype: DataType.DATA_TYPE_FLOAT32,
      shape: [response.itemIds.length, d],
      raw: Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength),
    });
  }
}
