import { credentials, type ServiceError } from '@grpc/grpc-js';
import {
  DataType,
  EmbeddingStoreClient,
  GetEmbeddingsRequest,
  ListSnapshotsRequest,
  RetrieveRequest,
  SnapshotState,
  VectorKind,
  type GetEmbeddingsResponse,
  type ListSnapshotsResponse,
  type RetrieveResponse,
  type Tensor,
} from '@pinrank/proto';

// The behaviour of pinrank.v1.EmbeddingStore that its clients rely on (the
// contract written in proto/pinrank/v1/embedding_store.proto), as jest tests.
// The embedding-store runs it against its real service; the ranker runs it
// against the fake store its tests use, so a router test passing against the
// fake means something for the real store.

/** One item of the fixture: its catalog content vector and its tower vector in the snapshot. */
export interface ContractItem {
  id: string;
  content: Float32Array;
  tower: Float32Array;
}

/** The data a store must hold when the suite runs: a catalog and one active snapshot. */
export interface EmbeddingStoreFixture {
  /** Catalog items (content vectors), all of them also in the snapshot (tower vectors). */
  items: ContractItem[];
  /** Users with a PinnerFormer vector in the snapshot. */
  users: Array<{ id: string; vector: Float32Array }>;
  /** The active snapshot version. */
  snapshotVersion: string;
  /** The PinnerFormer version that produced it. */
  producerModelVersion: string;
}

/** A running store under test. */
export interface StoreUnderTest {
  /** host:port of its gRPC server (plaintext). */
  address: string;
  close(): Promise<void>;
}

/** A deterministic pseudo-random unit vector (test data; the same for the same seed everywhere). */
export function unitVector(seed: number, dimension: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const v = new Float32Array(dimension);
  let norm = 0;
  for (let i = 0; i < dimension; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    v[i] = s / 2 ** 32 - 0.5;
    norm += (v[i] as number) ** 2;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dimension; i++) v[i] = (v[i] as number) / norm;
  return v;
}

/** The suite's fixture: 12 items (32-d content, 64-d tower unit vectors), 2 users, snapshot "contract-v1" of PinnerFormer "pf-contract". */
export function embeddingStoreContractFixture(): EmbeddingStoreFixture {
  return {
    items: Array.from({ length: 12 }, (_, i) => ({ id: `c${i}`, content: unitVector(100 + i, 32), tower: unitVector(200 + i, 64) })),
    users: [
      { id: 'cu0', vector: unitVector(300, 64) },
      { id: 'cu1', vector: unitVector(301, 64) },
    ],
    snapshotVersion: 'contract-v1',
    producerModelVersion: 'pf-contract',
  };
}

type Unary<Req, Res> = (req: Req, callback: (err: ServiceError | null, res: Res) => void) => unknown;

function call<Req, Res>(method: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method(req, (err, res) => (err ? reject(err) : resolve(res))));
}

/** The values of a FLOAT32 Tensor, raw or typed. */
function floats(t: Tensor | undefined): { shape: number[]; values: number[] } {
  if (!t || t.dtype !== DataType.DATA_TYPE_FLOAT32) throw new Error(`expected a FLOAT32 tensor, got ${t ? t.dtype : 'none'}`);
  const raw = t.raw.length > 0 ? Array.from(new Float32Array(Uint8Array.from(t.raw).buffer)) : t.floatValues;
  return { shape: [...t.shape], values: raw };
}

const rows = (vectors: readonly Float32Array[]): number[] => vectors.flatMap((v) => Array.from(v));

/**
 * Registers the EmbeddingStore contract tests. `start` must return a store
 * holding `fixture` (catalog and one ACTIVE snapshot) and stop it in `close`.
 */
export function describeEmbeddingStoreContract(name: string, start: (fixture: EmbeddingStoreFixture) => Promise<StoreUnderTest>): void {
  describe(`${name} (EmbeddingStore contract)`, () => {
    const fx = embeddingStoreContractFixture();
    const item = (id: string): ContractItem => fx.items.find((i) => i.id === id) as ContractItem;
    let store: StoreUnderTest;
    let client: EmbeddingStoreClient;
    const getEmbeddings = (req: Partial<GetEmbeddingsRequest>): Promise<GetEmbeddingsResponse> =>
      call(client.getEmbeddings.bind(client), GetEmbeddingsRequest.fromPartial(req));
    const retrieve = (req: Partial<RetrieveRequest>): Promise<RetrieveResponse> => call(client.retrieve.bind(client), RetrieveRequest.fromPartial(req));

    beforeAll(async () => {
      store = await start(fx);
      client = new EmbeddingStoreClient(store.address, credentials.createInsecure());
    });
    afterAll(async () => {
      client?.close();
      await store?.close();
    });

    it('answers a CONTENT lookup without a user or a pin from no snapshot: snapshot_version and producer are empty', async () => {
      const res = await getEmbeddings({ itemIds: ['c3', 'c0'], kind: VectorKind.VECTOR_KIND_CONTENT });
      expect(res.snapshotVersion).toBe('');
      expect(res.producerModelVersion).toBe('');
      expect(res.userFound).toBe(false);
    });

    it('returns item vectors in request order and lists unknown ids, never zero-filled', async () => {
      const res = await getEmbeddings({ itemIds: ['c5', 'nope', 'c1'], kind: VectorKind.VECTOR_KIND_CONTENT });
      expect(res.itemIds).toEqual(['c5', 'c1']);
      expect(res.unknownItemIds).toEqual(['nope']);
      const t = floats(res.itemVectors);
      expect(t.shape).toEqual([2, 32]);
      expect(t.values).toEqual(rows([item('c5').content, item('c1').content]));
    });

    it('answers a TOWER lookup with a user from the active snapshot and names its version and producer', async () => {
      const res = await getEmbeddings({ userId: 'cu1', itemIds: ['c2', 'c7'], kind: VectorKind.VECTOR_KIND_TOWER });
      expect(res.snapshotVersion).toBe(fx.snapshotVersion);
      expect(res.producerModelVersion).toBe(fx.producerModelVersion);
      expect(res.userFound).toBe(true);
      expect(res.userVector).toEqual(Array.from(fx.users[1]?.vector ?? []));
      const t = floats(res.itemVectors);
      expect(t.shape).toEqual([2, 64]);
      expect(t.values).toEqual(rows([item('c2').tower, item('c7').tower]));
    });

    it('reports a user without a vector as not found, with an empty vector', async () => {
      const res = await getEmbeddings({ userId: 'cu-none', itemIds: ['c2'], kind: VectorKind.VECTOR_KIND_TOWER });
      expect(res.snapshotVersion).toBe(fx.snapshotVersion);
      expect(res.userFound).toBe(false);
      expect(res.userVector).toEqual([]);
      expect(res.itemIds).toEqual(['c2']);
    });

    it('answers a pinned lookup from the pinned version, a CONTENT lookup included', async () => {
      const content = await getEmbeddings({ itemIds: ['c4'], kind: VectorKind.VECTOR_KIND_CONTENT, snapshotVersion: fx.snapshotVersion });
      expect(content.snapshotVersion).toBe(fx.snapshotVersion);
      expect(floats(content.itemVectors).values).toEqual(Array.from(item('c4').content));
      const tower = await getEmbeddings({ userId: 'cu0', itemIds: ['c4'], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: fx.snapshotVersion });
      expect(tower.snapshotVersion).toBe(fx.snapshotVersion);
    });

    it('refuses a pinned version it does not hold with NOT_FOUND', async () => {
      await expect(getEmbeddings({ userId: 'cu0', itemIds: ['c4'], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: 'no-such-version' })).rejects.toMatchObject({
        code: 5,
      });
    });

    it('retrieves the nearest items by tower vector to a user vector, best first, without excluded ids, in the version it names', async () => {
      const user = fx.users[0]?.vector ?? new Float32Array(64);
      const cosine = (v: Float32Array): number => v.reduce((a, x, j) => a + x * (user[j] ?? 0), 0);
      const want = fx.items
        .filter((i) => i.id !== 'c0')
        .map((i) => ({ id: i.id, score: cosine(i.tower) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 3);
      const res = await retrieve({ query: { $case: 'userId', value: 'cu0' }, k: 3, excludeItemIds: ['c0'] });
      expect(res.snapshotVersion).toBe(fx.snapshotVersion);
      expect(res.items.map((i) => i.itemId)).toEqual(want.map((w) => w.id));
      res.items.forEach((it, k) => expect(it.score).toBeCloseTo(want[k]?.score ?? NaN, 4));
    });

    it('answers Retrieve for a user without a vector with NOT_FOUND', async () => {
      await expect(retrieve({ query: { $case: 'userId', value: 'cu-none' }, k: 3 })).rejects.toMatchObject({ code: 5 });
    });

    it('lists the active snapshot with its producer', async () => {
      const res: ListSnapshotsResponse = await call(client.listSnapshots.bind(client), ListSnapshotsRequest.fromPartial({}));
      expect(res.activeVersion).toBe(fx.snapshotVersion);
      expect(res.snapshots.find((s) => s.version === fx.snapshotVersion)).toMatchObject({
        state: SnapshotState.SNAPSHOT_STATE_ACTIVE,
        producerModelVersion: fx.producerModelVersion,
      });
    });
  });
}
