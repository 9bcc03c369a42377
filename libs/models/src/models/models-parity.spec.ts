import { initTfBackend } from '../ops/tf-runtime';
import { runBothBackends } from '../testing/parity';
import { SeededRandom } from '../weights/seeded-random';
import { MODEL_NAMES } from './model-definition';
import { createModel } from './model-registry';

const TOLERANCE = 1e-4;

// Small but structurally complete sizes keep the suite fast on two cores.
const small: Record<string, Record<string, unknown>> = {
  pinnerformer: { maxLen: 16 },
  pinnerformer_item: {},
  transact_encoder: {},
  ranking_heads: {},
  ranking_heads_lite: {},
};

beforeAll(async () => {
  await initTfBackend('wasm');
});

describe('model parity: ONNX Runtime vs TensorFlow.js (wasm)', () => {
  it.each([...MODEL_NAMES])('%s gives the same outputs on both backends', async (name) => {
    const spec = createModel(name, small[name]);
    const feeds = spec.sampleFeeds(new SeededRandom(21), { batch: 6, users: 2, seqLen: 14 });
    const result = await runBothBackends(spec, feeds);
    expect(result.maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
    const out = result.onnx[spec.outputs[0]!.name]!;
    expect(out.shape[0]).toBe(6);
    expect(out.data.every(Number.isFinite)).toBe(true);
  });

  it.each([
    ['gathered, un-factorised', { form: 'gathered', factorised: false, heads: 1 }, 3],
    ['gathered, factorised', { form: 'gathered' }, 3],
    ['split, one user row (broadcast branch)', { form: 'split' }, 1],
    ['split, one head, three layers', { form: 'split', heads: 1, layers: 3 }, 3],
  ])('transact_encoder %s gives the same outputs on both backends', async (_name, hyperparams, users) => {
    const spec = createModel('transact_encoder', hyperparams);
    const feeds = spec.sampleFeeds(new SeededRandom(22), { batch: 5, users, seqLen: 6 });
    expect((await runBothBackends(spec, feeds)).maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
  });

  it('PinnerFormer vectors are unit length', async () => {
    for (const name of ['pinnerformer', 'pinnerformer_item'] as const) {
      const spec = createModel(name, small[name]);
      const result = await runBothBackends(spec, spec.sampleFeeds(new SeededRandom(23), { batch: 4 }));
      const out = result.onnx[spec.outputs[0]!.name]!;
      const d = out.shape[1]!;
      for (let r = 0; r < 4; r++) {
        const row = out.data.slice(r * d, (r + 1) * d);
        expect(Math.hypot(...row)).toBeCloseTo(1, 4);
      }
    }
  });

  it('heads probabilities lie in (0, 1), one column per configured head', async () => {
    const spec = createModel('ranking_heads', { heads: ['save', 'click', 'hide', 'closeup'] });
    const result = await runBothBackends(spec, spec.sampleFeeds(new SeededRandom(24), { batch: 4 }));
    const probs = result.onnx['probs']!;
    expect(probs.shape).toEqual([4, 4]);
    expect(probs.data.every((p) => p > 0 && p < 1)).toBe(true);
    expect(spec.config('1').heads).toEqual(['save', 'click', 'hide', 'closeup']);
  });
});
