import {
  type ActionType,
  DataType,
  EmbeddingStoreService,
  FeatureServerService,
  GetEmbeddingsResponse,
  ListSnapshotsResponse,
  RealtimeSequence,
  RetrieveResponse,
  SnapshotState,
  StoredAction,
  Tensor,
  UserAction,
  VectorKind,
  type EmbeddingsLookupResult,
  type GetEmbeddingsRequest,
  type GetRealtimeSequenceRequest,
  type RetrieveRequest,
  type SequenceLookupResult,
} from '@pinrank/proto';
import { encodeTensorMessage } from '@pinrank/inference';
import { defineService, lookupStream, PinrankError, startServer, type RunningServer } from '@pinrank/service-kit';
import { pino } from 'pino';

/** Deterministic test vectors: value j of item/user `seed`. */
export function testVector(seed: number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (let j = 0; j < dim; j++) v[j] = Math.fround(Math.sin(seed * 1.7 + j * 0.37) * 0.5);
  return v;
}

/** The catalog of the fake store: `i0..i{n-1}`, each with a content (32-d) and a tower (64-d) vector. */
export function itemIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `i${i}`);
}

/** A user action of the fake feature-server's data. */
export interface FakeAction {
  itemId: string;
  type: ActionType;
  ageS: number;
}

/** Options of the fake feature-server. */
export interface FakeFeatureServerData {
  sequences: Record<string, FakeAction[]>;
  itemIndex: (itemId: string) => number;
  /** Delay before answering (to test timeouts). */
  delayMs?: number;
  /** Serve StreamRealtimeSequences too (default true); false answers it UNIMPLEMENTED, as an older feature-server would. */
  lookupStreams?: boolean;
}

/** How many lookups a fake answered on its lookup stream. */
export interface StreamedCount {
  streamed: number;
}

const silent = pino({ level: 'silent' });

/** The fake feature-server's answer: the user's actions as a [1,S] sequence of 32-d content vectors (typed contents). */
export function fakeSequence(data: FakeFeatureServerData, req: GetRealtimeSequenceRequest): RealtimeSequence {
  const S = req.maxLen || 100;
  const actions = (data.sequences[req.userId] ?? []).slice(0, S);
  const types = new Array<number>(S).fill(0);
  const vectors = new Array<number>(S * 32).fill(0);
  const ages = new Array<number>(S).fill(-1);
  actions.forEach((a, r) => {
    types[r] = a.type;
    ages[r] = a.ageS;
    testVector(data.itemIndex(a.itemId), 32).forEach((x, j) => (vectors[r * 32 + j] = x));
  });
  return RealtimeSequence.fromPartial({
    userId: req.userId,
    length: actions.length,
    asOfMs: req.asOfMs,
    actionTypes: Tensor.fromPartial({ dtype: DataType.DATA_TYPE_INT64, shape: [1, S], int64Values: types }),
    itemVectors: Tensor.fromPartial({ dtype: DataType.DATA_TYPE_FLOAT32, shape: [1, S, 32], floatValues: vectors }),
    agesS: Tensor.fromPartial({ dtype: DataType.DATA_TYPE_FLOAT32, shape: [1, S], floatValues: ages }),
    records: req.includeRecords
      ? actions.map((a) => StoredAction.fromPartial({ action: UserAction.fromPartial({ userId: req.userId, itemId: a.itemId, actionType: a.type }), itemKnown: true }))
      : [],
  });
}

/** Starts a real gRPC FeatureServer over in-memory sequences; records every request. */
export async function startFakeFeatureServer(
  data: FakeFeatureServerData,
): Promise<{ server: RunningServer; requests: GetRealtimeSequenceRequest[]; address: string; lookups: StreamedCount }> {
  const requests: GetRealtimeSequenceRequest[] = [];
  const lookups: StreamedCount = { streamed: 0 };
  const answer = async (req: GetRealtimeSequenceRequest): Promise<RealtimeSequence> => {
    requests.push(req);
    if (data.delayMs) await new Promise((r) => setTimeout(r, data.delayMs).unref());
    return fakeSequence(data, req);
  };
  const reg = defineService(FeatureServerService, {
    getRealtimeSequence: answer,
    ...(data.lookupStreams ?? true
      ? {
          streamRealtimeSequences: lookupStream({
            unary: FeatureServerService.getRealtimeSequence,
            handle: (req: GetRealtimeSequenceRequest) => (lookups.streamed++, answer(req)),
            result: (requestId, status, sequence): SequenceLookupResult => ({ requestId, status, sequence }),
          }),
        }
      : {}),
  });
  const server = await startServer({ name: 'fake-feature-server', address: '127.0.0.1:0', services: [reg], signals: [], logger: silent });
  return { server, requests, address: `127.0.0.1:${server.port}`, lookups };
}

/** The data of the fake embedding-store: a catalog (content vectors) and one snapshot; tests may change it between calls. */
export interface FakeStoreData {
  /** Catalog content vectors (32-d) by item id. */
  content: Map<string, Float32Array>;
  /** The snapshot's item-tower vectors (64-d) by item id. */
  tower: Map<string, Float32Array>;
  /** The snapshot's user vectors (64-d) by user id. */
  users: Map<string, Float32Array>;
  /** The snapshot version held (and active). */
  snapshotVersion: string;
  /** The PinnerFormer version that produced it. */
  producerModelVersion: string;
  /** Runs before a GetEmbeddings answer (tests hold an answer to observe what runs meanwhile); default none. */
  beforeAnswer?: (req: GetEmbeddingsRequest) => Promise<void>;
}

/**
 * The router tests' catalog and snapshot: for each item, content vector
 * testVector(index, 32) and tower vector testVector(index + 1000, 64); for each
 * user, testVector(index + 5000, 64).
 */
export function fakeStoreData(o: { items: string[]; users: string[]; snapshotVersion: string; producerModelVersion: string; index: (id: string) => number }): FakeStoreData {
  return {
    content: new Map(o.items.map((id) => [id, testVector(o.index(id), 32)])),
    tower: new Map(o.items.map((id) => [id, testVector(o.index(id) + 1000, 64)])),
    users: new Map(o.users.map((id) => [id, testVector(o.index(id) + 5000, 64)])),
    snapshotVersion: o.snapshotVersion,
    producerModelVersion: o.producerModelVersion,
  };
}

/** Cosine similarity. */
function cosine(a: Float32Array, b: Float32Array): number {
  const norm = Math.sqrt(dot(a, a) * dot(b, b));
  return norm > 0 ? dot(a, b) / norm : 0;
}

function checkVersion(data: FakeStoreData, pinned: string): void {
  if (pinned && pinned !== data.snapshotVersion) throw new PinrankError('NOT_FOUND', `snapshot ${pinned} is not retained`);
}

/**
 * The fake store's GetEmbeddings, following the EmbeddingStore contract
 * (proto/pinrank/v1/embedding_store.proto): a CONTENT lookup without a user or
 * a pin reads no snapshot and names none. Thrown by: what the real store refuses (INVALID_ARGUMENT, NOT_FOUND).
 */
export async function fakeGetEmbeddings(data: FakeStoreData, req: GetEmbeddingsRequest): Promise<GetEmbeddingsResponse> {
  if (!req.userId && req.itemIds.length === 0) throw new PinrankError('INVALID_ARGUMENT', 'empty request: give a user_id, item_ids, or both');
  if (req.itemIds.length > 0 && req.kind !== VectorKind.VECTOR_KIND_CONTENT && req.kind !== VectorKind.VECTOR_KIND_TOWER) {
    throw new PinrankError('INVALID_ARGUMENT', 'kind: set VECTOR_KIND_CONTENT or VECTOR_KIND_TOWER for item vectors');
  }
  if (new Set(req.itemIds).size !== req.itemIds.length) throw new PinrankError('INVALID_ARGUMENT', 'item_ids: an id appears twice');
  const readsSnapshot = req.userId !== '' || req.kind === VectorKind.VECTOR_KIND_TOWER || req.snapshotVersion !== '';
  if (readsSnapshot) checkVersion(data, req.snapshotVersion);
  await data.beforeAnswer?.(req);
  const vectors = req.kind === VectorKind.VECTOR_KIND_CONTENT ? data.content : data.tower;
  const dim = req.kind === VectorKind.VECTOR_KIND_CONTENT ? 32 : 64;
  const found = req.itemIds.filter((id) => vectors.has(id));
  const raw = new Float32Array(found.length * dim);
  found.forEach((id, i) => raw.set(vectors.get(id) as Float32Array, i * dim));
  const user = readsSnapshot && req.userId ? data.users.get(req.userId) : undefined;
  return GetEmbeddingsResponse.fromPartial({
    snapshotVersion: readsSnapshot ? data.snapshotVersion : '',
    producerModelVersion: readsSnapshot ? data.producerModelVersion : '',
    userFound: user !== undefined,
    userVector: user ? Array.from(user) : [],
    itemIds: found,
    itemVectors: encodeTensorMessage({ dtype: 'float32', dims: [found.length, dim], data: raw }),
    unknownItemIds: req.itemIds.filter((id) => !vectors.has(id)),
  });
}

/** The fake store's Retrieve: exact cosine search over the snapshot's tower vectors. Thrown by: an unknown user or version — NOT_FOUND. */
export function fakeRetrieve(data: FakeStoreData, req: RetrieveRequest): RetrieveResponse {
  checkVersion(data, req.snapshotVersion);
  const q = req.query;
  if (q?.$case !== 'userId') throw new PinrankError('INVALID_ARGUMENT', 'user queries only');
  const u = data.users.get(q.value);
  if (!u) throw new PinrankError('NOT_FOUND', `user ${q.value} has no vector in snapshot ${data.snapshotVersion}`);
  const excluded = new Set(req.excludeItemIds);
  const scored = [...data.tower.entries()]
    .filter(([id]) => !excluded.has(id))
    .map(([id, v]) => ({ itemId: id, score: cosine(u, v) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, req.k);
  return RetrieveResponse.fromPartial({ snapshotVersion: data.snapshotVersion, items: scored });
}

/**
 * Starts a real gRPC EmbeddingStore over `data` ({@link fakeGetEmbeddings},
 * {@link fakeRetrieve}); records every request. It passes the same contract
 * suite as the real store (fake-embedding-store.integration.spec.ts).
 */
export async function startFakeEmbeddingStore(
  data: FakeStoreData,
  o: { /** Serve StreamEmbeddings too (default true); false answers it UNIMPLEMENTED. */ lookupStreams?: boolean } = {},
): Promise<{ server: RunningServer; embeddingRequests: GetEmbeddingsRequest[]; retrieveRequests: RetrieveRequest[]; address: string; data: FakeStoreData; lookups: StreamedCount }> {
  const embeddingRequests: GetEmbeddingsRequest[] = [];
  const retrieveRequests: RetrieveRequest[] = [];
  const lookups: StreamedCount = { streamed: 0 };
  const answer = async (req: GetEmbeddingsRequest): Promise<GetEmbeddingsResponse> => {
    embeddingRequests.push(req);
    return fakeGetEmbeddings(data, req);
  };
  const reg = defineService(EmbeddingStoreService, {
    getEmbeddings: answer,
    ...(o.lookupStreams ?? true
      ? {
          streamEmbeddings: lookupStream({
            unary: EmbeddingStoreService.getEmbeddings,
            handle: (req: GetEmbeddingsRequest) => (lookups.streamed++, answer(req)),
            result: (requestId, status, response): EmbeddingsLookupResult => ({ requestId, status, response }),
          }),
        }
      : {}),
    listSnapshots: async () =>
      ListSnapshotsResponse.fromPartial({
        activeVersion: data.snapshotVersion,
        snapshots: [{ version: data.snapshotVersion, state: SnapshotState.SNAPSHOT_STATE_ACTIVE, producerModelVersion: data.producerModelVersion }],
      }),
    retrieve: async (req: RetrieveRequest) => {
      retrieveRequests.push(req);
      return fakeRetrieve(data, req);
    },
  });
  const server = await startServer({ name: 'fake-embedding-store', address: '127.0.0.1:0', services: [reg], signals: [], logger: silent });
  return { server, embeddingRequests, retrieveRequests, address: `127.0.0.1:${server.port}`, data, lookups };
}

/** Dot product. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}
