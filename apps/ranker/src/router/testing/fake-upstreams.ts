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
  type GetEmbeddingsRequest,
  type GetRealtimeSequenceRequest,
  type RetrieveRequest,
} from '@pinrank/proto';
import { defineService, PinrankError, startServer, type RunningServer } from '@pinrank/service-kit';
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
}

const silent = pino({ level: 'silent' });

/** Starts a real gRPC FeatureServer over in-memory sequences; records every request. */
export async function startFakeFeatureServer(data: FakeFeatureServerData): Promise<{ server: RunningServer; requests: GetRealtimeSequenceRequest[]; address: string }> {
  const requests: GetRealtimeSequenceRequest[] = [];
  const reg = defineService(FeatureServerService, {
    getRealtimeSequence: async (req: GetRealtimeSequenceRequest) => {
      requests.push(req);
      if (data.delayMs) await new Promise((r) => setTimeout(r, data.delayMs).unref());
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
    },
  });
  const server = await startServer({ name: 'fake-feature-server', address: '127.0.0.1:0', services: [reg], signals: [], logger: silent });
  return { server, requests, address: `127.0.0.1:${server.port}` };
}

/** Options of the fake embedding-store. */
export interface FakeStoreData {
  items: string[];
  users: string[];
  snapshotVersion: string;
  producerModelVersion: string;
  /** Index used as the vector seed of an item or user. */
  index: (id: string) => number;
}

/** Starts a real gRPC EmbeddingStore over deterministic vectors; records every request. */
export async function startFakeEmbeddingStore(
  data: FakeStoreData,
): Promise<{ server: RunningServer; embeddingRequests: GetEmbeddingsRequest[]; retrieveRequests: RetrieveRequest[]; address: string; data: FakeStoreData }> {
  const embeddingRequests: GetEmbeddingsRequest[] = [];
  const retrieveRequests: RetrieveRequest[] = [];
  const known = new Set(data.items);
  const users = new Set(data.users);
  const reg = defineService(EmbeddingStoreService, {
    getEmbeddings: async (req: GetEmbeddingsRequest) => {
      embeddingRequests.push(req);
      if (req.snapshotVersion && req.snapshotVersion !== data.snapshotVersion) throw new PinrankError('NOT_FOUND', `snapshot ${req.snapshotVersion} is not retained`);
      const dim = req.kind === VectorKind.VECTOR_KIND_CONTENT ? 32 : 64;
      const found = req.itemIds.filter((id) => known.has(id));
      const raw = new Float32Array(found.length * dim);
      found.forEach((id, i) => raw.set(testVector(data.index(id) + (dim === 64 ? 1000 : 0), dim), i * dim));
      const userFound = req.userId !== '' && users.has(req.userId);
      return GetEmbeddingsResponse.fromPartial({
        snapshotVersion: data.snapshotVersion,
        producerModelVersion: data.producerModelVersion,
        userFound,
        userVector: userFound ? Array.from(testVector(data.index(req.userId) + 5000, 64)) : [],
        itemIds: found,
        // Raw little-endian form, as a fast store sends it.
        itemVectors: Tensor.fromPartial({ dtype: DataType.DATA_TYPE_FLOAT32, shape: [found.length, dim], raw: Buffer.from(raw.buffer) }),
        unknownItemIds: req.itemIds.filter((id) => !known.has(id)),
      });
    },
    listSnapshots: async () =>
      ListSnapshotsResponse.fromPartial({
        activeVersion: data.snapshotVersion,
        snapshots: [{ version: data.snapshotVersion, state: SnapshotState.SNAPSHOT_STATE_ACTIVE, producerModelVersion: data.producerModelVersion }],
      }),
    retrieve: async (req: RetrieveRequest) => {
      retrieveRequests.push(req);
      const q = req.query;
      if (q?.$case !== 'userId') throw new PinrankError('INVALID_ARGUMENT', 'user queries only');
      if (!users.has(q.value)) throw new PinrankError('NOT_FOUND', `user ${q.value} has no vector in snapshot ${data.snapshotVersion}`);
      const u = testVector(data.index(q.value) + 5000, 64);
      const excluded = new Set(req.excludeItemIds);
      const scored = data.items
        .filter((id) => !excluded.has(id))
        .map((id) => ({ itemId: id, score: dot(u, testVector(data.index(id) + 1000, 64)) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, req.k);
      return RetrieveResponse.fromPartial({ snapshotVersion: data.snapshotVersion, items: scored });
    },
  });
  const server = await startServer({ name: 'fake-embedding-store', address: '127.0.0.1:0', services: [reg], signals: [], logger: silent });
  return { server, embeddingRequests, retrieveRequests, address: `127.0.0.1:${server.port}`, data };
}

/** Dot product. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}
