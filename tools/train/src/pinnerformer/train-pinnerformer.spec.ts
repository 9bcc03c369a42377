import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { initTfBackend, loadWeights, pinnerformerFeeds, type ModelManifest } from '@pinrank/models';
import { writeWorld } from '@pinrank/sim';
import { sequenceAt } from '../data/sequences';
import { loadTrainingWorld } from '../data/world-data';
import { initTraining } from '../init-training';
import { evaluatePinnerformerRun } from '../eval/evaluate-run';
import { type PinnerformerEvaluation } from '../eval/pinnerformer-report';
import { runPinnerformer, type RunSummary } from './run-pinnerformer';
import { trainPinnerformer } from './trainer';

let dir: string;
let worldDir: string;

beforeAll(async () => {
  await initTraining();
  await initTfBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'pf-train-'));
  worldDir = join(dir, 'world');
  await writeWorld(worldDir, { seed: 3, users: 150, items: 400, days: 30, topics: 8 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tiny = { batchSize: 6, maxLen: 8, targetsPerSequence: 3, randomNegatives: 16, model: { hidden: 16, ffnDim: 32, outDim: 16, layers: 1 } };

describe('pinrank train pinnerformer, tiny configuration end to end', () => {
  it('simulates → trains a few steps → exports → the ONNX models load in onnxruntime-node and give unit-length vectors', async () => {
    const runDir = join(dir, 'run');
    const repo = join(dir, 'repo');
    const res = await runPinnerformer({ worldDir, runDir, steps: 3, ...tiny, logEvery: 1, evalOptions: { indexSize: 100 }, exportRepository: repo, exportBelowFloors: true });
    expect(res.trained.curve.map((r) => r.step)).toEqual([1, 2, 3]);
    expect(res.trained.curve.every((r) => Number.isFinite(r.loss) && r.loss > 0)).toBe(true);
    expect((await readFile(join(runDir, 'curve.csv'), 'utf8')).trim().split('\n')).toHaveLength(4);
    expect(res.evaluation!.model.realtime.users).toBeGreaterThan(0);

    const manifest = JSON.parse(await readFile(join(repo, 'pinnerformer', '2', 'manifest.json'), 'utf8')) as ModelManifest;
    expect(manifest.weights.source).toBe('file');
    if (manifest.weights.source !== 'file') return;
    const provenance = manifest.weights.provenance as { training: { objective: string; seed: number }; data: { seed: number }; metrics: Record<string, number> };
    expect(provenance.training.objective).toBe('dense-all-action');
    expect(provenance.data.seed).toBe(3);
    expect(typeof provenance.metrics['recall@10']).toBe('number');
    expect(manifest.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);

    const world = await loadTrainingWorld(worldDir);
    const users = [0, 1, 2, 3].filter((u) => (world.positives[u]?.length ?? 0) > 0);
    const seqs = users.map((u) => sequenceAt(world, u, world.manifest.endMs, 8));
    const feeds = pinnerformerFeeds(seqs);
    const session = await ort.InferenceSession.create(join(repo, 'pinnerformer', '2', 'model.onnx'));
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.dtype, f.data, f.shape)]));
    const out = (await session.run(ortFeeds))['user_embedding']!;
    expect(out.dims).toEqual([users.length, 16]);
    const data = out.data as Float32Array;
    for (let u = 0; u < users.length; u++) expect(norm(data.subarray(u * 16, (u + 1) * 16))).toBeCloseTo(1, 4);
    await session.release();

    const itemSession = await ort.InferenceSession.create(join(repo, 'pinnerformer_item', '2', 'model.onnx'));
    const items = (await itemSession.run({ item_vectors: new ort.Tensor('float32', world.content.slice(0, 5 * 32), [5, 32]) }))['item_embedding']!;
    for (let i = 0; i < 5; i++) expect(norm((items.data as Float32Array).subarray(i * 16, (i + 1) * 16))).toBeCloseTo(1, 4);
    await itemSession.release();
  });

  it('is deterministic, and resumes the same run: 4 steps ≈ 2 steps + resume to 4', async () => {
    const world = await loadTrainingWorld(worldDir);
    const opts = { worldDir, ...tiny, checkpointEvery: 2, logEvery: 1 };
    const straight = await trainPinnerformer({ ...opts, runDir: join(dir, 'a'), steps: 4 }, world);
    const firstHalf = await trainPinnerformer({ ...opts, runDir: join(dir, 'b'), steps: 2 }, world);
    // Same seed, same steps: bit-identical.
    expect(firstHalf.curve.map((r) => r.loss)).toEqual(straight.curve.slice(0, 2).map((r) => r.loss));
    const resumed = await trainPinnerformer({ ...opts, runDir: join(dir, 'b'), steps: 4, resume: true }, world);
    expect(resumed.stepsRun).toBe(2);
    expect(resumed.curve.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    // Equal up to float32 rounding of Adam's bias-correction terms (recomputed as a power on restore).
    resumed.curve.forEach((r, i) => expect(r.loss).toBeCloseTo(straight.curve[i]!.loss, 4));
    for (const [name, t] of straight.user.store.entries()) {
      const got = resumed.user.store.get(name, t.shape, { kind: 'zeros' }).data;
      expect(Math.max(...t.data.map((v, i) => Math.abs(v - got[i]!)))).toBeLessThan(1e-4);
    }
    // A changed option refuses to resume.
    await expect(trainPinnerformer({ worldDir, runDir: join(dir, 'b'), steps: 6, ...tiny, learningRate: 0.1, resume: true }, world)).rejects.toThrow(/other options/);
    const weights = await loadWeights(join(dir, 'b', 'checkpoint', 'user.prw'));
    expect(weights.header.model).toBe('pinnerformer');
  });

  it('validates on fixed held-out batches and stops at a plateau of the held-out loss; run.json and a re-evaluation follow', async () => {
    const world = await loadTrainingWorld(worldDir);
    // A vanishing learning rate cannot improve the held-out loss by 0.001: the plateau stops training after 2 validations without gain.
    const flat = await trainPinnerformer(
      { worldDir, runDir: join(dir, 'plateau'), ...tiny, steps: 50, learningRate: 1e-7, validateEvery: 2, validationBatches: 2, plateauPatience: 2, logEvery: 100 },
      world,
    );
    expect(flat.stopReason).toBe('plateau');
    expect(flat.finalStep).toBe(6); // validations at steps 2 (best), 4 and 6 (no gain)
    expect(flat.bestValidation?.step).toBe(2);
    const validated = flat.curve.filter((r) => r.validationLoss !== undefined);
    expect(validated.map((r) => r.step)).toEqual([2, 4, 6]);
    expect(flat.meanTargetsPerBatch).toBeGreaterThanOrEqual(tiny.batchSize);
    // The held-out batches and their negatives are fixed: the same model gives the same held-out loss in another run.
    const again = await trainPinnerformer(
      { worldDir, runDir: join(dir, 'plateau2'), ...tiny, steps: 2, learningRate: 1e-7, validateEvery: 2, validationBatches: 2, logEvery: 100 },
      world,
    );
    expect(again.curve.at(-1)!.validationLoss).toBeCloseTo(validated[0]!.validationLoss!, 3);
    await expect(trainPinnerformer({ worldDir, runDir: join(dir, 'bad'), plateauPatience: 2 }, world)).rejects.toThrow(/validateEvery/);

    const runDir = join(dir, 'summarised');
    await runPinnerformer({ worldDir, runDir, steps: 2, ...tiny, validateEvery: 1, evalOptions: { indexSize: 100 } });
    const run = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')) as RunSummary;
    expect(run).toMatchObject({ objective: 'dense-all-action', finalStep: 2, stopReason: 'steps', examplesSeen: 2 * tiny.batchSize });
    const before = JSON.parse(await readFile(join(runDir, 'eval.json'), 'utf8')) as PinnerformerEvaluation;
    expect(before.model.cutoff.users).toBeGreaterThan(before.model.realtime.users);
    // Re-evaluating the saved weights gives the evaluation of the trained models.
    const after = await evaluatePinnerformerRun(runDir, { indexSize: 100 });
    expect(after.model.cutoff.perUser).toEqual(before.model.cutoff.perUser);
    expect(after.model.realtime.recallAtK).toBeCloseTo(before.model.realtime.recallAtK, 6);
  });
});

function norm(v: Float32Array): number {
  return Math.sqrt(v.reduce((a, x) => a + x * x, 0));
}
