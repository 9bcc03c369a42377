import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { SnapshotState, VectorKind, VectorQuery } from '@pinrank/proto';
import { startServer, type RunningServer } from '@pinrank/service-kit';
import { RpcMetrics } from '@pinrank/telemetry';
import pino from 'pino';
import { createEmbeddingStore, type EmbeddingStore } from './app';
import { EmbeddingStoreRpc, tensorRows } from './client';
import { type ItemTowerFn } from './item-tower';
import { TEST_BACKENDS } from './testing/backends';
import { markedVectors, unitVector, writeCatalog, writeSnapshot } from './testing/fixtures';

const D = 64;
const TOKEN = 'test-admin-token';
// A real, tiny item tower: the content vector repeated twice (32 → 64), marked with 7 in value 0.
const tower: ItemTowerFn = async (content) =>
  content.map((c) => {
    const v = new Float32Array(D);
    v.set(c, 0);
    v.set(c, 32);
    v[0] = 7;
    return v;
  });

describe.each(TEST_BACKENDS)('EmbeddingStore gRPC service on $name', ({ make }) => {
  let dir: string;
  let app: EmbeddingStore;
  let server: RunningServer;
  let client: EmbeddingStoreRpc;
  let metrics: RpcMetrics;
  let cleanup: () => Promise<void>;

  async function loadVersion(version: string, marker: number, producerModelVersion = 'pf-1'): Promise<void> {
    const files = await writeSnapshot(dir, {
      version,
      users: markedVectors('u', 200, D, marker),
      items: markedVectors('i', 300, D, marker, 5000),
      producerModelVersion,
    });
    const res = await client.loadSnapshot({ userFile: files.userFile, itemFile: files.itemFile, activate: false });
    expect(res).toEqual({ version, state: SnapshotState.SNAPSHOT_STATE_LOADING });
    expect((await app.snapshots.whenLoaded(version))?.status).toBe('ready');
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'es-svc-'));
    const t = await make(200);
    metrics = new RpcMetrics({ processMetrics: false });
    app = await createEmbeddingStore({
      store: t.store,
      itemTower: async (version) => (version === 'pf-1' ? tower : undefined),
      // One build thread: a graph built in parallel differs from run to run and can rarely miss a self-search (the test below expects i42 first).
      snapshots: { retain: 3, batchSize: 100, ann: { threads: 1 } },
      registry: metrics.registry,
    });
    server = await startServer({
      name: 'embedding-store-test',
      address: '127.0.0.1:0',
      services: [app.registration],
      admin: { tokens: [TOKEN] },
      signals: [],
      logger: pino({ level: 'silent' }),
      metrics,
    });
    client = new EmbeddingStoreRpc(`127.0.0.1:${server.port}`, TOKEN);
    cleanup = async () => {
      client.close();
      await server.shutdown();
      await app.snapshots.close();
      await t.cleanup();
      await rm(dir, { recursive: true, force: true });
    };
    // Catalog: items i0..i299 plus i300..i309 that no snapshot has yet.
    const catalog = await writeCatalog(dir, 'c1', Array.from({ length: 310 }, (_, i) => [`i${i}`, unitVector(9000 + i, 32)]));
    expect(await client.loadCatalog({ path: catalog })).toEqual({ itemsAdded: 310, itemsReplaced: 0 });
    await loadVersion('v1', 1);
    await loadVersion('v2', 2);
    await client.activateSnapshot({ version: 'v1' });
  });
  afterAll(async () => cleanup());

  it('returns a user and tower vectors from one stated version, listing unknown ids', async () => {
    const res = await client.getEmbeddings({ userId: 'u5', itemIds: ['i3', 'nope', 'i250'], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: '' });
    expect(res.snapshotVersion).toBe('v1');
    expect(res.producerModelVersion).toBe('pf-1');
    expect(res.userFound).toBe(true);
    expect(res.userVector[0]).toBe(1);
    expect(res.itemIds).toEqual(['i3', 'i250']);
    expect(res.unknownItemIds).toEqual(['nope']);
    expect(res.itemVectors?.shape).toEqual([2, D]);
    const rows = tensorRows(res.itemVectors);
    expect(Array.from(rows[1]!)).toEqual(Array.from(markedVectors('i', 300, D, 1, 5000)[250]![1]));
  });

  it('serves content vectors from the catalog and pins a version on request', async () => {
    const content = await client.getEmbeddings({ userId: '', itemIds: ['i7', 'x'], kind: VectorKind.VECTOR_KIND_CONTENT, snapshotVersion: '' });
    expect(content.itemIds).toEqual(['i7']);
    expect(content.unknownItemIds).toEqual(['x']);
    expect(Array.from(tensorRows(content.itemVectors)[0]!)).toEqual(Array.from(unitVector(9007, 32)));
    const pinned = await client.getEmbeddings({ userId: 'u1', itemIds: ['i1'], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: 'v2' });
    expect(pinned.snapshotVersion).toBe('v2');
    expect(pinned.userVector[0]).toBe(2);
    expect(tensorRows(pinned.itemVectors)[0]![0]).toBe(2);
  });

  it('computes tower vectors for catalog items missing from the snapshot and flags them', async () => {
    const res = await client.getEmbeddings({ userId: '', itemIds: ['i1', 'i305', 'ghost'], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: '' });
    expect(res.itemIds).toEqual(['i1', 'i305']);
    expect(res.computedItemIds).toEqual(['i305']);
    expect(res.unknownItemIds).toEqual(['ghost']);
    const rows = tensorRows(res.itemVectors);
    expect(rows[0]![0]).toBe(1);
    expect(rows[1]![0]).toBe(7);
    expect(rows[1]![40]).toBeCloseTo(unitVector(9305, 32)[8]!, 6);
  });

  it('never mixes versions while the active snapshot switches under concurrent reads', async () => {
    const itemIds = Array.from({ length: 60 }, (_, i) => `i${i * 5}`);
    const seen = new Map<string, number>();
    let switching = true;
    const switcher = (async () => {
      for (let i = 0; i < 12; i++) {
        await client.activateSnapshot({ version: i % 2 === 0 ? 'v2' : 'v1' });
        await new Promise((r) => setTimeout(r, 5));
      }
      switching = false;
    })();
    const reader = async (): Promise<void> => {
      while (switching) {
        const res = await client.getEmbeddings({ userId: 'u9', itemIds, kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: '' });
        const marker = res.snapshotVersion === 'v1' ? 1 : 2;
        seen.set(res.snapshotVersion, (seen.get(res.snapshotVersion) ?? 0) + 1);
        expect(res.userVector[0]).toBe(marker);
        expect(res.itemIds).toHaveLength(60);
        for (const row of tensorRows(res.itemVectors)) expect(row[0]).toBe(marker);
      }
    };
    await Promise.all([switcher, reader(), reader(), reader(), reader()]);
    expect(seen.get('v1')).toBeGreaterThan(0);
    expect(seen.get('v2')).toBeGreaterThan(0);
    await client.activateSnapshot({ version: 'v1' });
  });

  it('refuses a corrupt snapshot and keeps serving the active one', async () => {
    const files = await writeSnapshot(dir, { version: 'bad', users: markedVectors('u', 200, D, 3), items: markedVectors('i', 300, D, 3) });
    const bytes = await readFile(files.userFile);
    bytes.writeFloatLE(Number.NaN, bytes.length - 200);
    await writeFile(files.userFile, bytes);
    await client.loadSnapshot({ userFile: files.userFile, itemFile: files.itemFile, activate: true });
    await app.snapshots.whenLoaded('bad');
    const list = await client.listSnapshots();
    const bad = list.snapshots.find((s) => s.version === 'bad');
    expect(bad?.state).toBe(SnapshotState.SNAPSHOT_STATE_FAILED);
    expect(bad?.error).toMatch(/NaN|checksum/);
    expect(list.activeVersion).toBe('v1');
    expect(list.snapshots.find((s) => s.version === 'v1')?.state).toBe(SnapshotState.SNAPSHOT_STATE_ACTIVE);
    const res = await client.getEmbeddings({ userId: 'u1', itemIds: [], kind: VectorKind.VECTOR_KIND_UNSPECIFIED, snapshotVersion: '' });
    expect(res.snapshotVersion).toBe('v1');
  });

  it('retrieves nearest tower vectors by user or vector, honouring exclusions', async () => {
    const query = markedVectors('i', 300, D, 1, 5000)[42]![1];
    const byVector = await client.retrieve({ query: { $case: 'vector', value: VectorQuery.fromPartial({ values: Array.from(query) }) }, k: 10, excludeItemIds: [], snapshotVersion: '' });
    expect(byVector.snapshotVersion).toBe('v1');
    expect(byVector.items[0]?.itemId).toBe('i42');
    expect(byVector.items[0]?.score).toBeCloseTo(1, 4);
    const excluded = await client.retrieve({ query: { $case: 'vector', value: VectorQuery.fromPartial({ values: Array.from(query) }) }, k: 10, excludeItemIds: ['i42'], snapshotVersion: '' });
    expect(excluded.items).toHaveLength(10);
    expect(excluded.items.map((i) => i.itemId)).not.toContain('i42');
    const byUser = await client.retrieve({ query: { $case: 'userId', value: 'u3' }, k: 5, excludeItemIds: [], snapshotVersion: 'v2' });
    expect(byUser.snapshotVersion).toBe('v2');
    expect(byUser.items).toHaveLength(5);
  });

  it('answers bad input with INVALID_ARGUMENT / NOT_FOUND and keeps serving', async () => {
    const cases: Array<[Promise<unknown>, status, RegExp]> = [
      [client.getEmbeddings({ userId: '', itemIds: [], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: '' }), status.INVALID_ARGUMENT, /empty request/],
      [client.getEmbeddings({ userId: '', itemIds: Array.from({ length: 10_001 }, (_, i) => `i${i}`), kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: '' }), status.INVALID_ARGUMENT, /at most 10000/],
      [client.getEmbeddings({ userId: '', itemIds: ['i1', 'i1'], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: '' }), status.INVALID_ARGUMENT, /appears twice/],
      [client.getEmbeddings({ userId: '', itemIds: ['i1'], kind: VectorKind.VECTOR_KIND_UNSPECIFIED, snapshotVersion: '' }), status.INVALID_ARGUMENT, /kind/],
      [client.getEmbeddings({ userId: 'u1', itemIds: [], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: 'v9' }), status.NOT_FOUND, /v9 is not retained/],
      [client.retrieve({ query: { $case: 'userId', value: 'nobody' }, k: 5, excludeItemIds: [], snapshotVersion: '' }), status.NOT_FOUND, /"nobody" has no vector/],
      [client.retrieve({ query: { $case: 'vector', value: { values: [1, 2, 3] } }, k: 5, excludeItemIds: [], snapshotVersion: '' }), status.INVALID_ARGUMENT, /dimension 64/],
      [client.retrieve({ query: { $case: 'vector', value: { values: Array.from({ length: D }, (_, i) => (i === 3 ? NaN : 0.1)) } }, k: 5, excludeItemIds: [], snapshotVersion: '' }), status.INVALID_ARGUMENT, /value 3 is NaN/],
      [client.retrieve({ query: { $case: 'userId', value: 'u1' }, k: 0, excludeItemIds: [], snapshotVersion: '' }), status.INVALID_ARGUMENT, /k: 0/],
      [client.activateSnapshot({ version: 'nope' }), status.NOT_FOUND, /not retained/],
      [client.loadSnapshot({ userFile: join(dir, 'missing'), itemFile: join(dir, 'missing2'), activate: false }), status.NOT_FOUND, /cannot open/],
      [client.loadCatalog({ path: join(dir, 'missing') }), status.NOT_FOUND, /cannot open/],
      [new EmbeddingStoreRpc(`127.0.0.1:${server.port}`).deleteUser({ userId: 'u1' }), status.UNAUTHENTICATED, /Bearer/],
    ];
    for (const [call, code, message] of cases) {
      await expect(call).rejects.toMatchObject({ code, details: expect.stringMatching(message) });
    }
    // Oversized client values: refused at the edge, echoed at most 128 bytes.
    const huge = 'v'.repeat(100_000);
    const hostile: Array<[Promise<unknown>, RegExp]> = [
      [client.getEmbeddings({ userId: 'u1', itemIds: [], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: huge }), /^snapshot_version: "v{128}…" \(100000 bytes\) is not a snapshot version/],
      [client.retrieve({ query: { $case: 'userId', value: 'u1' }, k: 5, excludeItemIds: [], snapshotVersion: huge }), /^snapshot_version: /],
      [client.activateSnapshot({ version: huge }), /^version: /],
      [client.getEmbeddings({ userId: 'u'.repeat(1980), itemIds: [], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: '' }), /^user_id: 1980 bytes; at most 256 bytes/],
      [client.getEmbeddings({ userId: '', itemIds: ['i1', 'x'.repeat(300)], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: '' }), /^item_ids\[1\]: 300 bytes/],
      [client.retrieve({ query: { $case: 'userId', value: 'u'.repeat(1980) }, k: 5, excludeItemIds: [], snapshotVersion: '' }), /^query.user_id: 1980 bytes/],
      [client.loadCatalog({ path: `/${'p'.repeat(5000)}` }), /^path: 5001 bytes; at most 1024/],
    ];
    for (const [call, message] of hostile) {
      const err = (await call.catch((e: unknown) => e)) as { code: number; details: string };
      expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(message) });
      expect(Buffer.byteLength(err.details)).toBeLessThan(300);
    }
    const ok = await client.getEmbeddings({ userId: 'u1', itemIds: [], kind: VectorKind.VECTOR_KIND_UNSPECIFIED, snapshotVersion: '' });
    expect(ok.userFound).toBe(true);
  });

  it('deletes a user from every retained version and exports metrics', async () => {
    expect(await client.deleteUser({ userId: 'u11' })).toEqual({ versionsAffected: 2 });
    for (const version of ['v1', 'v2']) {
      const res = await client.getEmbeddings({ userId: 'u11', itemIds: [], kind: VectorKind.VECTOR_KIND_UNSPECIFIED, snapshotVersion: version });
      expect(res.userFound).toBe(false);
      expect(res.userVector).toEqual([]);
    }
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/embedding_store_active_snapshot_info\{version="v1",producer_model_version="pf-1"\} 1/);
    expect(text).toMatch(/embedding_store_unknown_ids_total\{kind="tower"\} [1-9]/);
    expect(text).toMatch(/embedding_store_lookup_duration_seconds_count\{method="GetEmbeddings",backend="(lmdb|redis)"\} [1-9]/);
    expect(text).toMatch(/embedding_store_active_snapshot_age_seconds \d/);
  });
});
