import { type BuiltSequence, stackSequences } from '@pinrank/features';
import { ActionType } from '@pinrank/proto';
import { type Feeds } from './model-definition';

/** Action types PinnerFormer learns from by default: positive engagements (not impressions, not hides). */
export const PINNERFORMER_ACTION_TYPES: ReadonlySet<number> = new Set([
  ActionType.ACTION_TYPE_CLICK,
  ActionType.ACTION_TYPE_SAVE,
  ActionType.ACTION_TYPE_CLOSEUP,
]);

/**
 * pinnerformer inputs from sequences built by `@pinrank/features`
 * (`buildSequence` with `maxLen` M, the PinnerFormer action types and the
 * embedding time as `asOfMs`). Thrown by: an empty list or sequences of
 * different shapes (RangeError).
 */
export function pinnerformerFeeds(sequences: readonly BuiltSequence[]): Feeds {
  const stacked = stackSequences(sequences);
  const { users, maxLen } = stacked;
  const surfaces = new BigInt64Array(users * maxLen);
  const logDurations = new Float32Array(users * maxLen);
  sequences.forEach((s, u) =>
    s.rows.forEach((a, i) => {
      surfaces[u * maxLen + i] = BigInt(a.surface);
      logDurations[u * maxLen + i] = Math.log1p(Math.max(0, a.durationMs) / 1000);
    }),
  );
  return {
    action_types: { dtype: 'int64', shape: [users, maxLen], data: stacked.actionTypes },
    item_vectors: { dtype: 'float32', shape: [users, maxLen, stacked.dimension], data: stacked.itemVectors },
    surfaces: { dtype: 'int64', shape: [users, maxLen], data: surfaces },
    log_durations: { dtype: 'float32', shape: [users, maxLen], data: logDurations },
    ages_s: { dtype: 'float32', shape: [users, maxLen], data: stacked.agesS },
  };
}

/** Candidates of a transact_encoder call: content vectors (N×D, row-major) and each one's user row. */
export interface TransactCandidates {
  vectors: Float32Array;
  userIdx: ArrayLike<number>;
}

/**
 * transact_encoder inputs: the users' realtime sequences stacked as user rows
 * and the candidates with their user rows. Thrown by: sequences of different
 * shapes, a vector array that is not N×D, or a user row out of range (RangeError).
 */
export function transactFeeds(sequences: readonly BuiltSequence[], candidates: TransactCandidates): Feeds {
  const stacked = stackSequences(sequences);
  const { users, maxLen, dimension } = stacked;
  const n = candidates.userIdx.length;
  if (candidates.vectors.length !== n * dimension)
    throw new RangeError(`candidate vectors hold ${candidates.vectors.length} values, expected ${n}×${dimension}`);
  const idx = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const u = candidates.userIdx[i]!;
    if (!Number.isInteger(u) || u < 0 || u >= users) throw new RangeError(`candidate ${i}: user row ${u} is not in 0..${users - 1}`);
    idx[i] = BigInt(u);
  }
  return {
    seq_action_types: { dtype: 'int64', shape: [users, maxLen], data: stacked.actionTypes },
    seq_item_vectors: { dtype: 'float32', shape: [users, maxLen, dimension], data: stacked.itemVectors },
    seq_ages_s: { dtype: 'float32', shape: [users, maxLen], data: stacked.agesS },
    cand_vectors: { dtype: 'float32', shape: [n, dimension], data: candidates.vectors },
    cand_user_idx: { dtype: 'int64', shape: [n], data: idx },
  };
}
