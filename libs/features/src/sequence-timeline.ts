import { newestFirst, resolveSequenceOptions, fillSequence } from './sequence-builder';
import type { BuiltSequence, SequenceAction, SequenceOptions } from './sequence-types';

/**
 * One user's whole action log prepared once, so sequences as of many request
 * times (every impression of a training log) cost a binary search and a copy
 * each. `at(t)` returns exactly what buildSequence over the same log gives.
 */
export class SequenceTimeline {
  /** Eligible, de-duplicated actions, oldest first. */
  private readonly ascending: SequenceAction[];

  constructor(
    actions: Iterable<SequenceAction>,
    private readonly opts: Omit<SequenceOptions, 'asOfMs'> = {},
  ) {
    const include = resolveSequenceOptions({ ...opts, asOfMs: 0 }).includeTypes;
    const seen = new Set<string>();
    const kept: SequenceAction[] = [];
    for (const a of actions) {
      if (!include.has(a.actionType) || seen.has(a.actionId)) continue;
      seen.add(a.actionId);
      kept.push(a);
    }
    this.ascending = kept.sort(newestFirst).reverse();
  }

  /** A timeline of this log plus `extra` actions (same options; duplicates of existing ids are dropped). */
  with(extra: Iterable<SequenceAction>): SequenceTimeline {
    return new SequenceTimeline([...this.ascending, ...extra], this.opts);
  }

  /** Number of eligible actions in the whole log. */
  get size(): number {
    return this.ascending.length;
  }

  /** The sequence as of `asOfMs`. */
  at(asOfMs: number): BuiltSequence {
    const o = resolveSequenceOptions({ ...this.opts, asOfMs });
    // first index whose timestamp is > asOf
    let lo = 0;
    let hi = this.ascending.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ascending[mid] as SequenceAction).timestampMs <= asOfMs) lo = mid + 1;
      else hi = mid;
    }
    const rows: SequenceAction[] = [];
    for (let i = lo - 1; i >= 0 && rows.length < o.maxLen; i--) rows.push(this.ascending[i] as SequenceAction);
    return fillSequence(rows, o);
  }
}
