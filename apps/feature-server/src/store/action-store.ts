import { type SequenceWriter } from '@pinrank/features';
import { type StoredRecord } from './stored-record';

/**
 * How many actions a store keeps per user. Sequence actions (the types that enter
 * the TransAct sequence) and other actions (bare impressions by default) are capped
 * separately, so a flood of impressions can never push engagements out of the window.
 */
export interface RetentionPolicy {
  /** Action types that enter the sequence; they count against `maxSequenceActions`. */
  sequenceTypes: ReadonlySet<number>;
  /** Newest sequence actions kept per user. */
  maxSequenceActions: number;
  /** Newest other actions (e.g. impressions) kept per user. */
  maxOtherActions: number;
}

/**
 * What happened to each record of one `append` call, in input order: stored; dropped as a
 * duplicate (user, action id); or `expired`: older than everything the user's full retention
 * window keeps (typically a redelivery of an action already trimmed), so not stored.
 */
export type AppendOutcome = 'accepted' | 'duplicate' | 'expired';

/** The part of a user's sequence actions one read needs: the newest `limit` at or before `asOfMs`. */
export interface SequenceWindow {
  asOfMs: number;
  limit: number;
}

/** A per-user store of recent enriched actions. Every implementation is safe to share between replicas of its backend. */
export interface ActionStore {
  /**
   * Stores records (any users, any order). A record whose (user, action id) is already
   * stored is a duplicate. Resolves only once the accepted records are durable and visible.
   */
  append(records: readonly StoredRecord[]): Promise<AppendOutcome[]>;
  /**
   * The user's stored sequence actions (any order); empty for an unknown user.
   * With a window, only the newest `window.limit` of those at or before
   * `window.asOfMs` (any order): what a sequence of that length needs.
   */
  readSequence(userId: string, window?: SequenceWindow): Promise<StoredRecord[]>;
  /**
   * Optional fast path of a windowed `readSequence`: writes the window's rows,
   * newest first, straight into `into` (no decoded records; see
   * sequence-rows.ts). Returns (or resolves to) false, with `into` spoiled,
   * when the rows might differ from what buildSequence makes of the records
   * `readSequence` returns (e.g. an action type outside `includeTypes`); the
   * caller then reads the ordinary way. A store that reads synchronously
   * (LMDB) answers at once.
   */
  readSequenceInto?(userId: string, window: SequenceWindow, into: SequenceWriter, includeTypes: ReadonlySet<number>): boolean | Promise<boolean>;
  /** `readSequence` for many users, in request order. */
  readSequences(userIds: readonly string[], window?: SequenceWindow): Promise<StoredRecord[][]>;
  /** Removes every stored action of the user; resolves to how many were removed. */
  deleteUser(userId: string): Promise<number>;
  /** Releases the backend's resources. */
  close(): Promise<void>;
}

/** Class of an action under a retention policy: 1 = sequence action, 0 = other. */
export function retentionClass(policy: RetentionPolicy, actionType: number): 0 | 1 {
  return policy.sequenceTypes.has(actionType) ? 1 : 0;
}

/** Checks a retention policy; throws TypeError naming the bad field. */
export function validateRetention(policy: RetentionPolicy): RetentionPolicy {
  for (const key of ['maxSequenceActions', 'maxOtherActions'] as const) {
    const v = policy[key];
    if (!Number.isInteger(v) || v < 1 || v > 100_000) throw new TypeError(`retention.${key}: must be an integer in 1..100000, got ${v}`);
  }
  if (policy.sequenceTypes.size === 0) throw new TypeError('retention.sequenceTypes: must name at least one action type');
  return policy;
}
