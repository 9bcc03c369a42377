import { type ItemWorld } from './items';
import { type WorldOptions } from './options';
import { Rng, sampleCumulative } from './prng';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_PROFILE_TOPICS = 6;
const SLEEP_HOURS = 8;
const SLEEP_RESPECT_PROB = 0.85;

/** A user's long-term interests: a sparse topic mixture that drifts from `start` to `end`. */
export interface UserProfile {
  /** The topics the user cares about at some point (start and end mixtures together). */
  readonly topics: Uint16Array;
  /** Weight of each of `topics` at the start of the world (sums to 1). */
  readonly start: Float64Array;
  /** Weight of each of `topics` after `driftDays` (sums to 1). */
  readonly end: Float64Array;
  /** This user's mean sessions per day. */
  readonly sessionsPerDay: number;
  /** UTC hour at which the user's day starts; the 8 hours before it are mostly asleep. */
  readonly wakeHour: number;
  /** Topics the user dislikes (none of `topics`); empty unless the world's `dislikedTopicsMean` > 0. */
  readonly disliked: Uint16Array;
}

/** One planned session: when, how long, and what the user is after. */
export interface SessionPlan {
  /** Time of the first impression, epoch ms. */
  readonly startMs: number;
  /** Time of the last impression, epoch ms. */
  readonly endMs: number;
  /** Number of impressions. */
  readonly length: number;
  /** Intent topics: one or two (the second is -1 when absent). */
  readonly intentTopics: readonly [number, number];
  /** Weights of the intent topics (the second is 0 when absent). */
  readonly intentWeights: readonly [number, number];
  /** Whether the first intent topic came from the long-term profile. */
  readonly inProfile: boolean;
  /** Proto `Surface` number of the session. */
  readonly surface: number;
}

/** Everything about one user that the ground truth depends on. */
export interface UserTimeline {
  /** User index. */
  readonly index: number;
  /** Long-term interests. */
  readonly profile: UserProfile;
  /** Sessions in time order; may continue past the world's end when planned further. */
  readonly sessions: readonly SessionPlan[];
  /** `sessions[k].startMs`, for binary search. */
  readonly sessionStarts: Float64Array;
}

function pickTopicByShare(rng: Rng, items: ItemWorld, cumShare: Float64Array, exclude: (t: number) => boolean): number {
  for (let tries = 0; tries < 64; tries++) {
    const t = sampleCumulative(cumShare, rng.next());
    if (!exclude(t)) return t;
  }
  for (let t = 0; t < items.topics; t++) if (!exclude(t)) return t;
  return 0;
}

/** Cumulative topic shares, for drawing topics by size. */
export function topicCumShare(items: ItemWorld): Float64Array {
  const cum = new Float64Array(items.topics);
  let acc = 0;
  for (let t = 0; t < items.topics; t++) cum[t] = acc += items.topicShare[t] as number;
  return cum;
}

/** Draws user `index`'s long-term profile (stream 'profile'). */
export function generateProfile(options: WorldOptions, items: ItemWorld, cumShare: Float64Array, index: number): UserProfile {
  const rng = Rng.stream(options.seed, 'profile', index);
  const k = Math.min(MAX_PROFILE_TOPICS, Math.floor(options.topics / 4), 1 + Math.round(rng.exponential(options.profileTopicsMean - 1)));
  const chosen: number[] = [];
  for (let j = 0; j < Math.max(1, k); j++) chosen.push(pickTopicByShare(rng, items, cumShare, (t) => chosen.includes(t)));
  const startW = rng.dirichlet(chosen.length, 1);
  let endW = rng.dirichlet(chosen.length, 1);
  // Drift: the end mixture re-weights the same topics and sometimes swaps one for a new topic.
  const topics = [...chosen];
  const start = [...startW];
  const end = [...endW];
  if (rng.chance(options.driftNewTopicProb)) {
    const dropped = rng.int(chosen.length);
    const fresh = pickTopicByShare(rng, items, cumShare, (t) => topics.includes(t));
    topics.push(fresh);
    start.push(0);
    end.push(end[dropped] as number);
    end[dropped] = 0;
  }
  endW = Float64Array.from(end);
  return {
    topics: Uint16Array.from(topics),
    start: Float64Array.from(start),
    end: endW,
    sessionsPerDay: options.sessionsPerDay * rng.logNormalMean(1, options.activitySpread),
    wakeHour: rng.next() * 24,
    disliked: drawDisliked(options, items, cumShare, index, topics),
  };
}

/** Disliked topics of user `index`, by topic size, outside the profile (own stream 'dislikes', so worlds without them are unchanged). */
function drawDisliked(options: WorldOptions, items: ItemWorld, cumShare: Float64Array, index: number, profileTopics: readonly number[]): Uint16Array {
  if (options.dislikedTopicsMean <= 0) return new Uint16Array(0);
  const rng = Rng.stream(options.seed, 'dislikes', index);
  const room = Math.max(0, options.topics - profileTopics.length - 2);
  const k = Math.min(room, Math.round(rng.exponential(options.dislikedTopicsMean)));
  const chosen: number[] = [];
  for (let j = 0; j < k; j++) chosen.push(pickTopicByShare(rng, items, cumShare, (t) => chosen.includes(t) || profileTopics.includes(t)));
  return Uint16Array.from(chosen);
}

/**
 * The profile mixture at `timeMs` into `out` (aligned with `profile.topics`),
 * linear between start and end over `driftDays`; returns the largest weight.
 */
export function profileAt(options: WorldOptions, profile: UserProfile, timeMs: number, out: Float64Array): number {
  const alpha = Math.min(1, Math.max(0, (timeMs - options.startMs) / (options.driftDays * DAY_MS)));
  let max = 0;
  for (let k = 0; k < profile.topics.length; k++) {
    const w = (1 - alpha) * (profile.start[k] as number) + alpha * (profile.end[k] as number);
    out[k] = w;
    if (w > max) max = w;
  }
  return max;
}

function drawIntentTopic(
  rng: Rng,
  options: WorldOptions,
  items: ItemWorld,
  cumShare: Float64Array,
  profile: UserProfile,
  weights: Float64Array,
  exclude: number,
): { topic: number; inProfile: boolean } {
  if (rng.chance(options.inProfileIntentProb)) {
    for (let tries = 0; tries < 16; tries++) {
      const t = profile.topics[rng.categorical(weights)] as number;
      if (t !== exclude) return { topic: t, inProfile: true };
    }
  }
  const inProfileNow = (t: number): boolean => {
    for (let k = 0; k < profile.topics.length; k++) if (profile.topics[k] === t && (weights[k] as number) > 0) return true;
    // Nobody sets out to browse a topic they dislike.
    return t === exclude || profile.disliked.includes(t);
  };
  return { topic: pickTopicByShare(rng, items, cumShare, inProfileNow), inProfile: false };
}

/**
 * Plans user `index`'s sessions from the world start until `untilMs`
 * (stream 'sessions'). Planning further only appends sessions: the ones
 * before the world's end are the same whatever `untilMs` is.
 */
export function planSessions(
  options: WorldOptions,
  items: ItemWorld,
  cumShare: Float64Array,
  profile: UserProfile,
  index: number,
  untilMs: number,
): SessionPlan[] {
  const rng = Rng.stream(options.seed, 'sessions', index);
  const meanGapMs = DAY_MS / profile.sessionsPerDay;
  const weights = new Float64Array(profile.topics.length);
  const sessions: SessionPlan[] = [];
  let t = options.startMs + rng.exponential(meanGapMs);
  for (;;) {
    const hourOfDay = (((t / HOUR_MS - profile.wakeHour) % 24) + 24) % 24;
    if (hourOfDay >= 24 - SLEEP_HOURS && rng.chance(SLEEP_RESPECT_PROB)) {
      t += (24 - hourOfDay) * HOUR_MS + rng.exponential(HOUR_MS);
    }
    if (t >= untilMs) break;
    const startMs = Math.floor(t);
    const length = Math.min(options.sessionLengthMax, Math.floor(rng.pareto(options.sessionLengthMin, options.sessionLengthAlpha)));
    const durationMs = Math.round((length - 1) * options.impressionGapS * 1000 * rng.logNormalMean(1, 0.3));
    const previous = sessions[sessions.length - 1];
    const surface = 1 + rng.categorical(options.surfaceWeights);
    if (previous && rng.chance(options.intentCarryProb)) {
      // A short-term interest that outlives one session: same intent as last time.
      sessions.push({ ...previous, startMs, endMs: startMs + durationMs, length, surface });
    } else {
      profileAt(options, profile, startMs, weights);
      const first = drawIntentTopic(rng, options, items, cumShare, profile, weights, -1);
      let second = -1;
      let w0 = 1;
      if (rng.chance(options.twoTopicIntentProb)) {
        second = drawIntentTopic(rng, options, items, cumShare, profile, weights, first.topic).topic;
        w0 = 0.65;
      }
      sessions.push({
        startMs,
        endMs: startMs + durationMs,
        length,
        intentTopics: [first.topic, second],
        intentWeights: [w0, second >= 0 ? 1 - w0 : 0],
        inProfile: first.inProfile,
        surface,
      });
    }
    t = startMs + durationMs + rng.logNormalMean(meanGapMs, options.sessionGapSpread);
  }
  return sessions;
}

/** Profile and sessions of one user, planned until `untilMs`. */
export function buildTimeline(
  options: WorldOptions,
  items: ItemWorld,
  cumShare: Float64Array,
  index: number,
  untilMs: number,
): UserTimeline {
  const profile = generateProfile(options, items, cumShare, index);
  const sessions = planSessions(options, items, cumShare, profile, index, untilMs);
  return { index, profile, sessions, sessionStarts: Float64Array.from(sessions, (s) => s.startMs) };
}
