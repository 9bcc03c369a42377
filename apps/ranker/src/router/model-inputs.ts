import { DENSE_FEATURES, denseFeatureRows } from '@pinrank/features';
import { type HostTensor } from '@pinrank/inference';
import { type TowerVectors } from './embedding-lookups';
import { type Popularity } from './popularity';
import { type SequenceMode } from './router-options';
import { type UserSequence } from './sequence';

// The tensors the router sends to the ranking models, built from what the
// lookups returned; widths come from the data, which the model configs fixed.

/** Named model inputs, in the order they are sent. */
export type NamedTensors = Array<[string, HostTensor]>;

/**
 * transact_encoder inputs for `n` candidates with content vectors `cand`
 * ([n, width]). "dedup" sends the sequence once ([1,S], every candidate
 * pointing at row 0); "per_candidate" copies it per candidate ([n,S]) — the
 * layout de-duplication avoids.
 */
export function encoderInputs(seq: UserSequence, cand: Float32Array, n: number, mode: SequenceMode): NamedTensors {
  const { S, width: D } = seq;
  const candidates: [string, HostTensor] = ['cand_vectors', { dtype: 'float32', dims: [n, D], data: cand }];
  if (mode === 'dedup') {
    return [
      ['seq_action_types', { dtype: 'int64', dims: [1, S], data: seq.actionTypes }],
      ['seq_item_vectors', { dtype: 'float32', dims: [1, S, D], data: seq.itemVectors }],
      ['seq_ages_s', { dtype: 'float32', dims: [1, S], data: seq.agesS }],
      ['cand_user_idx', { dtype: 'int64', dims: [n], data: new BigInt64Array(n) }],
      candidates,
    ];
  }
  const types = new BigInt64Array(n * S);
  const vectors = new Float32Array(n * S * D);
  const ages = new Float32Array(n * S);
  const idx = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    types.set(seq.actionTypes, i * S);
    vectors.set(seq.itemVectors, i * S * D);
    ages.set(seq.agesS, i * S);
    idx[i] = BigInt(i);
  }
  return [
    ['seq_action_types', { dtype: 'int64', dims: [n, S], data: types }],
    ['seq_item_vectors', { dtype: 'float32', dims: [n, S, D], data: vectors }],
    ['seq_ages_s', { dtype: 'float32', dims: [n, S], data: ages }],
    ['cand_user_idx', { dtype: 'int64', dims: [n], data: idx }],
    candidates,
  ];
}

/**
 * The PinnerFormer and dense inputs of the heads (`user_pf`, `item_pf`,
 * `dense_features`) for `itemIds`, every one of which has a tower vector.
 * The dense rows are `@pinrank/features`' definition, the one training uses.
 */
export function headsFeatureInputs(itemIds: readonly string[], tower: TowerVectors, seq: UserSequence, popularity: Popularity): NamedTensors {
  const n = itemIds.length;
  const P = tower.user.length;
  const itemPf = new Float32Array(n * P);
  const userPf = new Float32Array(n * P);
  itemIds.forEach((id, k) => {
    const row = tower.rowOf.get(id);
    if (row === undefined) throw new Error(`no tower vector for ${id}`);
    itemPf.set(tower.vectors.subarray(row * P, (row + 1) * P), k * P);
    userPf.set(tower.user, k * P);
  });
  const dense = denseFeatureRows(itemIds.map((id) => popularity.get(id)), seq, tower.userMissing);
  return [
    ['user_pf', { dtype: 'float32', dims: [n, P], data: userPf }],
    ['item_pf', { dtype: 'float32', dims: [n, P], data: itemPf }],
    ['dense_features', { dtype: 'float32', dims: [n, DENSE_FEATURES], data: dense }],
  ];
}

/** Rows `rows` of a row-major [*, width] matrix, in that order. */
export function gatherRows(m: Float32Array, rows: readonly number[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, k) => out.set(m.subarray(r * width, (r + 1) * width), k * width));
  return out;
}
