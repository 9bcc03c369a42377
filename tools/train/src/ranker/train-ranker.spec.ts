import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTfBackend } from '@pinrank/models';
import { writeWorld } from '@pinrank/sim';
import { initTraining } from '../init-training';
import { checkOnnxParity } from '../ranker-eval/onnx-parity';
import { type BatchScorer, realtimeProbe } from '../ranker-eval/realtime-probe';
import { type RankerBatch } from './batch';
import { evaluateScorer, evaluationRequests, oracleScorer, trainedScorer } from '../ranker-eval/evaluate-ranker';
import { exportRanker } from './export-ranker';
import { writeSeededSnapshots } from './testing/seeded-snapshots';
import { type RankerTrainOptions } from './options';
import { loadRankerInputs, trainRanker } from './trainer';
import { resolveRankerOptions } from './options';

const DAY_MS = 86_400_000;

describe('train ranker, tiny end-to-end configuration', () => {
  let dir: string;
  let base: RankerTrainOptions;

  beforeAll(async () => {
    await initTraining();
    await initTfBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'pinrank-ranker-'));
    await writeWorld(join(dir, 'world'), { seed: 3, users: 40, items: 300, topics: 8, days: 8, sessionsPerDay: 1 });
    await writeSeededSnapshots(join(dir, 'world'), join(dir, 'snapshots'), ['2026-01-01', '2026-01-03', '2026-01-05', '2026-01-06']);
    base = {
      worldDir: join(dir, 'world'),
      snapshotsDir: join(dir, 'snapshots'),
      runDir: join(dir, 'run'),
      steps: 4,
      requestsPerBatch: 4,
      pageSize: 4,
      trainSeqLen: 8,
      evalDays: 2,
      checkpointEvery: 2,
      timeWindowProb: 1,
      seed: 5,
    };
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('builds examples without future information', async () => {
    const { data, pf } = await loadRankerInputs(resolveRankerOptions(base));
    expect(data.requests.some((r) => r.part === 'train')).toBe(true);
    for (const r of data.requests) {
      const seq = data.serveTimelines[r.user]!.at(r.timeMs);
      // Every action in the sequence happened before the request, hence before the page's own outcomes.
      for (const a of seq.rows) expect(a.timestampMs).toBeLessThanOrEqual(r.timeMs);
      const s = pf.snapshotFor(r.timeMs);
      if (s) expect(s.usableFromMs).toBeLessThanOrEqual(Math.floor(r.timeMs / DAY_MS) * DAY_MS);
    }
    // Impressions on 2026-01-01 have no earlier snapshot; a 2026-01-04 impression uses the 2026-01-03 one.
    expect(pf.snapshotFor(Date.parse('2026-01-01T12:00:00Z'))).toBeUndefined();
    expect(pf.snapshotFor(Date.parse('2026-01-04T00:00:00Z'))?.version).toBe('2026-01-03.pfseeded');
  }, 60_000);

  it('trains, checkpoints, resumes, exports, and the ONNX models match the training forward pass', async () => {
    const first = await trainRanker({ ...base, steps: 2 });
    expect(first.losses).toHaveLength(2);
    const resumed = await trainRanker({ ...base, resume: true });
    expect(resumed.stepsRun).toBe(2);
    const fresh = await trainRanker({ ...base, runDir: join(dir, 'run-fresh') });
    // Batches depend only on the seed and the step, so resuming continues the same run.
    expect(resumed.losses[1]).toBeCloseTo(fresh.losses[3] as number, 4);
    expect(resumed.losses.every(Number.isFinite)).toBe(true);

    const entries = await exportRanker(resumed, { repositoryDir: join(dir, 'models') });
    expect(entries.map((e) => e.manifest.name).sort()).toEqual(['ranking_heads', 'transact_encoder']);
    const headsConfig = JSON.parse(await readFile(join(dir, 'models', 'ranking_heads', '2', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(headsConfig['pinnerformerVersion']).toBe('seeded');

    const evalRequests = evaluationRequests(resumed.data).slice(0, 6);
    expect(evalRequests.length).toBeGreaterThan(0);
    const parity = await checkOnnxParity(resumed, entries, evalRequests);
    expect(parity.candidates).toBeGreaterThan(0);
    expect(parity.maxAbsDiff).toBeLessThan(1e-4);

    const scorer = trainedScorer(resumed, resumed.pf);
    try {
      const model = evaluateScorer(resumed.data, evalRequests, scorer);
      const oracle = evaluateScorer(resumed.data, evalRequests, oracleScorer(resumed.data));
      expect(model.impressions).toBe(oracle.impressions);
      expect(model.sessions).toBeGreaterThan(0);
    } finally {
      scorer.dispose();
    }
  }, 110_000);

  it('trains the no-sequence baseline and exports ranking_heads_lite', async () => {
    const lite = await trainRanker({ ...base, runDir: join(dir, 'run-lite'), variant: { sequence: false } });
    expect(lite.encoder).toBeUndefined();
    const entries = await exportRanker(lite, { repositoryDir: join(dir, 'models') });
    expect(entries.map((e) => e.manifest.name)).toEqual(['ranking_heads_lite']);
    const parity = await checkOnnxParity(lite, entries, evaluationRequests(lite.data).slice(0, 4));
    expect(parity.maxAbsDiff).toBeLessThan(1e-4);
  }, 60_000);

  /**
   * A stand-in ranker for the probe's own test: a candidate's save score is the
   * sum over the user's sequence of cos(row, candidate), counted +1 for a save
   * and (when action-aware) −1 for a hide.
   */
  function similarityScorer(actionAware: boolean): BatchScorer {
    return (batch: RankerBatch) => {
      const types = batch.encoder['seq_action_types']!.data as BigInt64Array;
      const rows = batch.encoder['seq_item_vectors']!;
      const [, S, D] = rows.shape as [number, number, number];
      const cand = batch.encoder['cand_vectors']!.data as Float32Array;
      const userOf = batch.encoder['cand_user_idx']!.data as BigInt64Array;
      const out = new Float32Array(batch.n * 3);
      for (let i = 0; i < batch.n; i++) {
        const u = Number(userOf[i]);
        let score = 0;
        for (let r = 0; r < S; r++) {
          const t = Number(types[u * S + r]);
          const sign = t === 3 ? 1 : t === 5 ? (actionAware ? -1 : 1) : 0;
          if (sign === 0) continue;
          let dot = 0;
          for (let j = 0; j < D; j++) dot += (rows.data[(u * S + r) * D + j] as number) * (cand[i * D + j] as number);
          score += sign * dot;
        }
        out[i * 3] = 1 / (1 + Math.exp(-score));
      }
      return out;
    };
  }

  it('probes the realtime effect: an action-aware ranker passes, one blind to the action type fails the hides half', async () => {
    const { data, pf } = await loadRankerInputs(resolveRankerOptions(base));
    const o = { users: 15, topicCandidates: 5, otherCandidates: 10, burst: 10 };
    const aware = await realtimeProbe(data, pf, similarityScorer(true), o);
    expect(aware).toMatchObject({ users: 15, candidates: 15 });
    // In this tiny world (8 topics) the topic is often on top already: saves keep it there or move it up.
    expect(aware.saves.movedUp + aware.saves.unchanged).toBeGreaterThanOrEqual(0.9);
    expect(aware.saves.positionAfter).toBeLessThan(aware.saves.positionBefore);
    expect(aware.saves.headDelta.save).toBeGreaterThan(aware.saves.otherHeadDelta.save);
    expect(aware.hides.movedUp).toBeLessThanOrEqual(0.1);
    expect(aware.hides.positionAfter).toBeGreaterThan(aware.hides.positionBefore);
    const blind = await realtimeProbe(data, pf, similarityScorer(false), o);
    expect(blind.hides.movedUp + blind.hides.unchanged).toBeGreaterThanOrEqual(0.9);
    expect(blind.hides.positionAfter).toBeLessThan(blind.hides.positionBefore);
    await expect(realtimeProbe(data, pf, similarityScorer(true), { users: 30 })).rejects.toThrow(/the probe needs 60/);
  }, 60_000);
});

