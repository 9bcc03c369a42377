import {
  CONTENT_DIMENSION,
  DEFAULT_SEQUENCE_LENGTH,
  DEFAULT_SEQUENCE_TYPES,
  MAX_SEQUENCE_LENGTH,
  type BuiltSequence,
  type SequenceAction,
  type SequenceOptions,
} from './sequence-types';
import { SequenceWriter } from './sequence-writer';

/** Resolved options with every default filled in (one place). */
export interface ResolvedSequenceOptions {
  asOfMs: number;
  maxLen: number;
  dimension: number;
  includeTypes: ReadonlySet<number>;
}

/** Fills defaults and validates. Thrown by: a non-integer or out-of-range maxLen/dimension, a non-finite asOf (RangeError). */
export function resolveSequenceOptions(opts: SequenceOptions): ResolvedSequenceOptions {
  const maxLen = opts.maxLen ?? DEFAULT_SEQUENCE_LENGTH;
  const dimension = opts.dimension ?? CONTENT_DIMENSION;
  if (!Number.isInteger(maxLen) || maxLen < 1 || maxLen > MAX_SEQUENCE_LENGTH)
    throw new RangeError(`maxLen must be an integer in 1..${MAX_SEQUENCE_LENGTH}, got ${maxLen}`);
  if (!Number.isInteger(dimension) || dimension < 1) throw new RangeError(`dimension must be an integer >= 1, got ${dimension}`);
  if (!Number.isFinite(opts.asOfMs)) throw new RangeError(`asOfMs must be a finite epoch-ms value, got ${opts.asOfMs}`);
  return { asOfMs: opts.asOfMs, maxLen, dimension, includeTypes: opts.includeTypes ?? DEFAULT_SEQUENCE_TYPES };
}

/** Newest first; equal timestamps ordered by action id (descending) so the order never depends on arrival. */
export function newestFirst(a: SequenceAction, b: SequenceAction): number {
  if (a.timestampMs !== b.timestampMs) return b.timestampMs - a.timestampMs;
  return a.actionId < b.actionId ? 1 : a.actionId > b.actionId ? -1 : 0;
}

/**
 * Builds one user's realtime sequence as of a request time: keeps the action
 * types that enter the sequence, drops actions after `asOfMs` and duplicate
 * action ids, orders newest first, truncates to S, pads, and computes ages in
 * float64 before storing them as float32. Used by feature-server at serving
 * time and by training on logs, so both see identical tensors.
 */
export function buildSequence(actions: Iterable<SequenceAction>, opts: SequenceOptions): BuiltSequence {
  const o = resolveSequenceOptions(opts);
  const seen = new Set<string>();
  const kept: SequenceAction[] = [];
  for (const a of actions) {
    if (!o.includeTypes.has(a.actionType) || a.timestampMs > o.asOfMs || seen.has(a.actionId)) continue;
    seen.add(a.actionId);
    kept.push(a);
  }
  kept.sort(newestFirst);
  return fillSequence(kept.slice(0, o.maxLen), o);
}

/** Writes already ordered rows (newest first, at most S) into padded tensors. */
export function fillSequence(rows: SequenceAction[], o: ResolvedSequenceOptions): BuiltSequence {
  const writer = new SequenceWriter(o);
  for (const a of rows) writer.push(a.actionId, a.actionType, a.timestampMs, a.vector);
  return writer.built(rows);
}
