import { type StackingLayout } from './batch-stacking';
import { type BatchCompute } from './dynamic-batcher';
import { type TensorMap } from './host-tensor';
import { OrtModelSession } from './ort-backend';
import { gatherMlpModel } from './testing/tiny-models';
import { perUserCompute } from './user-row-chunks';

const f32 = (dims: number[], values: number[]) => ({ dtype: 'float32' as const, dims, data: new Float32Array(values) });
const i64 = (values: number[]) => ({ dtype: 'int64' as const, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
const layout: StackingLayout = { mode: 'user_rows', userInputs: ['seq'], indexInput: 'idx' };

/** A model in plain code: output row k = [its user's value, its candidate's value]; records each call's sizes. */
function recordingModel(calls: Array<{ users: number; rows: number }>): BatchCompute {
  return (inputs) => {
    const seq = inputs['seq']!.data as Float32Array;
    const cand = inputs['cand']!.data as Float32Array;
    const idx = inputs['idx']!.data as BigInt64Array;
    calls.push({ users: inputs['seq']!.dims[0]!, rows: idx.length });
    const out = new Float32Array(idx.length * 2);
    idx.forEach((u, k) => out.set([seq[Number(u)]!, cand[k]!], 2 * k));
    return Promise.resolve({ y: f32([idx.length, 2], Array.from(out)) });
  };
}

describe('perUserCompute', () => {
  // Three users; user 1's candidates are interleaved with the others' and number five.
  const batch: TensorMap = { seq: f32([3, 1], [10, 20, 30]), cand: f32([8, 1], [0, 1, 2, 3, 4, 5, 6, 7]), idx: i64([1, 0, 1, 2, 1, 1, 0, 1]) };

  it('runs one user row per call, at most maxRows candidates each, and puts rows back in batch order', async () => {
    const calls: Array<{ users: number; rows: number }> = [];
    const direct = await recordingModel([])(batch);
    const chunked = await perUserCompute(recordingModel(calls), layout, 2)(batch);
    expect(chunked).toEqual(direct);
    expect(calls).toEqual([
      { users: 1, rows: 2 }, // user 0
      { users: 1, rows: 2 }, // user 1, first two of five
      { users: 1, rows: 2 },
      { users: 1, rows: 1 },
      { users: 1, rows: 1 }, // user 2
    ]);
  });

  it('passes through one-user batches within maxRows, other layouts, and indices out of range', async () => {
    const calls: Array<{ users: number; rows: number }> = [];
    const one: TensorMap = { seq: f32([1, 1], [5]), cand: f32([3, 1], [1, 2, 3]), idx: i64([0, 0, 0]) };
    await perUserCompute(recordingModel(calls), layout, 3)(one);
    await perUserCompute(recordingModel(calls), { mode: 'concat', userInputs: [] }, 1)(batch);
    await expect(perUserCompute(recordingModel(calls), layout, 1)({ ...one, idx: i64([0, 4, 0]) })).resolves.toBeDefined();
    expect(calls.map((c) => c.rows)).toEqual([3, 8, 3]);
    expect(() => perUserCompute(recordingModel(calls), layout, 0)).toThrow(TypeError);
  });

  it('gives a real user_rows ONNX model the same outputs as one stacked call', async () => {
    const d = 4;
    const session = await OrtModelSession.create(gatherMlpModel(d, 8, 3), { label: 'gather_mlp', executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1 });
    const users = 3;
    const n = 7;
    const inputs: TensorMap = {
      seq: f32([users, 5, d], Array.from({ length: users * 5 * d }, (_, i) => Math.sin(i))),
      cand: f32([n, d], Array.from({ length: n * d }, (_, i) => Math.cos(i))),
      cand_user_idx: i64([2, 0, 1, 1, 2, 0, 2]),
    };
    const run: BatchCompute = (x) => session.run(x);
    const gatherLayout: StackingLayout = { mode: 'user_rows', userInputs: ['seq'], indexInput: 'cand_user_idx' };
    const direct = await run(inputs);
    const chunked = await perUserCompute(run, gatherLayout, 2)(inputs);
    await session.release();
    expect(chunked['encoded']!.dims).toEqual([n, 3]);
    const a = direct['encoded']!.data as Float32Array;
    const b = chunked['encoded']!.data as Float32Array;
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThanOrEqual(1e-6);
  });
});
