import { type ItemWorld } from './items';
import { type AffinityParams, type WorldOptions } from './options';
import { profileAt, type UserTimeline } from './users';

/** Proto `ActionType` numbers used by the simulator. */
export const ACTION = Object.freeze({ IMPRESSION: 1, CLICK: 2, SAVE: 3, CLOSEUP: 4, HIDE: 5 });

/** The state of a user at one moment that the affinity depends on. */
export interface AffinityContext {
  /** Long-term topics (aligned with `profileWeights`). */
  readonly profileTopics: Uint16Array;
  /** Long-term mixture at this moment. */
  readonly profileWeights: Float64Array;
  /** Largest long-term weight (the match is relative to it). */
  profileMax: number;
  /** Current intent topics (-1 = none). */
  readonly intentTopics: Int32Array;
  /** Current intent weights divided by the largest one. */
  readonly intentWeights: Float64Array;
  /** How much the intent still applies: 1 inside a session, decaying after it, 0 before the first. */
  intentStrength: number;
  /** Topics the user dislikes. */
  readonly dislikedTopics: Uint16Array;
}

/** Ground truth of one (user, time, item). */
export interface AffinityBreakdown {
  /** Long-term interest match in [0, 1]. */
  longTerm: number;
  /** Session intent match in [0, 1] (already scaled by the intent strength). */
  session: number;
  /** Standardised log popularity of the item. */
  popularityZ: number;
  /** Share of the item's topic weight on topics the user dislikes, in [0, 1]. */
  dislike: number;
  /** The affinity score: the weighted sum of the three, less the dislike penalty. */
  score: number;
}

/** Builds an empty context for a timeline; fill it with `contextAt`. */
export function createContext(timeline: UserTimeline): AffinityContext {
  const n = timeline.profile.topics.length;
  return {
    profileTopics: timeline.profile.topics,
    profileWeights: new Float64Array(n),
    profileMax: 1,
    intentTopics: new Int32Array([-1, -1]),
    intentWeights: new Float64Array(2),
    intentStrength: 0,
    dislikedTopics: timeline.profile.disliked,
  };
}

/** Index of the last session starting at or before `timeMs`, or -1. */
export function sessionIndexAt(timeline: UserTimeline, timeMs: number): number {
  const starts = timeline.sessionStarts;
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((starts[mid] as number) <= timeMs) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * Fills `ctx` with the user's state at `timeMs`: the drifted long-term mixture
 * and the intent of the latest session (full inside it, halving every
 * `intentHalfLifeMin` after it ends).
 */
export function contextAt(options: WorldOptions, timeline: UserTimeline, timeMs: number, ctx: AffinityContext): AffinityContext {
  ctx.profileMax = profileAt(options, timeline.profile, timeMs, ctx.profileWeights) || 1;
  const s = sessionIndexAt(timeline, timeMs);
  const session = s >= 0 ? timeline.sessions[s] : undefined;
  if (!session) {
    ctx.intentTopics[0] = -1;
    ctx.intentTopics[1] = -1;
    ctx.intentStrength = 0;
    return ctx;
  }
  ctx.intentTopics[0] = session.intentTopics[0];
  ctx.intentTopics[1] = session.intentTopics[1];
  ctx.intentWeights[0] = session.intentWeights[0] / session.intentWeights[0];
  ctx.intentWeights[1] = session.intentWeights[1] / session.intentWeights[0];
  const after = timeMs - session.endMs;
  ctx.intentStrength = after <= 0 ? 1 : Math.pow(0.5, after / (options.intentHalfLifeMin * 60_000));
  return ctx;
}

function profileWeightOf(ctx: AffinityContext, topic: number): number {
  const topics = ctx.profileTopics;
  for (let k = 0; k < topics.length; k++) if (topics[k] === topic) return ctx.profileWeights[k] as number;
  return 0;
}

function intentWeightOf(ctx: AffinityContext, topic: number): number {
  if (ctx.intentTopics[0] === topic) return ctx.intentWeights[0] as number;
  if (ctx.intentTopics[1] === topic) return ctx.intentWeights[1] as number;
  return 0;
}

/** Long-term and session matches of `item` for the state in `ctx`, and the affinity score. */
export function affinityOf(
  items: ItemWorld,
  params: AffinityParams,
  ctx: AffinityContext,
  item: number,
  out: AffinityBreakdown,
): AffinityBreakdown {
  const p = items.primaryTopic[item] as number;
  const s = items.secondaryTopic[item] as number;
  const wp = items.primaryWeight[item] as number;
  let lt = wp * profileWeightOf(ctx, p);
  let st = wp * intentWeightOf(ctx, p);
  let dis = ctx.dislikedTopics.includes(p) ? wp : 0;
  if (s >= 0) {
    lt += (1 - wp) * profileWeightOf(ctx, s);
    st += (1 - wp) * intentWeightOf(ctx, s);
    if (ctx.dislikedTopics.includes(s)) dis += 1 - wp;
  }
  out.longTerm = lt / ctx.profileMax;
  out.session = st * ctx.intentStrength;
  out.popularityZ = items.popularityZ[item] as number;
  out.dislike = dis;
  out.score =
    params.longTermWeight * out.longTerm + params.sessionWeight * out.session + params.popularityWeight * out.popularityZ - params.dislikePenalty * dis;
  return out;
}

/**
 * Probabilities of the outcome of one impression, written into `probs` indexed by
 * proto ActionType (index 0 unused): a softmax against the bare impression with
 * log-weights save = saveBias + score, click = clickBias + clickGain·score,
 * close-up = closeupBias + closeupGain·score,
 * hide = hideBias + hideOffInterestGain·(1 − max(longTerm, session)) + dislikeHideGain·dislike.
 */
export function outcomeProbabilities(params: AffinityParams, a: AffinityBreakdown, probs: Float64Array): Float64Array {
  const off = 1 - Math.max(a.longTerm, a.session);
  const save = Math.exp(params.saveBias + a.score);
  const click = Math.exp(params.clickBias + params.clickGain * a.score);
  const closeup = Math.exp(params.closeupBias + params.closeupGain * a.score);
  const hide = Math.exp(params.hideBias + params.hideOffInterestGain * off + params.dislikeHideGain * a.dislike);
  const total = 1 + save + click + closeup + hide;
  probs[0] = 0;
  probs[ACTION.IMPRESSION] = 1 / total;
  probs[ACTION.CLICK] = click / total;
  probs[ACTION.SAVE] = save / total;
  probs[ACTION.CLOSEUP] = closeup / total;
  probs[ACTION.HIDE] = hide / total;
  return probs;
}

/** Draws an outcome (proto ActionType) from `probs` with a uniform `u` in [0, 1). */
export function drawOutcome(probs: Float64Array, u: number): number {
  let r = u;
  for (let t = ACTION.CLICK; t <= ACTION.HIDE; t++) {
    r -= probs[t] as number;
    if (r < 0) return t;
  }
  return ACTION.IMPRESSION;
}

const MEDIAN_DWELL_MS = [0, 0, 20_000, 12_000, 8_000, 1_500];

/** Dwell duration in ms for an outcome (0 for a bare impression), log-normal around a per-type median. */
export function dwellMs(actionType: number, normal: number): number {
  const median = MEDIAN_DWELL_MS[actionType] ?? 0;
  if (median === 0) return 0;
  return Math.max(100, Math.round(median * Math.exp(0.7 * normal)));
}
