import { ActionType } from '@pinrank/proto';

/** Content vector width of every sequence row (the PinSage stand-in). */
export const CONTENT_DIMENSION = 32;
/** Sequence length the ranker serves by default (TransAct: the 100 most recent actions). */
export const DEFAULT_SEQUENCE_LENGTH = 100;
/** Longest sequence a caller may ask for. */
export const MAX_SEQUENCE_LENGTH = 1000;
/** Action type id used for padded rows (the proto's unspecified value). */
export const PADDING_ACTION_TYPE = 0;
/** Age written into padded rows; any negative age is masked by the encoder. */
export const PADDING_AGE_S = -1;

/**
 * Action types that enter the sequence by default: engagements and hides.
 * Bare impressions are excluded (as in the published system).
 */
export const DEFAULT_SEQUENCE_TYPES: ReadonlySet<number> = new Set([
  ActionType.ACTION_TYPE_CLICK,
  ActionType.ACTION_TYPE_SAVE,
  ActionType.ACTION_TYPE_CLOSEUP,
  ActionType.ACTION_TYPE_HIDE,
]);

/** One stored action with its content vector captured at ingest. */
export interface SequenceAction {
  /** Unique id; later copies with the same id are duplicates. */
  actionId: string;
  /** The item acted upon. */
  itemId: string;
  /** Proto ActionType number. */
  actionType: number;
  /** Epoch milliseconds. */
  timestampMs: number;
  /** Proto Surface number. */
  surface: number;
  /** Dwell time in ms (0 when unknown). */
  durationMs: number;
  /** The item's content vector (CONTENT_DIMENSION values; zeros when the item was unknown). */
  vector: Float32Array;
}

/** Options of buildSequence; only `asOfMs` is required. */
export interface SequenceOptions {
  /** Request time (epoch ms): later actions are excluded, ages are relative to it. */
  asOfMs: number;
  /** Rows S of the output (default 100, at most 1000). */
  maxLen?: number;
  /** Content vector width D (default 32). */
  dimension?: number;
  /** Action types that enter the sequence (default DEFAULT_SEQUENCE_TYPES). */
  includeTypes?: ReadonlySet<number>;
}

/** A sequence in the transact_encoder input contract for one user row. */
export interface BuiltSequence {
  /** Real rows (the rest is padding). */
  length: number;
  /** S. */
  maxLen: number;
  /** D. */
  dimension: number;
  /** The actions behind the real rows, newest first. */
  rows: SequenceAction[];
  /** `seq_action_types` row: S values, 0 = padding. */
  actionTypes: BigInt64Array;
  /** `seq_item_vectors` row: S×D values, zeros for padding. */
  itemVectors: Float32Array;
  /** `seq_ages_s` row: S values, seconds before asOf (computed in float64), -1 for padding. */
  agesS: Float32Array;
}
