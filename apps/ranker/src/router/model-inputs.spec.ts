import { DENSE_FEATURES, denseFeatureRows } from '@pinrank/features';
import { type TowerVectors } from './embedding-lookups';
import { encoderInputs, gatherRows, headsFeatureInputs } from './model-inputs';
import { Popularity } from './popularity';
import { emptySequence, type UserSequence } from './sequence';

const seq: UserSequence = { ...emptySequence(3, 2), length: 2, actionTypes: new BigInt64Array([2n, 5n, 0n]), itemVectors: new Float32Array([1, 2, 3, 4, 0, 0]), agesS: new Float32Array([7200, 9000, -1]) };
const dims = (t: ReturnType<typeof encoderInputs>): Record<string, number[]> => Object.fromEntries(t.map(([n, x]) => [n, [...x.dims]]));
const int64 = (t: ReturnType<typeof encoderInputs>, name: string): bigint[] => Array.from((t.find(([n]) => n === name)?.[1].data ?? new BigInt64Array()) as BigInt64Array);

describe('encoder inputs', () => {
  const cand = new Float32Array([9, 9, 8, 8]);

  it('sends the sequence once, every candidate pointing at user row 0 (dedup)', () => {
    const t = encoderInputs(seq, cand, 2, 'dedup');
    expect(dims(t)).toEqual({ seq_action_types: [1, 3], seq_item_vectors: [1, 3, 2], seq_ages_s: [1, 3], cand_user_idx: [2], cand_vectors: [2, 2] });
    expect(int64(t, 'cand_user_idx')).toEqual([0n, 0n]);
  });

  it('copies the sequence per candidate in per_candidate mode', () => {
    const t = encoderInputs(seq, cand, 2, 'per_candidate');
    expect(dims(t)).toMatchObject({ seq_action_types: [2, 3], seq_item_vectors: [2, 3, 2], cand_user_idx: [2] });
    expect(int64(t, 'seq_action_types')).toEqual([2n, 5n, 0n, 2n, 5n, 0n]);
    expect(int64(t, 'cand_user_idx')).toEqual([0n, 1n]);
  });
});

describe('heads feature inputs', () => {
  const tower: TowerVectors = {
    rowOf: new Map([
      ['a', 0],
      ['b', 1],
    ]),
    vectors: new Float32Array([1, 1, 2, 2]),
    user: new Float32Array([0.5, -0.5]),
    userMissing: false,
    snapshotVersion: 's',
  };
  const popularity = Popularity.fromEntries([['a', 3], ['b', 40]], 10);

  it('repeats the user vector, gathers item rows in candidate order, and builds the dense rows of @pinrank/features', () => {
    const t = Object.fromEntries(headsFeatureInputs(['b', 'a'], tower, seq, popularity));
    expect(t['user_pf']).toMatchObject({ dims: [2, 2], data: new Float32Array([0.5, -0.5, 0.5, -0.5]) });
    expect(t['item_pf']).toMatchObject({ dims: [2, 2], data: new Float32Array([2, 2, 1, 1]) });
    // Serving builds the rows training builds (tools/train serving-parity.spec.ts checks the other side).
    expect(t['dense_features']).toEqual({ dtype: 'float32', dims: [2, DENSE_FEATURES], data: denseFeatureRows([40, 3], seq, false) });
  });

  it('refuses a candidate without a tower vector (the pipeline drops those first)', () => {
    expect(() => headsFeatureInputs(['z'], tower, seq, popularity)).toThrow('no tower vector for z');
  });

  it('gathers rows of a matrix', () => {
    expect(Array.from(gatherRows(new Float32Array([1, 1, 2, 2, 3, 3]), [2, 0], 2))).toEqual([3, 3, 1, 1]);
  });
});
