// Service-level suite: the five real processes on free loopback ports, one
// shared stack for every test of this file (started once in beforeAll).
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import {
  ActionType,
  ActivateSnapshotRequest,
  DeleteUserEmbeddingsRequest,
  DeleteUserRequest,
  FeatureServerClient,
  GetEmbeddingsRequest,
  GetRealtimeSequenceRequest,
  GetRealtimeSequencesRequest,
  IngestActionsRequest,
  type IngestActionsResponse,
  ListSnapshotsRequest,
  LoadCatalogRequest,
  LoadSnapshotRequest,
  ModelInferRequest,
  ModelMetadataRequest,
  ModelReadyRequest,
  RankRequest,
  type RankResponse,
  RecommendRequest,
  RepositoryIndexRequest,
  RetrieveRequest,
  ServerLiveRequest,
  ServerMetadataRequest,
  ServerReadyRequest,
  Surface,
  VectorKind,
} from '@pinrank/proto';
import { readVectorFile } from '@pinrank/contracts';
import { itemId, userId } from '@pinrank/sim';
import { call, failure } from './grpc-call';
import { startRankLoad, until } from './load-loop';
import { OtlpJsonReceiver, type ReceivedSpan } from './otlp-receiver';
import { loadSnapshot, REPO_ROOT, startServiceStack, type ServiceStack } from './stack-fixture';

const ITEMS = 800;
const CANDIDATES = 40;

let stack: ServiceStack;
let receiver: OtlpJsonReceiver;

beforeAll(async () => {
  receiver = await OtlpJsonReceiver.start();
  stack = await startServiceStack({
    items: ITEMS,
    env: {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    },
  });
}, 600_000);

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
}, 120_000);

/** `n` distinct catalog items starting at `from`, spread over the catalog. */
function candidates(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, k) => itemId((from + k * 17) % ITEMS));
}

/** The newest version of `model` in the shipped repository (what the stack serves before any swap). */
function shipped(model: string): string {
  return String(Math.max(...readdirSync(join(REPO_ROOT, 'models', model)).map(Number).filter(Number.isInteger)));
}

/** The highest version directory of `model` in the stack's repository. */
function newestVersion(model: string): number {
  return Math.max(...readdirSync(join(stack.modelRepository, model)).map(Number).filter(Number.isInteger));
}

/**
 * Publishes `<model>/<newest + 1>` as a copy of the newest version the way the
 * ranker README says: staged beside the repository (config and manifest naming
 * the new version), then renamed into place so the workers' watcher never sees
 * a half-written version. Returns the new version.
 */
async function publishNextVersion(model: string): Promise<string> {
  const from = String(newestVersion(model));
  const to = String(Number(from) + 1);
  const staged = join(stack.dir, 'staging', `${model}-${to}`);
  await mkdir(join(stack.dir, 'staging'), { recursive: true });
  await cp(join(stack.modelRepository, model, from), staged, { recursive: true });
  const configPath = join(staged, 'config.json');
  const config = (await readFile(configPath, 'utf8')).replace(new RegExp(`"version":\\s*"${from}"`), `"version": "${to}"`);
  await writeFile(configPath, config);
  const manifestPath = join(staged, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { version: string; files: Array<{ path: string; bytes: number; sha256: string }> };
  manifest.version = to;
  for (const f of manifest.files) if (f.path === 'config.json') Object.assign(f, { bytes: Buffer.byteLength(config), sha256: createHash('sha256').update(config).digest('hex') });
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
  await rename(staged, join(stack.modelRepository, model, to));
  return to;
}

/** Ids of the users a snapshot user file holds a vector for, in file order. */
async function usersWithVectors(userFile: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const r of readVectorFile(userFile)) ids.push(r.id);
  return ids;
}

/** A user whose PinnerFormer vector differs between snapshots "a" and "b" (so their scores differ). */
async function userWhoseVectorChanged(): Promise<string> {
  const a = new Map<string, Float32Array>();
  for await (const r of readVectorFile(stack.snapshots.a.userFile)) a.set(r.id, r.vector.slice());
  for await (const r of readVectorFile(stack.snapshots.b.userFile)) {
    const old = a.get(r.id);
    if (old && r.vector.some((v, k) => Math.abs(v - (old[k] as number)) > 1e-3) && r.id !== userId(149)) return r.id;
  }
  throw new Error('no user vector changed between the two snapshots');
}

function ingest(actions: Array<Partial<IngestActionsRequest['actions'][number]>>): Promise<IngestActionsResponse> {
  const fs = stack.producer;
  return new Promise((resolve, reject) => {
    const stream = fs.ingestActions((err, res) => (err ? reject(err) : resolve(res)));
    stream.write(IngestActionsRequest.fromPartial({ actions }));
    stream.end();
  });
}

describe('every public RPC answers on the real stack', () => {
  it('Ranker.Rank scores every candidate with model and snapshot versions', async () => {
    const ids = candidates(CANDIDATES);
    const res = await call(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial({ userId: userId(3), candidateItemIds: ids }));
    expect(res.items.map((i) => i.itemId).sort()).toEqual([...ids].sort());
    for (let k = 1; k < res.items.length; k++) expect(res.items[k - 1]?.score).toBeGreaterThanOrEqual(res.items[k]?.score as number);
    expect(Object.keys(res.items[0]?.headScores ?? {}).length).toBeGreaterThan(0);
    expect(res.modelVersions).toEqual({ transact_encoder: shipped('transact_encoder'), ranking_heads: shipped('ranking_heads') });
    expect(res.snapshotVersion).toBe(stack.snapshots.a.version);
    expect(res.degraded).toEqual([]);
    expect(res.requestId).not.toBe('');
  }, 60_000);

  it('Ranker.Recommend returns k items from retrieval in the active snapshot', async () => {
    const user = (await usersWithVectors(stack.snapshots.a.userFile))[4] as string;
    const res = await call(stack.ranker.recommend.bind(stack.ranker), RecommendRequest.fromPartial({ userId: user, k: 10 }));
    expect(res.items).toHaveLength(10);
    expect(res.snapshotVersion).toBe(stack.snapshots.a.version);
    expect(res.degraded).toEqual([]);
  }, 60_000);

  it('FeatureServer: IngestActions, GetRealtimeSequence(s), DeleteUser (admin)', async () => {
    const user = 'sl-fs-user';
    const now = Date.now();
    const actions = [0, 1, 2].map((k) => ({
      actionId: `sl-fs-${k}`,
      userId: user,
      itemId: itemId(k),
      actionType: ActionType.ACTION_TYPE_SAVE,
      timestampMs: now - 1000 * (3 - k),
      surface: Surface.SURFACE_HOMEFEED,
    }));
    expect(await ingest(actions)).toMatchObject({ accepted: 3, rejected: 0, unknownItems: 0 });
    expect(await ingest(actions)).toMatchObject({ accepted: 0, duplicates: 3 });
    const fs = stack.featureServer;
    const seq = await call(fs.getRealtimeSequence.bind(fs), GetRealtimeSequenceRequest.fromPartial({ userId: user, maxLen: 10, includeRecords: true }));
    expect(seq.length).toBe(3);
    expect(seq.records.map((r) => r.action?.actionId)).toEqual(['sl-fs-2', 'sl-fs-1', 'sl-fs-0']);
    const many = await call(fs.getRealtimeSequences.bind(fs), GetRealtimeSequencesRequest.fromPartial({ userIds: [user, 'nobody'], maxLen: 10 }));
    expect(many.sequences.map((s) => s.length)).toEqual([3, 0]);
    // The test client presents the router's certificate: known, but not an admin.
    expect((await failure(fs.deleteUser.bind(fs), DeleteUserRequest.fromPartial({ userId: user }))).code).toBe(status.PERMISSION_DENIED);
    const deleted = await call(fs.deleteUser.bind(fs), DeleteUserRequest.fromPartial({ userId: user }), { token: stack.adminToken });
    expect(deleted.deletedActions).toBe(3);
  }, 60_000);

  it('EmbeddingStore: GetEmbeddings, Retrieve, ListSnapshots, LoadCatalog and DeleteUser (admin)', async () => {
    const es = stack.embeddingStore;
    const got = await call(es.getEmbeddings.bind(es), GetEmbeddingsRequest.fromPartial({ userId: userId(5), itemIds: ['i1', 'i2', 'nope'], kind: VectorKind.VECTOR_KIND_TOWER }));
    expect(got.snapshotVersion).toBe(stack.snapshots.a.version);
    expect(got.userFound).toBe(true);
    expect(got.itemIds).toEqual(['i1', 'i2']);
    expect(got.unknownItemIds).toEqual(['nope']);
    const near = await call(es.retrieve.bind(es), RetrieveRequest.fromPartial({ query: { $case: 'userId', value: userId(5) }, k: 5, excludeItemIds: ['i1'] }));
    expect(near.items).toHaveLength(5);
    expect(near.items.map((i) => i.itemId)).not.toContain('i1');
    const list = await call(es.listSnapshots.bind(es), ListSnapshotsRequest.fromPartial({}));
    expect(list.activeVersion).toBe(stack.snapshots.a.version);
    const catalog = await call(es.loadCatalog.bind(es), LoadCatalogRequest.fromPartial({ path: stack.catalogFile }), { token: stack.adminToken });
    expect(catalog.itemsAdded + catalog.itemsReplaced).toBe(ITEMS);
    const victim = userId(149);
    const removed = await call(es.deleteUser.bind(es), DeleteUserEmbeddingsRequest.fromPartial({ userId: victim }), { token: stack.adminToken });
    expect(removed.versionsAffected).toBeGreaterThanOrEqual(1);
    const after = await call(es.getEmbeddings.bind(es), GetEmbeddingsRequest.fromPartial({ userId: victim, itemIds: ['i1'], kind: VectorKind.VECTOR_KIND_TOWER }));
    expect(after.userFound).toBe(false);
  }, 60_000);

  it('inference workers (Open Inference Protocol): live, ready, metadata, repository index', async () => {
    for (const [worker, model] of [
      [stack.gpuWorker, 'transact_encoder'],
      [stack.cpuWorker, 'ranking_heads'],
    ] as const) {
      expect((await call(worker.serverLive.bind(worker), ServerLiveRequest.fromPartial({}))).live).toBe(true);
      expect((await call(worker.serverReady.bind(worker), ServerReadyRequest.fromPartial({}))).ready).toBe(true);
      expect((await call(worker.serverMetadata.bind(worker), ServerMetadataRequest.fromPartial({}))).extensions).toContain('model_repository');
      expect((await call(worker.modelReady.bind(worker), ModelReadyRequest.fromPartial({ name: model }))).ready).toBe(true);
      const meta = await call(worker.modelMetadata.bind(worker), ModelMetadataRequest.fromPartial({ name: model }));
      expect(meta.platform).toMatch(/^onnxruntime_onnx\//);
      const index = await call(worker.repositoryIndex.bind(worker), RepositoryIndexRequest.fromPartial({ ready: true }));
      expect(index.models.map((m) => `${m.name}/${m.version}`)).toContain(`${model}/${shipped(model)}`);
    }
  }, 60_000);
});

describe('authorization on the real stack (mutual TLS, default policies)', () => {
  it("refused none of the stack's own calls: router to feature-server, embedding-store and workers, feature-server to embedding-store", async () => {
    const refusals = async (name: keyof ServiceStack['metricsAddress']): Promise<string[]> => {
      const text = await (await fetch(`http://${stack.metricsAddress[name]}/metrics`)).text();
      return text.split('\n').filter((l) => l.startsWith('rpc_server_authz_refusals_total{') && !/method="DeleteUser"/.test(l) && !l.endsWith(' 0'));
    };
    for (const name of ['feature-server', 'embedding-store', 'gpu-worker', 'cpu-worker', 'router'] as const) expect({ name, refused: await refusals(name) }).toEqual({ name, refused: [] });
  });

  it('refuses a known identity on a method its policy does not name, and a caller without TLS', async () => {
    const producer = stack.producer;
    const read = GetRealtimeSequenceRequest.fromPartial({ userId: userId(1), maxLen: 5 });
    expect((await failure(producer.getRealtimeSequence.bind(producer), read)).code).toBe(status.PERMISSION_DENIED);
    const asRouter = stack.featureServer;
    const code = await new Promise<number>((resolve) => {
      const s = asRouter.ingestActions((err) => resolve(err?.code ?? status.OK));
      s.write(IngestActionsRequest.fromPartial({ actions: [] }));
      s.end();
    });
    expect(code).toBe(status.PERMISSION_DENIED);
    const plain = new FeatureServerClient(stack.address['feature-server'], credentials.createInsecure());
    try {
      expect((await failure(plain.getRealtimeSequence.bind(plain), read, { timeoutMs: 3000 })).code).toBe(status.UNAVAILABLE);
    } finally {
      plain.close();
    }
  });
});

describe('bad inputs get INVALID_ARGUMENT or NOT_FOUND naming the field', () => {
  type Case = [string, () => Promise<{ code: number; details: string }>, number, RegExp];
  const cases: Case[] = [
    ['Rank without user_id', () => failure(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial({ candidateItemIds: ['i1'] })), status.INVALID_ARGUMENT, /user_id/],
    ['Rank without candidates', () => failure(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial({ userId: 'u1' })), status.INVALID_ARGUMENT, /candidate_item_ids/],
    ['Rank with a duplicate candidate', () => failure(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial({ userId: 'u1', candidateItemIds: ['i1', 'i2', 'i1'] })), status.INVALID_ARGUMENT, /candidate_item_ids/],
    ['Rank with top_k > candidates', () => failure(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial({ userId: 'u1', candidateItemIds: ['i1'], topK: 5 })), status.INVALID_ARGUMENT, /top_k/],
    ['Rank with an unknown head weight', () => failure(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial({ userId: 'u1', candidateItemIds: ['i1'], headWeights: { nope: 1 } })), status.INVALID_ARGUMENT, /head_weights/],
    ['Recommend with k = 0', () => failure(stack.ranker.recommend.bind(stack.ranker), RecommendRequest.fromPartial({ userId: 'u1', k: 0 })), status.INVALID_ARGUMENT, /\bk\b/],
    ['Recommend without user_id', () => failure(stack.ranker.recommend.bind(stack.ranker), RecommendRequest.fromPartial({ k: 5 })), status.INVALID_ARGUMENT, /user_id/],
    ['GetRealtimeSequence without user_id', () => failure(stack.featureServer.getRealtimeSequence.bind(stack.featureServer), GetRealtimeSequenceRequest.fromPartial({})), status.INVALID_ARGUMENT, /user_id/],
    ['GetRealtimeSequence with max_len 5000', () => failure(stack.featureServer.getRealtimeSequence.bind(stack.featureServer), GetRealtimeSequenceRequest.fromPartial({ userId: 'u1', maxLen: 5000 })), status.INVALID_ARGUMENT, /max_len/],
    ['GetRealtimeSequences without users', () => failure(stack.featureServer.getRealtimeSequences.bind(stack.featureServer), GetRealtimeSequencesRequest.fromPartial({})), status.INVALID_ARGUMENT, /user_ids/],
    ['FeatureServer.DeleteUser without user_id', () => failure(stack.featureServer.deleteUser.bind(stack.featureServer), DeleteUserRequest.fromPartial({}), { token: stack.adminToken }), status.INVALID_ARGUMENT, /user_id/],
    ['GetEmbeddings with kind unspecified', () => failure(stack.embeddingStore.getEmbeddings.bind(stack.embeddingStore), GetEmbeddingsRequest.fromPartial({ itemIds: ['i1'] })), status.INVALID_ARGUMENT, /kind/],
    ['GetEmbeddings pinned to an unknown snapshot', () => failure(stack.embeddingStore.getEmbeddings.bind(stack.embeddingStore), GetEmbeddingsRequest.fromPartial({ itemIds: ['i1'], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: 'no-such' })), status.NOT_FOUND, /snapshot_version|no-such/],
    ['Retrieve with k = 0', () => failure(stack.embeddingStore.retrieve.bind(stack.embeddingStore), RetrieveRequest.fromPartial({ query: { $case: 'userId', value: 'u1' }, k: 0 })), status.INVALID_ARGUMENT, /\bk\b/],
    ['Retrieve with a short query vector', () => failure(stack.embeddingStore.retrieve.bind(stack.embeddingStore), RetrieveRequest.fromPartial({ query: { $case: 'vector', value: { values: [1, 2, 3] } }, k: 5 })), status.INVALID_ARGUMENT, /vector/],
    ['LoadSnapshot of a missing file', () => failure(stack.embeddingStore.loadSnapshot.bind(stack.embeddingStore), LoadSnapshotRequest.fromPartial({ userFile: '/nonexistent/users.vec', itemFile: '/nonexistent/items.vec' }), { token: stack.adminToken }), status.NOT_FOUND, /user_file|item_file/],
    ['ActivateSnapshot of an unknown version', () => failure(stack.embeddingStore.activateSnapshot.bind(stack.embeddingStore), ActivateSnapshotRequest.fromPartial({ version: 'no-such' }), { token: stack.adminToken }), status.NOT_FOUND, /version|no-such/],
    ['LoadCatalog of a missing file', () => failure(stack.embeddingStore.loadCatalog.bind(stack.embeddingStore), LoadCatalogRequest.fromPartial({ path: '/nonexistent/items.vec' }), { token: stack.adminToken }), status.NOT_FOUND, /path|\/nonexistent\/items\.vec/],
    ['EmbeddingStore.DeleteUser without user_id', () => failure(stack.embeddingStore.deleteUser.bind(stack.embeddingStore), DeleteUserEmbeddingsRequest.fromPartial({}), { token: stack.adminToken }), status.INVALID_ARGUMENT, /user_id/],
    ['ModelInfer without model_name', () => failure(stack.cpuWorker.modelInfer.bind(stack.cpuWorker), ModelInferRequest.fromPartial({})), status.INVALID_ARGUMENT, /model_name/],
    ['ModelInfer of an unknown model', () => failure(stack.cpuWorker.modelInfer.bind(stack.cpuWorker), ModelInferRequest.fromPartial({ modelName: 'no_such_model' })), status.NOT_FOUND, /no_such_model/],
    ['ModelInfer without inputs', () => failure(stack.cpuWorker.modelInfer.bind(stack.cpuWorker), ModelInferRequest.fromPartial({ modelName: 'ranking_heads' })), status.INVALID_ARGUMENT, /input|encoded/],
    ['ModelMetadata of an unknown model', () => failure(stack.gpuWorker.modelMetadata.bind(stack.gpuWorker), ModelMetadataRequest.fromPartial({ name: 'no_such_model' })), status.NOT_FOUND, /no_such_model/],
  ];
  it.each(cases)('%s', async (_name, run, code, field) => {
    const got = await run();
    expect({ code: status[got.code], details: got.details }).toEqual({ code: status[code], details: expect.stringMatching(field) });
  }, 30_000);

  it('IngestActions rejects a bad record with a reason naming the field and keeps the rest', async () => {
    const now = Date.now();
    const res = await ingest([
      { actionId: 'sl-bad-1', userId: 'sl-bad', itemId: 'i1', actionType: ActionType.ACTION_TYPE_UNSPECIFIED, timestampMs: now, surface: Surface.SURFACE_HOMEFEED },
      { actionId: 'sl-bad-2', userId: 'sl-bad', itemId: 'i1', actionType: ActionType.ACTION_TYPE_CLICK, timestampMs: now, surface: Surface.SURFACE_HOMEFEED },
    ]);
    expect(res).toMatchObject({ accepted: 1, rejected: 1 });
    expect(res.rejections[0]).toMatchObject({ index: 0, actionId: 'sl-bad-1', reason: expect.stringMatching(/action_type/) });
  }, 30_000);
});

describe('tracing across the real processes', () => {
  it('one Rank call is one trace with spans from all five services, linked parent to child, with the attributes', async () => {
    const ids = candidates(CANDIDATES, 5);
    const res = await call(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial({ userId: userId(8), candidateItemIds: ids }));
    const isRoot = (s: ReceivedSpan): boolean => s.attributes['pinrank.request_id'] === res.requestId;
    await receiver.waitFor((spans) => spans.some(isRoot), 30_000, `the router span of request ${res.requestId}`);
    const root = receiver.spans.find(isRoot) as ReceivedSpan;
    const services = ['ranker-router', 'feature-server', 'embedding-store', 'ranker-worker-gpu', 'ranker-worker-cpu'];
    await receiver.waitFor((spans) => services.every((svc) => spans.some((s) => s.traceId === root.traceId && s.service === svc)), 30_000, 'spans of all five services');
    await new Promise((r) => setTimeout(r, 500)); // late spans of the same batch
    const spans = receiver.trace(root.traceId);
    const byId = new Map(spans.map((s) => [s.spanId, s]));

    expect(receiver.errors).toEqual([]);
    expect(root).toMatchObject({ service: 'ranker-router', name: 'pinrank.v1.Ranker/Rank', kind: 2, parentSpanId: '' });
    expect(root.attributes).toMatchObject({ 'pinrank.candidate_count': CANDIDATES, 'pinrank.snapshot_version': stack.snapshots.a.version });
    // One tree: a single root, every other span's parent is in the trace.
    expect(spans.filter((s) => s.parentSpanId === '')).toEqual([root]);
    for (const s of spans) if (s !== root) expect(byId.has(s.parentSpanId)).toBe(true);
    // Each downstream SERVER span hangs under a CLIENT span of the router, under the root.
    const descendsFromRoot = (s: ReceivedSpan): boolean => {
      for (let p = byId.get(s.parentSpanId); p; p = byId.get(p.parentSpanId)) if (p === root) return true;
      return false;
    };
    const serverSpan = (service: string, name: string): ReceivedSpan[] => spans.filter((s) => s.service === service && s.kind === 2 && s.name === name);
    const downstream = [
      ...serverSpan('feature-server', 'pinrank.v1.FeatureServer/GetRealtimeSequence'),
      ...serverSpan('embedding-store', 'pinrank.v1.EmbeddingStore/GetEmbeddings'),
      ...serverSpan('ranker-worker-gpu', 'inference.GRPCInferenceService/ModelInfer'),
      ...serverSpan('ranker-worker-cpu', 'inference.GRPCInferenceService/ModelInfer'),
    ];
    expect(new Set(downstream.map((s) => s.service)).size).toBe(4);
    for (const s of downstream) {
      expect(byId.get(s.parentSpanId)).toMatchObject({ service: 'ranker-router', kind: 3 });
      expect(descendsFromRoot(s)).toBe(true);
    }
    // Two GetEmbeddings (content, then tower in the pinned snapshot).
    expect(serverSpan('embedding-store', 'pinrank.v1.EmbeddingStore/GetEmbeddings').length).toBeGreaterThanOrEqual(2);
    const infer = (service: string): ReceivedSpan | undefined => serverSpan(service, 'inference.GRPCInferenceService/ModelInfer')[0];
    expect(infer('ranker-worker-gpu')?.attributes).toMatchObject({ 'pinrank.model.name': 'transact_encoder', 'pinrank.model.version': shipped('transact_encoder'), 'pinrank.execution_provider': expect.any(String) });
    expect(infer('ranker-worker-cpu')?.attributes).toMatchObject({ 'pinrank.model.name': 'ranking_heads', 'pinrank.model.version': shipped('ranking_heads'), 'pinrank.execution_provider': expect.any(String) });
    expect(['cpu', 'webgpu', 'cuda', 'tensorrt']).toContain(infer('ranker-worker-cpu')?.attributes['pinrank.execution_provider']);
  }, 120_000);
});

describe('changes under load', () => {
  /** The version the hot-swap test published (the next test reuses it). */
  let swapped: string | undefined;

  it('a model hot swap on the workers under Rank load fails no request', async () => {
    const ids = candidates(CANDIDATES, 3);
    const load = startRankLoad(stack.ranker, () => ({ userId: userId(10), candidateItemIds: ids }), 2);
    const worker = stack.cpuWorker;
    const next = String(newestVersion('ranking_heads') + 1);
    const nextReady = async (): Promise<boolean> =>
      (await call(worker.repositoryIndex.bind(worker), RepositoryIndexRequest.fromPartial({ ready: true }))).models.some((m) => m.name === 'ranking_heads' && m.version === next);
    try {
      await until(() => load.result.responses.length >= 5, 60_000, 'first responses');
      expect(await nextReady()).toBe(false);
      await publishNextVersion('ranking_heads');
      const end = Date.now() + 60_000;
      while (!(await nextReady())) {
        if (Date.now() > end || load.result.failures.length > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const loadedAt = load.result.responses.length;
      await until(() => load.result.responses.length >= loadedAt + 5 || load.result.failures.length > 0, 60_000, 'responses after the swap');
    } finally {
      await load.stop();
    }
    expect(load.result.failures).toEqual([]);
    expect(await nextReady()).toBe(true);
    expect((await call(worker.modelMetadata.bind(worker), ModelMetadataRequest.fromPartial({ name: 'ranking_heads' }))).versions).toContain(next);
    swapped = next;
  }, 180_000);

  it('after a hot swap, Rank responses move to the new version (the router follows the workers)', async () => {
    const next = swapped ?? (await publishNextVersion('ranking_heads'));
    const ids = candidates(CANDIDATES, 3);
    const end = Date.now() + 30_000;
    let last: RankResponse | undefined;
    while (Date.now() < end) {
      last = await call(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial({ userId: userId(10), candidateItemIds: ids }));
      if (last.modelVersions['ranking_heads'] === next) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(last?.modelVersions['ranking_heads']).toBe(next);
  }, 60_000);

  it('a snapshot switch under Rank load gives every response exactly one version with that version’s scores', async () => {
    const ids = candidates(CANDIDATES, 11);
    const requestTimeMs = Date.now();
    const request = { userId: await userWhoseVectorChanged(), candidateItemIds: ids, requestTimeMs };
    const scoresOf = (r: RankResponse): Map<string, number> => new Map(r.items.map((i) => [i.itemId, i.score]));
    const before = await call(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial(request));
    const from = before.snapshotVersion;
    const to = [stack.snapshots.a, stack.snapshots.b].find((s) => s.version !== from);
    if (!to) throw new Error('no second snapshot');
    const load = startRankLoad(stack.ranker, () => request, 2);
    await until(() => load.result.responses.length >= 5, 60_000, 'first responses');
    try {
      if ((await call(stack.embeddingStore.listSnapshots.bind(stack.embeddingStore), ListSnapshotsRequest.fromPartial({}))).snapshots.some((s) => s.version === to.version)) {
        await call(stack.embeddingStore.activateSnapshot.bind(stack.embeddingStore), ActivateSnapshotRequest.fromPartial({ version: to.version }), { token: stack.adminToken });
      } else {
        await loadSnapshot(stack, to, true);
      }
      await until(() => load.result.responses.filter((r) => r.snapshotVersion === to.version).length >= 10 || load.result.failures.length > 0, 60_000, `responses from ${to.version}`);
    } finally {
      await load.stop();
    }
    const after = await call(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial(request));
    expect(after.snapshotVersion).toBe(to.version);
    const reference = new Map([
      [from, scoresOf(before)],
      [to.version, scoresOf(after)],
    ]);
    // The two versions must rank differently, or the check below proves nothing.
    const diff = ids.map((id) => Math.abs((reference.get(from)?.get(id) ?? 0) - (reference.get(to.version)?.get(id) ?? 0)));
    expect(Math.max(...diff)).toBeGreaterThan(1e-3);

    const { responses, failures } = load.result;
    expect(failures).toEqual([]);
    const versions = new Set(responses.map((r) => r.snapshotVersion));
    expect([...versions].sort()).toEqual([from, to.version].sort());
    let mismatched = 0;
    for (const r of responses) {
      const ref = reference.get(r.snapshotVersion) as Map<string, number>;
      if (r.items.some((i) => Math.abs(i.score - (ref.get(i.itemId) ?? Infinity)) > 1e-4)) mismatched++;
    }
    expect({ responses: responses.length, mismatched }).toEqual({ responses: responses.length, mismatched: 0 });
  }, 180_000);
});
