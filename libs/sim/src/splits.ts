import { hashParts } from './prng';

/** The span of a world or log that splits are cut from (an `ActionLogHeader` has these fields). */
export interface SplitSpan {
  seed: number;
  users: number;
  startMs: number;
  endMs: number;
}

/** Options of `createSplits`. */
export interface SplitOptions {
  /** The last `evalDays` days of the span are the time-based evaluation window. Default 14. */
  evalDays?: number;
  /** Share of users held out entirely (none of their actions are training data). Default 0.1. */
  heldOutUserFraction?: number;
  /** Changes which users are held out without changing the world. Default 0. */
  salt?: number;
}

/**
 * Where an action belongs: `train` (kept users, before the cutoff), `eval`
 * (kept users, at or after the cutoff) or `heldout` (held-out users, any time).
 */
export type SplitPart = 'train' | 'eval' | 'heldout';

/** Train/eval splits by time and by held-out users. Pure functions of the span and options. */
export interface Splits {
  /** First timestamp of the evaluation window. */
  readonly cutoffMs: number;
  /** The resolved options. */
  readonly options: Required<SplitOptions>;
  /** Whether a user is held out. */
  isHeldOutUser(userIndex: number): boolean;
  /** The part an action of this user at this time belongs to. */
  partOf(userIndex: number, timestampMs: number): SplitPart;
  /** Indices of the held-out users, ascending. */
  heldOutUsers(): number[];
}

const DAY_MS = 86_400_000;

/** Builds the splits of a span. Thrown by: options out of range (RangeError). */
export function createSplits(span: SplitSpan, options: SplitOptions = {}): Splits {
  const o: Required<SplitOptions> = { evalDays: 14, heldOutUserFraction: 0.1, salt: 0, ...stripUndefined(options) };
  const spanDays = (span.endMs - span.startMs) / DAY_MS;
  if (!Number.isFinite(o.evalDays) || o.evalDays <= 0 || o.evalDays >= spanDays)
    throw new RangeError(`evalDays must be > 0 and shorter than the span (${spanDays} days), got ${o.evalDays}`);
  if (!Number.isFinite(o.heldOutUserFraction) || o.heldOutUserFraction < 0 || o.heldOutUserFraction >= 1)
    throw new RangeError(`heldOutUserFraction must be in [0, 1), got ${o.heldOutUserFraction}`);
  if (!Number.isSafeInteger(o.salt) || o.salt < 0) throw new RangeError(`salt must be a safe integer >= 0, got ${o.salt}`);
  const cutoffMs = span.endMs - Math.round(o.evalDays * DAY_MS);
  const threshold = o.heldOutUserFraction * 4294967296;
  const isHeldOutUser = (u: number): boolean => hashParts(span.seed, 'heldout', o.salt, u) < threshold;
  return {
    cutoffMs,
    options: o,
    isHeldOutUser,
    partOf: (u, ts) => (isHeldOutUser(u) ? 'heldout' : ts < cutoffMs ? 'train' : 'eval'),
    heldOutUsers: () => {
      const out: number[] = [];
      for (let u = 0; u < span.users; u++) if (isHeldOutUser(u)) out.push(u);
      return out;
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Keeps the records of one split part from a record stream (e.g. `readActionLog`). */
export async function* filterSplit<T extends { userIndex: number; timestampMs: number }>(
  source: AsyncIterable<T>,
  splits: Splits,
  part: SplitPart,
): AsyncGenerator<T> {
  for await (const rec of source) if (splits.partOf(rec.userIndex, rec.timestampMs) === part) yield rec;
}
