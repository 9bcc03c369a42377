// The `dense_features` input of ranking_heads and ranking_heads_lite, defined
// once for serving (the router) and training (tools/train): both build every
// row with `writeDenseRows`, from the serving-length realtime sequence.

/** Column names of `dense_features`, in order (docs/models.md, ranking_heads). */
export const DENSE_FEATURE_NAMES = ['log1p_popularity', 'sequence_fill', 'log1p_hours_since_newest', 'user_vector_missing'] as const;

/** Columns of `dense_features`; a heads model whose config declares another width is refused. */
export const DENSE_FEATURES = DENSE_FEATURE_NAMES.length;

/** Sequence length that `sequence_fill` divides by (the published TransAct length). */
export const SEQUENCE_FILL_SCALE = 100;

/** What the dense features read of a user's realtime sequence: real rows and their ages, newest first. */
export interface DenseSequenceView {
  /** Real (non-padded) rows. */
  readonly length: number;
  /** Seconds before the request per row, newest first; row 0 is the newest action. */
  readonly agesS: ArrayLike<number>;
}

/** The per-user columns of a row, the same for every candidate of one request. */
export interface DenseUserColumns {
  sequenceFill: number;
  log1pHoursSinceNewest: number;
  userVectorMissing: number;
}

/** The per-user columns: sequence length / 100, log1p(hours since the newest action), 1 when the user has no PinnerFormer vector. */
export function denseUserColumns(sequence: DenseSequenceView, userVectorMissing: boolean): DenseUserColumns {
  const newestAgeS = sequence.length > 0 ? (sequence.agesS[0] ?? 0) : 0;
  return {
    sequenceFill: sequence.length / SEQUENCE_FILL_SCALE,
    log1pHoursSinceNewest: Math.log1p(newestAgeS > 0 ? newestAgeS / 3600 : 0),
    userVectorMissing: userVectorMissing ? 1 : 0,
  };
}

/**
 * Writes one row per candidate into `out` (row-major, DENSE_FEATURES columns)
 * starting at row `firstRow`: log1p(max(0, popularity)) and the user's columns.
 */
export function writeDenseRows(out: Float32Array, firstRow: number, popularity: ArrayLike<number>, user: DenseUserColumns): void {
  for (let i = 0; i < popularity.length; i++) {
    const at = (firstRow + i) * DENSE_FEATURES;
    out[at] = Math.log1p(Math.max(0, popularity[i] ?? 0));
    out[at + 1] = user.sequenceFill;
    out[at + 2] = user.log1pHoursSinceNewest;
    out[at + 3] = user.userVectorMissing;
  }
}

/** `dense_features` [n, DENSE_FEATURES] for the n candidates of one user (the candidates' popularity in order). */
export function denseFeatureRows(popularity: ArrayLike<number>, sequence: DenseSequenceView, userVectorMissing: boolean): Float32Array {
  const out = new Float32Array(popularity.length * DENSE_FEATURES);
  writeDenseRows(out, 0, popularity, denseUserColumns(sequence, userVectorMissing));
  return out;
}
