import * as tf from '@tensorflow/tfjs';
import { MODEL_NAMES } from '../models/model-definition';
import { createModel } from '../models/model-registry';
import { feedToTf, runTfForward } from '../run/tf-forward';
import { SeededRandom } from '../weights/seeded-random';
import { WeightStore } from '../weights/weight-store';
import { TfOps } from './tf-ops';
import { initTfBackend } from './tf-runtime';

beforeAll(async () => {
  await initTfBackend('wasm');
});

describe('training on the TensorFlow.js wasm backend', () => {
  const small: Record<string, Record<string, unknown>> = { pinnerformer: { maxLen: 12, dropout: 0 }, transact_encoder: { dropout: 0 } };

  it.each([...MODEL_NAMES])('every %s parameter gets a finite, non-zero gradient', (name) => {
    const spec = createModel(name, small[name] ?? {});
    const feeds = spec.sampleFeeds(new SeededRandom(1), { batch: 6, users: 2, seqLen: 12 });
    const ops = new TfOps(WeightStore.seeded(1), { trainable: true });
    const output = spec.outputs[0]!.name;
    const width = runTfForward(spec, ops, feeds)[output]!.shape[1]!; // also creates the variables
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, feedToTf(v)]));
    const target = tf.randomNormal([6, width], 0, 1, 'float32', 3);
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(spec.forward(ops, inputs)[output]!, target))) as tf.Scalar);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(ops.parameters().size).toBeGreaterThan(3);
    for (const param of ops.parameters().keys()) {
      const g = grads[param.replace(/[^A-Za-z0-9_]/g, '_')];
      expect(g).toBeDefined();
      const data = g!.dataSync();
      expect(data.every(Number.isFinite)).toBe(true);
      // Rows of an embedding table for unused ids legitimately get zero gradient; the table as a whole does not.
      expect(data.some((v) => v !== 0)).toBe(true);
    }
    tf.dispose([value, target, ...Object.values(grads), ...Object.values(inputs)]);
    ops.dispose();
  });

  it('Adam steps on ranking_heads_lite lower the loss, and writeBack exports the trained weights', async () => {
    const spec = createModel('ranking_heads_lite');
    const feeds = spec.sampleFeeds(new SeededRandom(2), { batch: 32 });
    const weights = WeightStore.seeded(2);
    const ops = new TfOps(weights, { trainable: true });
    runTfForward(spec, ops, feeds);
    const before = Float32Array.from(weights.get('heads.weight', [64, 3], { kind: 'zeros' }).data);
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, feedToTf(v)]));
    const labels = tf.tensor2d(Array.from({ length: 32 * 3 }, (_, i) => (i % 4 === 0 ? 1 : 0)), [32, 3]);
    const loss = (): tf.Scalar => tf.losses.logLoss(labels, spec.forward(ops, inputs)['probs']!) as tf.Scalar;
    const optimizer = tf.train.adam(0.01);
    const first = tf.tidy(() => loss().dataSync()[0]!);
    for (let step = 0; step < 20; step++) optimizer.minimize(loss, true)?.dispose();
    const last = tf.tidy(() => loss().dataSync()[0]!);
    expect(last).toBeLessThan(first * 0.9);
    await ops.writeBack();
    expect(weights.get('heads.weight', [64, 3], { kind: 'zeros' }).data).not.toEqual(before);
    optimizer.dispose();
    tf.dispose([labels, ...Object.values(inputs)]);
    ops.dispose();
  });
});
