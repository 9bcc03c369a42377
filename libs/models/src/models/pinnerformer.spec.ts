import * as tf from '@tensorflow/tfjs';
import { TfOps } from '../ops/tf-ops';
import { initTfBackend } from '../ops/tf-runtime';
import { exportOnnx } from '../run/onnx-export';
import { createCpuSession, runOnnx } from '../run/onnx-run';
import { feedToTf } from '../run/tf-forward';
import { maxAbsDiff } from '../testing/parity';
import { SeededRandom } from '../weights/seeded-random';
import { WeightStore } from '../weights/weight-store';
import { type Feeds } from './model-definition';
import { pinnerformer, pinnerformerHyperparams, pinnerformerSequence } from './pinnerformer';

const M = 12;
const D = 32;

/** One user (row 0), newest first: `n` real actions then padding; `edit` may change any position. */
function user(n: number, edit?: (pos: number, f: Feeds) => void): Feeds {
  const rng = new SeededRandom(17);
  const f = pinnerformer({ maxLen: M }).sampleFeeds(rng, { batch: 1 });
  for (let p = 0; p < M; p++) {
    const real = p < n;
    f['action_types']!.data[p] = BigInt(real ? 1 + (p % 5) : 0);
    f['surfaces']!.data[p] = BigInt(real ? 1 : 0);
    f['ages_s']!.data[p] = real ? 100 + 900 * p : -1;
    f['log_durations']!.data[p] = real ? 1.5 : 0;
    for (let k = 0; k < D; k++) f['item_vectors']!.data[p * D + k] = real ? rng.normal() * 0.4 : 0;
    edit?.(p, f);
  }
  return f;
}

describe('pinnerformer', () => {
  beforeAll(async () => {
    await initTfBackend('wasm');
  });

  it('the user embedding ignores padding contents and follows the newest action', async () => {
    const session = await createCpuSession(exportOnnx(pinnerformer({ maxLen: M }), WeightStore.seeded(2)));
    const embed = async (f: Feeds): Promise<Float32Array> => (await runOnnx(session, f))['user_embedding']!.data;
    const base = await embed(user(6));
    const junkPadding = await embed(
      user(6, (p, f) => {
        if (p >= 6) for (let k = 0; k < D; k++) f['item_vectors']!.data[p * D + k] = 5;
      }),
    );
    const newestChanged = await embed(
      user(6, (p, f) => {
        if (p === 0) for (let k = 0; k < D; k++) f['item_vectors']!.data[k] = -f['item_vectors']!.data[k]!;
      }),
    );
    await session.release();
    expect(maxAbsDiff(junkPadding, base)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(newestChanged, base)).toBeGreaterThan(1e-3);
  });

  it('is causal: the output at a position does not depend on newer actions (dense all-action training)', () => {
    const hp = pinnerformerHyperparams.parse({ maxLen: M });
    const weights = WeightStore.seeded(3);
    const ops = new TfOps(weights);
    const outputs = (f: Feeds): Float32Array =>
      tf.tidy(() => {
        const inputs = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, feedToTf(v)]));
        return pinnerformerSequence(ops, inputs, hp).dataSync() as Float32Array;
      });
    const base = outputs(user(8));
    // Change the newest two actions (positions 0 and 1).
    const edited = outputs(
      user(8, (p, f) => {
        if (p < 2) for (let k = 0; k < D; k++) f['item_vectors']!.data[p * D + k] = 1;
      }),
    );
    ops.dispose();
    const at = (data: Float32Array, p: number): Float32Array => data.slice(p * hp.outDim, (p + 1) * hp.outDim);
    for (let p = 2; p < 8; p++) expect(maxAbsDiff(at(edited, p), at(base, p))).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(at(edited, 0), at(base, 0))).toBeGreaterThan(1e-3);
  });
});
