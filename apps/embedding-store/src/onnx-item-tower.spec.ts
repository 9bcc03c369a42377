import { join } from 'node:path';
import { onnxItemTowerProvider } from './onnx-item-tower';
import { unitVector } from './testing/fixtures';

// The reference model repository shipped with the project (release artefacts under models/).
const MODEL_ROOT = join(__dirname, '../../../models');

describe('onnxItemTowerProvider', () => {
  it('runs the pinnerformer_item model of a snapshot version: 32-d content in, L2-normalised 64-d out', async () => {
    const tower = await onnxItemTowerProvider(MODEL_ROOT)('1');
    expect(tower).toBeDefined();
    const content = [unitVector(1, 32), unitVector(2, 32), unitVector(1, 32)];
    const out = await tower!(content);
    expect(out).toHaveLength(3);
    for (const v of out) {
      expect(v).toHaveLength(64);
      expect(Math.hypot(...v)).toBeCloseTo(1, 4);
    }
    expect(Array.from(out[2]!)).toEqual(Array.from(out[0]!));
    expect(Array.from(out[1]!)).not.toEqual(Array.from(out[0]!));
  });

  it('yields no function for a model version that is not on disk', async () => {
    expect(await onnxItemTowerProvider(MODEL_ROOT)('no-such-version')).toBeUndefined();
  });
});
