import { onnx } from 'onnx-proto';
import { createModel } from '../models/model-registry';
import { SeededRandom } from '../weights/seeded-random';
import { WeightStore } from '../weights/weight-store';
import { exportOnnx } from './onnx-export';
import { createCpuSession, runOnnx } from './onnx-run';
import { quantizeDynamic } from './quantize-dynamic';

const ops = (model: Uint8Array): string[] => (onnx.ModelProto.decode(model).graph?.node ?? []).map((n) => n.opType ?? '');

describe('quantizeDynamic', () => {
  const spec = createModel('pinnerformer_item');
  const model = exportOnnx(spec, WeightStore.seeded(3));
  const feeds = spec.sampleFeeds(new SeededRandom(4), { batch: 16 });

  it('turns constant-weight products into int8 DynamicQuantizeMatMul with outputs close to float32', async () => {
    const q = await quantizeDynamic(model);
    expect(q.quantized.length).toBe(ops(model).filter((o) => o === 'MatMul').length);
    expect(ops(q.model).filter((o) => o === 'DynamicQuantizeMatMul')).toHaveLength(q.quantized.length);
    expect(ops(q.model)).not.toContain('MatMul');
    // int8 weights: the file shrinks.
    expect(q.model.byteLength).toBeLessThan(model.byteLength / 2);
    const run = async (bytes: Uint8Array): Promise<Float32Array> => {
      const s = await createCpuSession(bytes);
      const out = (await runOnnx(s, feeds))['item_embedding']!.data;
      await s.release();
      return out;
    };
    const [a, b] = [await run(model), await run(q.model)];
    const d = 64;
    for (let r = 0; r < 16; r++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += a[r * d + k]! * b[r * d + k]!;
      expect(dot).toBeGreaterThan(0.95); // unit vectors: cosine similarity (measured ≥ 0.97)
    }
    expect(a.some((v, i) => v !== b[i])).toBe(true);
  });

  it('leaves products the filter excludes in float32', async () => {
    const q = await quantizeDynamic(model, { include: () => false });
    expect(q.quantized).toEqual([]);
    expect(ops(q.model)).not.toContain('DynamicQuantizeMatMul');
  });
});
