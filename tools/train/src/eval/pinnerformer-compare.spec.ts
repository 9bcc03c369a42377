import { type RunSummary } from '../pinnerformer/run-pinnerformer';
import { compareGroups, compareTable, comparisonTable, cutoffRecallSvg, summariseGroup, validationCurveSvg, type ComparedRun } from './pinnerformer-compare';
import { type PinnerformerEvaluation } from './pinnerformer-report';
import { type RetrievalMetrics } from './retrieval-eval';

const metrics = (perUser: number[]): RetrievalMetrics => ({
  method: 'm',
  mode: 'cutoff',
  recallAtK: perUser.reduce((a, b) => a + b, 0) / perUser.length,
  stdError: 0,
  k: 10,
  p90CoverageAtK: 0,
  users: perUser.length,
  positives: perUser.length,
  indexSize: 100,
  perUser,
  groups: { session: { recallAtK: 0.5, stdError: 0, users: 1, positives: 1, perUser: [] }, later: { recallAtK: 0.1, stdError: 0, users: 1, positives: 1, perUser: [] } },
});

/** A run whose users' cutoff recall is `base[u] + shift`. */
function run(base: number[], shift: number, seed: number): ComparedRun {
  const m = metrics(base.map((b) => b + shift));
  const cutoff = { ...m, heldOut: { recallAtK: m.recallAtK, stdError: 0, users: base.length } };
  const evaluation = {
    model: { realtime: m, daily: m, cutoff },
    popularity: m,
    popularityCutoff: cutoff,
    meanContent: { realtime: m, daily: m, cutoff },
  } as unknown as PinnerformerEvaluation;
  const summary: RunSummary = {
    objective: 'sasrec',
    seed,
    batchSize: 32,
    targetsPerSequence: 8,
    steps: 100,
    finalStep: 100,
    stopReason: 'steps',
    meanTargetsPerBatch: 300,
    examplesSeen: 3200,
    targetsSeen: 30000,
    bestValidation: { step: 100, loss: 5 },
    trainSeconds: 1,
  };
  return { dir: `run-${seed}`, evaluation, run: summary, curve: [{ step: 50, loss: 6, temperature: 0.1, elapsedS: 1, targets: 300, validationLoss: 6.5 }] };
}

// Users differ a lot (0..0.9), so unpaired errors are large; a constant shift between methods is exact when paired.
const base = Array.from({ length: 40 }, (_, u) => (u % 10) / 10);

describe('PinnerFormer comparison', () => {
  it('paired differences see a small constant gain that unpaired errors would hide; verdicts follow the sign', () => {
    const better = summariseGroup('A', [run(base, 0.02, 1), run(base, 0.03, 2)]);
    const worse = summariseGroup('B', [run(base, 0, 1), run(base, 0, 2)]);
    expect(better.cutoff.mean).toBeCloseTo(0.45 + 0.025, 12);
    expect(better.cutoff.stdError).toBeGreaterThan(0.04); // user spread
    const c = compareGroups(better, worse);
    expect(c.cutoff.mean).toBeCloseTo(0.025, 12);
    expect(c.cutoff.stdError).toBeCloseTo(0, 12);
    expect(c.perSeed.map((x) => +x.toFixed(6))).toEqual([0.02, 0.03]);
    // The seed spread enters the combined error: std(0.02, 0.03)/√2 = 0.005.
    expect(c.combinedStdError).toBeCloseTo(0.005, 6);
    expect(c.verdict).toBe('reproduced');
    expect(compareGroups(worse, better).verdict).toBe('reversed');
    const noisy = summariseGroup('C', [run(base, 0.03, 1), run(base, -0.03, 2)]);
    expect(compareGroups(noisy, worse).verdict).toBe('not reproduced (tie)');
  });

  it('tables and charts name every group and comparison', () => {
    const a = summariseGroup('dense all-action', [run(base, 0.02, 1)]);
    const b = summariseGroup('SASRec', [run(base, 0, 1)]);
    const table = compareTable([a, b]);
    expect(table).toContain('| dense all-action | 1 |');
    expect(table).toContain('floor: mean content');
    expect(comparisonTable([compareGroups(a, b)])).toContain('dense all-action > SASRec | +0.020');
    for (const svg of [validationCurveSvg([a, b], 't'), cutoffRecallSvg([a, b], 't')]) {
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('SASRec');
      expect(svg).not.toContain('NaN');
    }
    expect(() => summariseGroup('x', [run(base, 0, 1), run(base.slice(1), 0, 2)])).toThrow(RangeError);
  });
});
