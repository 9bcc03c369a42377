import { PinrankError } from '@pinrank/service-kit';
import { requestRows, splitOutputs, stackInputs, stackKey, type StackingLayout } from './batch-stacking';
import { type TensorMap } from './host-tensor';

const f32 = (dims: number[], values: number[]) => ({ dtype: 'float32' as const, dims, data: new Float32Array(values) });
const i64 = (values: number[]) => ({ dtype: 'int64' as const, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });

const userRows: StackingLayout = { mode: 'user_rows', userInputs: ['seq'], indexInput: 'idx' };

describe('batch stacking', () => {
  it('concatenates every input along axis 0 and splits outputs back', () => {
    const a: TensorMap = { x: f32([1, 2], [1, 2]) };
    const b: TensorMap = { x: f32([2, 2], [3, 4, 5, 6]) };
    const layout: StackingLayout = { mode: 'concat', userInputs: [] };
    expect([requestRows(a, layout), requestRows(b, layout)]).toEqual([1, 2]);
    const stacked = stackInputs([a, b], layout);
    expect(stacked['x']!.dims).toEqual([3, 2]);
    expect(Array.from(stacked['x']!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    const [ra, rb] = splitOutputs({ y: f32([3, 1], [10, 20, 30]) }, [1, 2]);
    expect(ra!['y']).toEqual(f32([1, 1], [10]));
    expect(rb!['y']).toEqual(f32([2, 1], [20, 30]));
  });

  it('stacks user rows and offsets the index input by prior users', () => {
    const r1: TensorMap = { seq: f32([1, 1], [7]), cand: f32([2, 1], [1, 2]), idx: i64([0, 0]) };
    const r2: TensorMap = { seq: f32([2, 1], [8, 9]), cand: f32([3, 1], [3, 4, 5]), idx: i64([1, 0, 1]) };
    expect(requestRows(r2, userRows)).toBe(3);
    const s = stackInputs([r1, r2], userRows);
    expect(s['seq']!.dims).toEqual([3, 1]);
    expect(s['cand']!.dims).toEqual([5, 1]);
    expect(Array.from(s['idx']!.data as BigInt64Array)).toEqual([0n, 0n, 2n, 1n, 2n]);
    // The originals are untouched (requests may be retried elsewhere).
    expect(Array.from(r2['idx']!.data as BigInt64Array)).toEqual([1n, 0n, 1n]);
  });

  it('refuses requests that cannot be stacked or split', () => {
    const bad = (inputs: TensorMap, layout: StackingLayout, text: RegExp) => {
      expect(() => requestRows(inputs, layout)).toThrow(PinrankError);
      expect(() => requestRows(inputs, layout)).toThrow(text);
    };
    bad({ seq: f32([1, 1], [1]), cand: f32([1, 1], [1]), idx: i64([1]) }, userRows, /must name a user row in \[0, 1\)/);
    bad({ seq: f32([1, 1], [1]), cand: f32([2, 1], [1, 2]), idx: i64([0]) }, userRows, /"idx" names 1 rows/);
    bad({ a: f32([1, 1], [1]), b: f32([2, 1], [1, 2]) }, { mode: 'concat', userInputs: [] }, /all inputs must agree/);
    expect(() => splitOutputs({ y: f32([2, 1], [1, 2]) }, [1, 2])).toThrow(/cannot be split/);
  });

  it('keys requests by dtype and trailing dims', () => {
    expect(stackKey({ x: f32([1, 2], [1, 2]) })).toBe(stackKey({ x: f32([3, 2], [1, 2, 3, 4, 5, 6]) }));
    expect(stackKey({ x: f32([1, 2], [1, 2]) })).not.toBe(stackKey({ x: f32([1, 1, 2], [1, 2]) }));
  });
});
