import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadModelConfig } from '@pinrank/contracts';
import { type InferenceWorker } from '@pinrank/inference';
import { pino } from 'pino';
import { readWorkerConfig, startWorker, type WorkerRole } from '../worker';
import { InProcessRanker } from './testing/ort-reference';
import { fixtureRankingInputs, startHarness, type Harness } from './testing/router-harness';

// The release models of the repository, served by real workers (ONNX Runtime sessions).
const MODELS = resolve(__dirname, '../../../../models');
/** A model's newest shipped version (what the workers load and the router calls by default). */
const newest = (model: string): string =>
  String(Math.max(...(existsSync(resolve(MODELS, model)) ? readdirSync(resolve(MODELS, model)).map(Number).filter(Number.isInteger) : [1])));
const VERSIONS = { transact_encoder: newest('transact_encoder'), ranking_heads: newest('ranking_heads') };
const haveModels = Object.entries({ ...VERSIONS, ranking_heads_lite: newest('ranking_heads_lite') }).every(([m, v]) => existsSync(resolve(MODELS, m, v, 'model.onnx')));
const describeIfModels = haveModels ? describe : describe.skip;

describeIfModels('Rank through real workers over the release models', () => {
  let h: Harness;
  const workers: InferenceWorker[] = [];
  let reference: InProcessRanker;

  const worker = async (role: WorkerRole, models: string): Promise<string> => {
    const config = readWorkerConfig(role, { RANKER_MODEL_REPOSITORY: MODELS, RANKER_MODELS: models, RANKER_WATCH: 'off', RANKER_WARMUP: 'false', RANKER_INTRA_OP_THREADS: '1' }, []);
    const w = await startWorker({ role, config, server: { address: '127.0.0.1:0', signals: [] }, logger: pino({ level: 'silent' }) });
    workers.push(w);
    return `127.0.0.1:${w.server.port}`;
  };

  beforeAll(async () => {
    h = await startHarness();
    reference = await InProcessRanker.load(MODELS, VERSIONS);
  });
  afterAll(async () => {
    await h.close();
    await Promise.all(workers.map((w) => w.close()));
    await reference.release();
  });

  it('returns what the two models compute in process, sorted by utility', async () => {
    const gpu = await worker('gpu', 'transact_encoder');
    const cpu = await worker('cpu', 'ranking_heads,ranking_heads_lite,transact_encoder');
    const heads = await loadModelConfig(resolve(MODELS, 'ranking_heads', VERSIONS.ranking_heads, 'config.json'));
    h.store.data.producerModelVersion = heads.pinnerformerVersion ?? '';
    const api = await h.router({ modelRepository: MODELS, gpuWorkers: [gpu], cpuWorkers: [cpu], startupHealthWaitMs: 5000 });
    const candidates = h.items.slice(0, 20);
    const res = await api.rank({ userId: 'u1', candidateItemIds: candidates }, 20_000);
    expect(res.degraded).toEqual([]);
    expect(res.modelVersions).toEqual(VERSIONS);

    const probs = await reference.run(fixtureRankingInputs('u1', candidates));
    const names = heads.heads ?? [];
    const weights: Record<string, number> = { save: 1, click: 0.3, hide: -2 };
    const want = candidates
      .map((id, i) => ({ id, score: names.reduce((a, hname, j) => a + (weights[hname] ?? 0) * (probs[i * names.length + j] ?? NaN), 0) }))
      .sort((a, b) => b.score - a.score);
    expect(res.items.map((i) => i.itemId)).toEqual(want.map((w) => w.id));
    res.items.forEach((item, k) => expect(item.score).toBeCloseTo(want[k]?.score ?? NaN, 4));
  });
});
