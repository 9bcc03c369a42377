import { ActionType, type RealtimeSequence } from '@pinrank/proto';
import { floatTensor, int64Tensor, TensorShapeError, type RouterTensor } from './tensors';

/** Content-vector dimension of sequence rows and candidates (the encoder contract). */
export const D_CONTENT = 32;

/** One user's realtime sequence as encoder inputs for one user row (U = 1). */
export interface UserSequence {
  /** Real (non-padded) rows. */
  length: number;
  /** Padded length S. */
  S: number;
  /** [1, S] action types, 0 = padding. */
  actionTypes: BigInt64Array;
  /** [1, S, 32] content vectors. */
  itemVectors: Float32Array;
  /** [1, S] ages in seconds, -1 for padding. */
  agesS: Float32Array;
  /** Items the user saved or hid (from the stored records, when they were asked for). */
  savedOrHidden: string[];
}

/** The sequence of a user with no usable actions: every row padding. */
export function emptySequence(S: number): UserSequence {
  return {
    length: 0,
    S,
    actionTypes: new BigInt64Array(S),
    itemVectors: new Float32Array(S * D_CONTENT),
    agesS: new Float32Array(S).fill(-1),
    savedOrHidden: [],
  };
}

/** Checks a feature-server RealtimeSequence against the encoder contract and unpacks it. Throws TensorShapeError. */
export function sequenceFromProto(seq: RealtimeSequence): UserSequence {
  const types = int64Tensor(seq.actionTypes, 'action_types');
  const S = types.dims[1] ?? 0;
  if (types.dims.length !== 2 || types.dims[0] !== 1 || S < 1) throw new TensorShapeError(`action_types: shape [${types.dims.join(',')}] is not [1,S]`);
  const vectors = floatTensor(seq.itemVectors, 'item_vectors');
  if (vectors.dims.join(',') !== `1,${S},${D_CONTENT}`) throw new TensorShapeError(`item_vectors: shape [${vectors.dims.join(',')}] is not [1,${S},${D_CONTENT}]`);
  const ages = floatTensor(seq.agesS, 'ages_s');
  if (ages.dims.join(',') !== `1,${S}`) throw new TensorShapeError(`ages_s: shape [${ages.dims.join(',')}] is not [1,${S}]`);
  const savedOrHidden: string[] = [];
  for (const r of seq.records) {
    const a = r.action;
    if (a && (a.actionType === ActionType.ACTION_TYPE_SAVE || a.actionType === ActionType.ACTION_TYPE_HIDE)) savedOrHidden.push(a.itemId);
  }
  return { length: seq.length, S, actionTypes: types.data, itemVectors: vectors.data, agesS: ages.data, savedOrHidden };
}

/** Hours since the newest real action (row 0, newest first); 0 for an empty sequence. */
export function hoursSinceNewest(seq: UserSequence): number {
  if (seq.length === 0) return 0;
  const age = seq.agesS[0] ?? 0;
  return age > 0 ? age / 3600 : 0;
}

/**
 * The sequence inputs of the encoder for `n` candidates. "dedup" sends the
 * sequence once ([1,S], every candidate pointing at row 0); "per_candidate"
 * copies it per candidate ([n,S]) — the layout de-duplication avoids.
 */
export function sequenceInputs(seq: UserSequence, n: number, mode: 'dedup' | 'per_candidate'): Array<[string, RouterTensor]> {
  const S = seq.S;
  if (mode === 'dedup') {
    return [
      ['seq_action_types', { dtype: 'int64', dims: [1, S], data: seq.actionTypes }],
      ['seq_item_vectors', { dtype: 'float32', dims: [1, S, D_CONTENT], data: seq.itemVectors }],
      ['seq_ages_s', { dtype: 'float32', dims: [1, S], data: seq.agesS }],
      ['cand_user_idx', { dtype: 'int64', dims: [n], data: new BigInt64Array(n) }],
    ];
  }
  const types = new BigInt64Array(n * S);
  const vectors = new Float32Array(n * S * D_CONTENT);
  const ages = new Float32Array(n * S);
  const idx = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    types.set(seq.actionTypes, i * S);
    vectors.set(seq.itemVectors, i * S * D_CONTENT);
    ages.set(seq.agesS, i * S);
    idx[i] = BigInt(i);
  }
  return [
    ['seq_action_types', { dtype: 'int64', dims: [n, S], data: types }],
    ['seq_item_vectors', { dtype: 'float32', dims: [n, S, D_CONTENT], data: vectors }],
    ['seq_ages_s', { dtype: 'float32', dims: [n, S], data: ages }],
    ['cand_user_idx', { dtype: 'int64', dims: [n], data: idx }],
  ];
}
