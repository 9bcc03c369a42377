import { decodeTensorMessage } from '@pinrank/inference';
import { ActionType, type RealtimeSequence } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';

/** One user's realtime sequence as encoder inputs for one user row (U = 1). */
export interface UserSequence {
  /** Real (non-padded) rows. */
  length: number;
  /** Padded length S. */
  S: number;
  /** Content vector width D of each row (the encoder config's). */
  width: number;
  /** [1, S] action types, 0 = padding. */
  actionTypes: BigInt64Array;
  /** [1, S, D] content vectors. */
  itemVectors: Float32Array;
  /** [1, S] ages in seconds, -1 for padding. */
  agesS: Float32Array;
  /** Items the user saved or hid (from the stored records, when they were asked for). */
  savedOrHidden: string[];
}

/** The sequence of a user with no usable actions: every row padding. */
export function emptySequence(S: number, width: number): UserSequence {
  return {
    length: 0,
    S,
    width,
    actionTypes: new BigInt64Array(S),
    itemVectors: new Float32Array(S * width),
    agesS: new Float32Array(S).fill(-1),
    savedOrHidden: [],
  };
}

/**
 * Checks a feature-server RealtimeSequence against the encoder contract
 * ([1,S] types and ages, [1,S,width] vectors) and unpacks it.
 * Thrown by: any mismatch — INVALID_ARGUMENT naming the tensor.
 */
export function sequenceFromProto(seq: RealtimeSequence, width: number): UserSequence {
  const types = decodeTensorMessage(seq.actionTypes, 'int64', 'action_types');
  const S = types.dims[1] ?? 0;
  const bad = (message: string): PinrankError => new PinrankError('INVALID_ARGUMENT', message);
  if (types.dims.length !== 2 || types.dims[0] !== 1 || S < 1) throw bad(`action_types: shape [${types.dims.join(',')}] is not [1,S]`);
  const vectors = decodeTensorMessage(seq.itemVectors, 'float32', 'item_vectors');
  if (vectors.dims.join(',') !== `1,${S},${width}`) throw bad(`item_vectors: shape [${vectors.dims.join(',')}] is not [1,${S},${width}]`);
  const ages = decodeTensorMessage(seq.agesS, 'float32', 'ages_s');
  if (ages.dims.join(',') !== `1,${S}`) throw bad(`ages_s: shape [${ages.dims.join(',')}] is not [1,${S}]`);
  if (!Number.isInteger(seq.length) || seq.length < 0 || seq.length > S) throw bad(`length ${seq.length} is outside 0..${S}`);
  const savedOrHidden: string[] = [];
  for (const r of seq.records) {
    const a = r.action;
    if (a && (a.actionType === ActionType.ACTION_TYPE_SAVE || a.actionType === ActionType.ACTION_TYPE_HIDE)) savedOrHidden.push(a.itemId);
  }
  return { length: seq.length, S, width, actionTypes: types.data, itemVectors: vectors.data, agesS: ages.data, savedOrHidden };
}
