import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel } from '../models/model-registry';
import { TfOps } from '../ops/tf-ops';
import { initTfBackend } from '../ops/tf-runtime';
import { exportOnnx } from '../run/onnx-export';
import { createCpuSession, runOnnx } from '../run/onnx-run';
import { runTfForward } from '../run/tf-forward';
import { maxAbsDiff } from '../testing/parity';
import { SeededRandom } from './seeded-random';
import { decodeWeights, encodeWeights, loadWeights, saveWeights } from './weight-file';
import { WeightStore } from './weight-store';

let dir: string;
beforeAll(async () => {
  await initTfBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'pinrank-weights-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('weights file', () => {
  it('round-trips and loads into both backends with the same outputs', async () => {
    const spec = createModel('ranking_heads_lite');
    const seeded = WeightStore.seeded(3);
    const original = exportOnnx(spec, seeded);
    const path = join(dir, 'lite.prw');
    await saveWeights(path, spec.name, { ...spec.hyperparams }, seeded, { run: 'test' });

    const file = await loadWeights(path);
    expect(file.header.model).toBe('ranking_heads_lite');
    expect(file.header.source).toEqual({ run: 'test' });
    const loaded = new WeightStore(file.tensors); // no seed: every tensor must come from the file
    const rebuilt = createModel(file.header.model, file.header.hyperparams);
    const reexported = exportOnnx(rebuilt, loaded);
    expect(Buffer.from(reexported).equals(Buffer.from(original))).toBe(true);

    const feeds = spec.sampleFeeds(new SeededRandom(1), { batch: 4 });
    const session = await createCpuSession(reexported);
    const viaOnnx = (await runOnnx(session, feeds))['probs']!;
    await session.release();
    const ops = new TfOps(new WeightStore(file.tensors));
    const viaTf = runTfForward(rebuilt, ops, feeds)['probs']!;
    ops.dispose();
    expect(maxAbsDiff(viaOnnx.data, viaTf.data)).toBeLessThanOrEqual(1e-4);
  });

  it('seeded initialisation is deterministic and depends on the seed', () => {
    const spec = createModel('pinnerformer_item');
    const a = exportOnnx(spec, WeightStore.seeded(7));
    const b = exportOnnx(spec, WeightStore.seeded(7));
    const c = exportOnnx(spec, WeightStore.seeded(8));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('refuses files that are not weights, weights of the wrong shape, missing and extra tensors', () => {
    expect(() => decodeWeights(new Uint8Array(20), 'x.prw')).toThrow('x.prw: not a pinrank weights file');
    const store = WeightStore.seeded(1);
    exportOnnx(createModel('pinnerformer_item'), store);
    const bytes = encodeWeights('pinnerformer_item', {}, store);
    const wide = createModel('pinnerformer_item', { hidden: 32 });
    expect(() => exportOnnx(wide, new WeightStore(decodeWeights(bytes).tensors))).toThrow(
      'weight "tower.0.weight" has shape [32,64] but the model needs [32,32]',
    );
    const partial = new WeightStore(decodeWeights(bytes).tensors.filter(([n]) => n !== 'tower.1.bias'));
    expect(() => exportOnnx(createModel('pinnerformer_item'), partial)).toThrow('the weights have no tensor "tower.1.bias"');
    const extra = new WeightStore(decodeWeights(bytes).tensors);
    extra.set('stray', { shape: [1], data: new Float32Array(1) });
    expect(() => exportOnnx(createModel('pinnerformer_item'), extra)).toThrow('the weights hold tensors the model does not use: stray');
  });

  it('refuses a truncated data section', () => {
    const store = WeightStore.seeded(1);
    exportOnnx(createModel('pinnerformer_item'), store);
    const bytes = encodeWeights('pinnerformer_item', {}, store);
    expect(() => decodeWeights(bytes.slice(0, bytes.length - 8), 'cut.prw')).toThrow('lies outside the data section');
  });
});
