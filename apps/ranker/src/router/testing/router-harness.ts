import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VectorFileWriter } from '@pinrank/contracts';
import { ActionType, RankerClient, RankRequest, RecommendRequest, type RankResponse, type RecommendResponse } from '@pinrank/proto';
import { pino } from 'pino';
import { callUnary, createClient } from '@pinrank/service-kit';
import { type RouterOptions } from '../router-options';
import { startRouter, type RunningRouter } from '../start-router';
import { fakeStoreData, itemIds, startFakeEmbeddingStore, startFakeFeatureServer, testVector, type FakeAction } from './fake-upstreams';
import { ENCODED, reference, startFakeWorker, writeTestModelConfigs } from './fake-worker';
import { type RankingInputs } from './ort-reference';

/** Number of items in the test catalog. */
export const ITEM_COUNT = 40;
/** Sequence length used by the test routers. */
export const S = 12;
/** PinnerFormer version the test models name. */
export const PF_VERSION = 'pf-1';

/** Seed of an id's test vectors: the number at its end ("i7" → 7, "u1" → 1), 99 otherwise. */
export function indexOf(id: string): number {
  const m = /(\d+)$/.exec(id);
  return m ? Number(m[1]) : 99;
}

/** Popularity of item iK in the test catalog: the lower K, the more popular. */
export const popularityOf = (id: string): number => ITEM_COUNT - indexOf(id);

/** Realtime actions of the test users (u1 saved i1, hid i2, clicked i3; ghost saved i0). */
export const SEQUENCES: Record<string, FakeAction[]> = {
  u1: [
    { itemId: 'i1', type: ActionType.ACTION_TYPE_SAVE, ageS: 60 },
    { itemId: 'i2', type: ActionType.ACTION_TYPE_HIDE, ageS: 120 },
    { itemId: 'i3', type: ActionType.ACTION_TYPE_CLICK, ageS: 300 },
  ],
  ghost: [{ itemId: 'i0', type: ActionType.ACTION_TYPE_SAVE, ageS: 30 }],
};

/** Users with a PinnerFormer vector in the fake store. */
export const STORE_USERS = ['u1', 'u2'];

/** Every fake service of a test, and a way to start routers against them. */
export type Harness = Awaited<ReturnType<typeof startHarness>>;

/** Starts the fake feature-server, embedding-store and workers, and writes model configs and a catalog. */
export async function startHarness() {
  const dir = await mkdtemp(join(tmpdir(), 'ranker-router-'));
  const repo = join(dir, 'models');
  await writeTestModelConfigs(repo, PF_VERSION);
  const items = itemIds(ITEM_COUNT);
  const catalogPath = join(dir, 'catalog.vec');
  const w = await VectorFileWriter.open(catalogPath, {
    kind: 'item_content',
    version: 'cat-1',
    dimension: 32,
    count: items.length,
    producerModel: 'sim',
    producerModelVersion: '1',
    asOfDate: '2026-11-01',
    createdAtMs: 1,
    extraFields: ['primary_topic', 'popularity'],
  });
  for (const id of items) await w.write(id, testVector(indexOf(id), 32), [0, popularityOf(id)]);
  await w.close();
  const features = await startFakeFeatureServer({ sequences: SEQUENCES, itemIndex: indexOf });
  const store = await startFakeEmbeddingStore(fakeStoreData({ items, users: STORE_USERS, snapshotVersion: 'snap-7', producerModelVersion: PF_VERSION, index: indexOf }));
  const gpu = await startFakeWorker('gpu-worker');
  const cpu = await startFakeWorker('cpu-worker');
  const routers: RunningRouter[] = [];
  const clients: RankerClient[] = [];

  /** Starts a router on these fakes; `overrides` replace the defaults below. */
  const router = async (overrides: Partial<RouterOptions> = {}) => {
    const r = await startRouter({
      address: '127.0.0.1:0',
      featureServer: features.address,
      embeddingStore: store.address,
      gpuWorkers: [gpu.address],
      cpuWorkers: [cpu.address],
      modelRepository: repo,
      catalogPath,
      sequenceLength: S,
      chunkSize: 8,
      startupHealthWaitMs: 300,
      // Generous: tests share two cores with other work; deadline behaviour is tested explicitly.
      embeddingsTimeoutMs: 2000,
      sequenceTimeoutMs: 1000,
      logger: pino({ level: 'silent' }),
      server: { signals: [] },
      ...overrides,
    });
    routers.push(r);
    const client = createClient(RankerClient, `127.0.0.1:${r.port}`);
    clients.push(client);
    return {
      router: r,
      rank: (req: Partial<RankRequest>, timeoutMs = 5000): Promise<RankResponse> =>
        callUnary(client.rank.bind(client), RankRequest.fromPartial(req), { timeoutMs, retry: false }),
      recommend: (req: Partial<RecommendRequest>, timeoutMs = 5000): Promise<RecommendResponse> =>
        callUnary(client.recommend.bind(client), RecommendRequest.fromPartial(req), { timeoutMs, retry: false }),
    };
  };

  /** The utility and head scores the reference models give `itemId` for `userId` with `weights`. */
  const expected = (userId: string, itemId: string, weights: Record<string, number> = { save: 1, click: 0.3, hide: -2 }, lite = false) => {
    const seqLen = (SEQUENCES[userId] ?? []).length;
    const user = STORE_USERS.includes(userId) ? testVector(indexOf(userId) + 5000, 64) : new Float32Array(64);
    const item = testVector(indexOf(itemId) + 1000, 64);
    const enc = new Float32Array(ENCODED);
    enc.set(testVector(indexOf(itemId), 32));
    enc[32] = seqLen;
    const dense0 = Math.fround(Math.log1p(popularityOf(itemId)));
    const probs = lite ? reference.lite(user, item, dense0) : reference.heads(enc, user, item, dense0);
    const heads = { save: probs[0] ?? 0, click: probs[1] ?? 0, hide: probs[2] ?? 0 };
    const score = Object.entries(weights).reduce((a, [h, w]) => a + w * (heads[h as keyof typeof heads] ?? 0), 0);
    return { score, heads };
  };

  const close = async (): Promise<void> => {
    for (const c of clients) c.close();
    await Promise.all(routers.map((r) => r.shutdown()));
    await Promise.all([features.server.shutdown(), store.server.shutdown(), gpu.server.shutdown(), cpu.server.shutdown()]);
    await rm(dir, { recursive: true, force: true });
  };

  return { dir, repo, catalogPath, items, features, store, gpu, cpu, router, expected, close };
}

/** Polls `check` every 10 ms until it holds (health updates arrive asynchronously); throws after `ms`. */
export async function eventually(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The model inputs a ranking of `candidates` for `userId` should use, built from the fixture data independently of the router. */
export function fixtureRankingInputs(userId: string, candidates: readonly string[], seqLen = S): RankingInputs {
  const actions = SEQUENCES[userId] ?? [];
  const n = candidates.length;
  const seqActionTypes = new BigInt64Array(seqLen);
  const seqItemVectors = new Float32Array(seqLen * 32);
  const seqAgesS = new Float32Array(seqLen).fill(-1);
  actions.forEach((a, r) => {
    seqActionTypes[r] = BigInt(a.type);
    seqItemVectors.set(testVector(indexOf(a.itemId), 32), r * 32);
    seqAgesS[r] = a.ageS;
  });
  const known = STORE_USERS.includes(userId);
  const user = known ? testVector(indexOf(userId) + 5000, 64) : new Float32Array(64);
  const candVectors = new Float32Array(n * 32);
  const userPf = new Float32Array(n * 64);
  const itemPf = new Float32Array(n * 64);
  const dense = new Float32Array(n * 4);
  const newestH = actions.length > 0 ? (actions[0]?.ageS ?? 0) / 3600 : 0;
  candidates.forEach((id, i) => {
    candVectors.set(testVector(indexOf(id), 32), i * 32);
    userPf.set(user, i * 64);
    itemPf.set(testVector(indexOf(id) + 1000, 64), i * 64);
    dense.set([Math.log1p(popularityOf(id)), actions.length / 100, Math.log1p(newestH), known ? 0 : 1], i * 4);
  });
  return { S: seqLen, n, seqActionTypes, seqItemVectors, seqAgesS, candVectors, userPf, itemPf, dense };
}
