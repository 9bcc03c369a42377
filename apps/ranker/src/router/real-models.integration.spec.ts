import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ModelConfig } from '@pinrank/contracts';
import { ModelRepository, type InferenceWorker } from '@pinrank/inference';
import { pino } from 'pino';
import { readWorkerConfig, startWorker, type WorkerRole } from '../worker';
import { InProcessRanker } from './testing/ort-reference';
import { fixtureRankingInputs, startHarness, type Harness } from './testing/router-harness';

// The release models of the repository, served by real workers (ONNX Runtime sessions).
const MODELS = resolve(__dirname, '../../../../models');
const describeIfModels = ['transact_encoder', 'ranking_heads', 'ranking_heads_lite'].every((m) => existsSync(resolve(MODELS, m))) ? describe : describe.skip;

describeIfModels('Rank through real workers over the release models', () => {
  let h: Harness;
  const workers: InferenceWorker[] = [];
  let reference: InProcessRanker;
  /** The newest shipped versions: what the workers load and the router calls by default. */
  let versions: { encoder: string; heads: string };
  let heads: ModelConfig;

  const worker = async (role: WorkerRole, models: string, env: Record<string, string> = {}): Promise<string> => {
    const config = readWorkerConfig(role, { RANKER_MODEL_REPOSITORY: MODELS, RANKER_MODELS: models, RANKER_WATCH: 'off', RANKER_WARMUP: 'false', RANKER_INTRA_OP_THREADS: '1', ...env }, []);
    const w = await startWorker({ role, config, server: { address: '127.0.0.1:0', signals: [] }, logger: pino({ level: 'silent' }) });
    workers.push(w);
    return `127.0.0.1:${w.server.port}`;
  };

  beforeAll(async () => {
    h = await startHarness();
    const repo = new ModelRepository(MODELS);
    const [encoderEntry, headsEntry] = await Promise.all([repo.latestVersion('transact_encoder'), repo.latestVersion('ranking_heads')]);
    if (!encoderEntry || !headsEntry) throw new Error(`no complete transact_encoder / ranking_heads version in ${MODELS}`);
    versions = { encoder: encoderEntry.version, heads: headsEntry.version };
    heads = await repo.readConfig(headsEntry);
    reference = await InProcessRanker.load(MODELS, versions);
  });
  afterAll(async () => {
    await h.close();
    await Promise.all(workers.map((w) => w.close()));
    await reference.release();
  });

  /** The in-process models' ranking of `candidates` for u1 with the default weights. */
  const expectReference = async (res: { items: Array<{ itemId: string; score: number }> }, candidates: string[]): Promise<void> => {
    const probs = await reference.run(fixtureRankingInputs('u1', candidates));
    const names = heads.heads ?? [];
    const weights: Record<string, number> = { save: 1, click: 0.3, hide: -2 };
    const want = candidates
      .map((id, i) => ({ id, score: names.reduce((a, hname, j) => a + (weights[hname] ?? 0) * (probs[i * names.length + j] ?? NaN), 0) }))
      .sort((a, b) => b.score - a.score);
    expect(res.items.map((i) => i.itemId)).toEqual(want.map((w) => w.id));
    res.items.forEach((item, k) => expect(item.score).toBeCloseTo(want[k]?.score ?? NaN, 4));
  };

  it('returns what the two models compute in process, sorted by utility', async () => {
    const gpu = await worker('gpu', 'transact_encoder');
    const cpu = await worker('cpu', 'ranking_heads,ranking_heads_lite,transact_encoder');
    h.store.data.producerModelVersion = heads.pinnerformerVersion ?? '';
    const api = await h.router({ modelRepository: MODELS, gpuWorkers: [gpu], cpuWorkers: [cpu], startupHealthWaitMs: 5000 });
    const candidates = h.items.slice(0, 20);
    const res = await api.rank({ userId: 'u1', candidateItemIds: candidates }, 20_000);
    expect(res.degraded).toEqual([]);
    expect(res.modelVersions).toEqual({ transact_encoder: versions.encoder, ranking_heads: versions.heads });
    expect(res.timings.map((t) => t.stage)).toEqual(expect.arrayContaining(['encoder', 'heads']));
    await expectReference(res, candidates);
  });

  it('runs the encoder and the heads as one chained call on a worker that serves both, with the same scores', async () => {
    const both = await worker('gpu', 'transact_encoder,ranking_heads', { RANKER_PLACEMENTS: 'gpu,cpu' });
    const cpu = await worker('cpu', 'ranking_heads,ranking_heads_lite,transact_encoder');
    h.store.data.producerModelVersion = heads.pinnerformerVersion ?? '';
    const api = await h.router({ modelRepository: MODELS, gpuWorkers: [both], cpuWorkers: [cpu], placementOverrides: { ranking_heads: 'gpu' }, startupHealthWaitMs: 5000 });
    const candidates = h.items.slice(0, 20);
    const res = await api.rank({ userId: 'u1', candidateItemIds: candidates }, 20_000);
    expect(res.degraded).toEqual([]);
    expect(res.modelVersions).toEqual({ transact_encoder: versions.encoder, ranking_heads: versions.heads });
    const stages = res.timings.map((t) => t.stage);
    expect(stages).toContain('encoder+heads');
    expect(stages).not.toContain('heads');
    await expectReference(res, candidates);
  });
});
