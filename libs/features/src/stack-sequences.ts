import type { BuiltSequence } from './sequence-types';

/** Several users' sequences stacked as user rows: the `[U,S]` / `[U,S,D]` inputs of transact_encoder. */
export interface StackedSequences {
  /** U. */
  users: number;
  /** S. */
  maxLen: number;
  /** D. */
  dimension: number;
  /** `seq_action_types`, U×S. */
  actionTypes: BigInt64Array;
  /** `seq_item_vectors`, U×S×D. */
  itemVectors: Float32Array;
  /** `seq_ages_s`, U×S. */
  agesS: Float32Array;
}

/** Stacks sequences of equal S and D into user rows. Thrown by: an empty list or mismatched shapes (RangeError). */
export function stackSequences(seqs: readonly BuiltSequence[]): StackedSequences {
  const first = seqs[0];
  if (!first) throw new RangeError('stackSequences needs at least one sequence');
  const { maxLen, dimension } = first;
  const users = seqs.length;
  const actionTypes = new BigInt64Array(users * maxLen);
  const itemVectors = new Float32Array(users * maxLen * dimension);
  const agesS = new Float32Array(users * maxLen);
  seqs.forEach((s, u) => {
    if (s.maxLen !== maxLen || s.dimension !== dimension)
      throw new RangeError(`sequence ${u} is [${s.maxLen}, ${s.dimension}], expected [${maxLen}, ${dimension}]`);
    actionTypes.set(s.actionTypes, u * maxLen);
    itemVectors.set(s.itemVectors, u * maxLen * dimension);
    agesS.set(s.agesS, u * maxLen);
  });
  return { users, maxLen, dimension, actionTypes, itemVectors, agesS };
}
