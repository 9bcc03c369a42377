import {
  ACTION,
  affinityOf,
  contextAt,
  createContext,
  outcomeProbabilities,
  sessionIndexAt,
  type AffinityBreakdown,
} from './affinity';
import { parseItemId, parseUserId } from './ids';
import { type World } from './world';

/** Probability of each outcome of one impression (they sum to 1). */
export interface ActionProbabilities {
  impression: number;
  click: number;
  save: number;
  closeup: number;
  hide: number;
}

/** The ground truth of one (user, time, item): the affinity and its outcome probabilities. */
export interface GroundTruth extends AffinityBreakdown {
  probabilities: ActionProbabilities;
}

/** What the user is after at one moment. */
export interface IntentState {
  /** The latest session's intent topics (empty before the first session). */
  topics: number[];
  /** 1 inside a session, halving every `intentHalfLifeMin` after it, 0 before the first. */
  strength: number;
  /** Index of that session in the user's timeline, or -1. */
  sessionIndex: number;
}

/**
 * Answers the ground truth for any (user, time, item), for oracle metrics
 * and for sampling reactions. The log was drawn from exactly these
 * probabilities. Times after the world's end are answered too (sessions are
 * planned `PLAN_AHEAD_DAYS` further).
 */
export class AffinityOracle {
  private readonly probs = new Float64Array(6);
  private readonly breakdown: AffinityBreakdown = { longTerm: 0, session: 0, popularityZ: 0, dislike: 0, score: 0 };

  /** Wraps a world. */
  constructor(readonly world: World) {}

  /** Ground truth by string ids. Thrown by: an id outside the world (RangeError). */
  affinity(userId: string, timeMs: number, itemId: string): GroundTruth {
    const u = this.userIndex(userId);
    const i = this.itemIndex(itemId);
    const a = this.breakdownOf(u, timeMs, i);
    const p = outcomeProbabilities(this.world.options.affinity, a, this.probs);
    return {
      ...a,
      probabilities: {
        impression: p[ACTION.IMPRESSION] as number,
        click: p[ACTION.CLICK] as number,
        save: p[ACTION.SAVE] as number,
        closeup: p[ACTION.CLOSEUP] as number,
        hide: p[ACTION.HIDE] as number,
      },
    };
  }

  /** Affinity scores of many items for one user at one time (fast path for oracle rankings). */
  scores(userIndex: number, timeMs: number, itemIndices: ArrayLike<number>, out = new Float64Array(itemIndices.length)): Float64Array {
    const tl = this.world.timeline(userIndex);
    const ctx = contextAt(this.world.options, tl, timeMs, createContext(tl));
    for (let k = 0; k < itemIndices.length; k++) {
      out[k] = affinityOf(this.world.items, this.world.options.affinity, ctx, this.checkItem(itemIndices[k] as number), this.breakdown).score;
    }
    return out;
  }

  /**
   * Affinity scores of many items from the long-term profile alone (as of
   * `timeMs`, drifted) plus popularity and dislikes: `scores` with the session
   * intent left out, i.e. what a perfect long-term user profile knows.
   */
  longTermScores(userIndex: number, timeMs: number, itemIndices: ArrayLike<number>, out = new Float64Array(itemIndices.length)): Float64Array {
    const tl = this.world.timeline(userIndex);
    const ctx = contextAt(this.world.options, tl, timeMs, createContext(tl));
    ctx.intentStrength = 0;
    for (let k = 0; k < itemIndices.length; k++) {
      out[k] = affinityOf(this.world.items, this.world.options.affinity, ctx, this.checkItem(itemIndices[k] as number), this.breakdown).score;
    }
    return out;
  }

  /** Probability of `actionType` (proto number) for many items, for one user at one time. */
  probabilityOf(
    actionType: number,
    userIndex: number,
    timeMs: number,
    itemIndices: ArrayLike<number>,
    out = new Float64Array(itemIndices.length),
  ): Float64Array {
    if (!Number.isInteger(actionType) || actionType < ACTION.IMPRESSION || actionType > ACTION.HIDE)
      throw new RangeError(`actionType must be a proto ActionType in 1..5, got ${actionType}`);
    const tl = this.world.timeline(userIndex);
    const ctx = contextAt(this.world.options, tl, timeMs, createContext(tl));
    for (let k = 0; k < itemIndices.length; k++) {
      affinityOf(this.world.items, this.world.options.affinity, ctx, this.checkItem(itemIndices[k] as number), this.breakdown);
      out[k] = outcomeProbabilities(this.world.options.affinity, this.breakdown, this.probs)[actionType] as number;
    }
    return out;
  }

  /** The user's intent at `timeMs`. */
  intentAt(userIndex: number, timeMs: number): IntentState {
    const tl = this.world.timeline(userIndex);
    const s = sessionIndexAt(tl, timeMs);
    const ctx = contextAt(this.world.options, tl, timeMs, createContext(tl));
    return {
      topics: Array.from(ctx.intentTopics).filter((t) => t >= 0),
      strength: ctx.intentStrength,
      sessionIndex: s,
    };
  }

  /** The affinity breakdown for indices (shared by the responder). */
  breakdownOf(userIndex: number, timeMs: number, itemIndex: number): AffinityBreakdown {
    if (!Number.isFinite(timeMs)) throw new RangeError(`timeMs must be finite, got ${timeMs}`);
    const tl = this.world.timeline(userIndex);
    const ctx = contextAt(this.world.options, tl, timeMs, createContext(tl));
    return affinityOf(this.world.items, this.world.options.affinity, ctx, this.checkItem(itemIndex), {
      longTerm: 0,
      session: 0,
      popularityZ: 0,
      dislike: 0,
      score: 0,
    });
  }

  /** The index of a user id. Thrown by: an id outside the world (RangeError). */
  userIndex(userId: string): number {
    const u = parseUserId(userId, this.world.options.users);
    if (u < 0) throw new RangeError(`unknown user "${userId}" (this world has u0..u${this.world.options.users - 1})`);
    return u;
  }

  /** The index of an item id. Thrown by: an id outside the world (RangeError). */
  itemIndex(itemId: string): number {
    const i = parseItemId(itemId, this.world.options.items);
    if (i < 0) throw new RangeError(`unknown item "${itemId}" (this world has i0..i${this.world.options.items - 1})`);
    return i;
  }

  private checkItem(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.world.options.items)
      throw new RangeError(`item index must be in 0..${this.world.options.items - 1}, got ${i}`);
    return i;
  }
}
