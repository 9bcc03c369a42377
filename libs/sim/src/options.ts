/**
 * The knobs of the synthetic world, their documented defaults, and the one
 * place that fills and validates them (docs/simulator.md explains each).
 */

/** How affinity turns into action probabilities (see `outcomeWeights`). */
export interface AffinityParams {
  /** Weight of the long-term interest match in the affinity score. Default 2.5. */
  longTermWeight: number;
  /** Weight of the current session intent match. Default 5.0. */
  sessionWeight: number;
  /** Weight of standardised log popularity. Default 0.2. */
  popularityWeight: number;
  /** Log-odds offset of a save against a bare impression at affinity 0. Default -7.0. */
  saveBias: number;
  /** Log-odds offset of a click. Default -5.6. */
  clickBias: number;
  /** Slope of click log-odds in affinity (saves have slope 1). Default 0.7. */
  clickGain: number;
  /** Log-odds offset of a close-up. Default -5.8. */
  closeupBias: number;
  /** Slope of close-up log-odds in affinity. Default 0.8. */
  closeupGain: number;
  /** Log-odds offset of a hide on an item matching the user fully. Default -6.0. */
  hideBias: number;
  /** Added to hide log-odds on an item of a topic the user dislikes. Default 5.0. */
  dislikeHideGain: number;
  /** Subtracted from the affinity score of an item of a disliked topic (fewer saves and clicks). Default 3.0. */
  dislikePenalty: number;
  /** Added to hide log-odds on an item matching neither interests nor intent. Default 3.5. */
  hideOffInterestGain: number;
}

/** Everything that shapes a world. Same options + same seed = same bytes. */
export interface WorldOptions {
  /** Seed of every random stream. A safe integer >= 0. Default 1. */
  seed: number;
  /** Number of users `u0..u{n-1}`. Default 20000. */
  users: number;
  /** Number of items `i0..i{n-1}`. Default 50000. */
  items: number;
  /** Number of topics. Default 64. */
  topics: number;
  /** Dimension of the item content vectors. Default 32. */
  dimension: number;
  /** Length of the simulated period in days. Default 90. */
  days: number;
  /** Start of the simulated period, epoch ms. Default 2026-01-01T00:00:00Z. */
  startMs: number;
  /** Norm of the noise added to an item's topic centroid before normalising. Default 0.6. */
  contentNoise: number;
  /** Probability that an item mixes in a secondary topic. Default 0.35. */
  secondaryTopicProb: number;
  /** Zipf exponent of item popularity over popularity rank. Default 0.7. */
  popularityZipf: number;
  /** Log-normal sigma of topic sizes (0 = equal topics). Default 0.5. */
  topicSizeSpread: number;
  /** Mean number of topics in a long-term profile (1..6). Default 2.5. */
  profileTopicsMean: number;
  /**
   * Mean number of topics a user dislikes (never a profile or intent topic):
   * items of them are hidden far more often and engaged with less, so a
   * user's hides cluster on a few topics. Default 0 (hides are spread over
   * every off-interest topic).
   */
  dislikedTopicsMean: number;
  /** Days over which a long-term profile moves from its start to its end mixture. Default 90. */
  driftDays: number;
  /** Probability that the end mixture swaps one topic for a new one. Default 0.4. */
  driftNewTopicProb: number;
  /** Mean sessions per user per day (users differ log-normally around it). Default 0.25. */
  sessionsPerDay: number;
  /** Log-normal sigma of per-user activity. Default 0.8. */
  activitySpread: number;
  /** Log-normal sigma of the gaps between one user's sessions (heavy tail). Default 1.2. */
  sessionGapSpread: number;
  /** Minimum impressions per session (Pareto minimum). Default 4. */
  sessionLengthMin: number;
  /** Pareto tail index of session length (smaller = heavier tail). Default 1.5. */
  sessionLengthAlpha: number;
  /** Cap on impressions per session. Default 150. */
  sessionLengthMax: number;
  /** Mean seconds between impressions within a session. Default 8. */
  impressionGapS: number;
  /** Probability that a session's intent comes from the long-term profile. Default 0.45. */
  inProfileIntentProb: number;
  /** Probability that a session keeps the previous session's intent. Default 0.3. */
  intentCarryProb: number;
  /** Probability that a session has a second intent topic. Default 0.35. */
  twoTopicIntentProb: number;
  /** Half-life in minutes of a session intent after the session ends. Default 30. */
  intentHalfLifeMin: number;
  /** Share of impressions drawn from the session intent topics. Default 0.3. */
  feedIntentShare: number;
  /** Share of impressions drawn from the long-term topics (the rest is popularity). Default 0.35. */
  feedProfileShare: number;
  /** Probability of each surface for a session: homefeed, search, related, board. Default [0.7, 0.12, 0.13, 0.05]. */
  surfaceWeights: [number, number, number, number];
  /** Affinity and action-probability parameters. */
  affinity: AffinityParams;
}

/** Options as given by a caller: any subset, `affinity` partially too. */
export type WorldOptionsInput = Partial<Omit<WorldOptions, 'affinity'>> & { affinity?: Partial<AffinityParams> };

/** The documented defaults. */
export const DEFAULT_AFFINITY: Readonly<AffinityParams> = Object.freeze({
  longTermWeight: 2.5,
  sessionWeight: 5.0,
  popularityWeight: 0.2,
  saveBias: -7.0,
  clickBias: -5.6,
  clickGain: 0.7,
  closeupBias: -5.8,
  closeupGain: 0.8,
  hideBias: -6.0,
  hideOffInterestGain: 3.5,
  dislikeHideGain: 5.0,
  dislikePenalty: 3.0,
});

/** The documented defaults of every world knob. */
export const DEFAULT_WORLD_OPTIONS: Readonly<WorldOptions> = Object.freeze({
  seed: 1,
  users: 20_000,
  items: 50_000,
  topics: 64,
  dimension: 32,
  days: 90,
  startMs: Date.UTC(2026, 0, 1),
  contentNoise: 0.6,
  secondaryTopicProb: 0.35,
  popularityZipf: 0.7,
  topicSizeSpread: 0.5,
  profileTopicsMean: 2.5,
  dislikedTopicsMean: 0,
  driftDays: 90,
  driftNewTopicProb: 0.4,
  sessionsPerDay: 0.25,
  activitySpread: 0.8,
  sessionGapSpread: 1.2,
  sessionLengthMin: 4,
  sessionLengthAlpha: 1.5,
  sessionLengthMax: 150,
  impressionGapS: 8,
  inProfileIntentProb: 0.45,
  intentCarryProb: 0.3,
  twoTopicIntentProb: 0.35,
  intentHalfLifeMin: 30,
  feedIntentShare: 0.3,
  feedProfileShare: 0.35,
  surfaceWeights: [0.7, 0.12, 0.13, 0.05] as [number, number, number, number],
  affinity: DEFAULT_AFFINITY,
});

const MAX_DAYS = 3650;

function check(ok: boolean, name: string, rule: string, value: unknown): void {
  if (!ok) throw new RangeError(`world option ${name}: ${rule}, got ${JSON.stringify(value)}`);
}

const isInt = (v: number, min: number, max = Number.MAX_SAFE_INTEGER): boolean =>
  Number.isSafeInteger(v) && v >= min && v <= max;
const isNum = (v: number, min: number, max = Infinity): boolean => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;

/**
 * Fills defaults and validates every knob. Thrown by: an unknown option
 * (TypeError) or a value out of range (RangeError naming the option).
 */
export function resolveWorldOptions(input: WorldOptionsInput = {}): WorldOptions {
  for (const key of Object.keys(input)) {
    if (!(key in DEFAULT_WORLD_OPTIONS)) throw new TypeError(`unknown world option "${key}"`);
  }
  for (const key of Object.keys(input.affinity ?? {})) {
    if (!(key in DEFAULT_AFFINITY)) throw new TypeError(`unknown affinity option "${key}"`);
  }
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as WorldOptionsInput;
  const affinityInput = Object.fromEntries(Object.entries(input.affinity ?? {}).filter(([, v]) => v !== undefined));
  const o: WorldOptions = {
    ...DEFAULT_WORLD_OPTIONS,
    ...defined,
    surfaceWeights: [...(defined.surfaceWeights ?? DEFAULT_WORLD_OPTIONS.surfaceWeights)],
    affinity: { ...DEFAULT_AFFINITY, ...affinityInput },
  };
  check(isInt(o.seed, 0), 'seed', 'must be a safe integer >= 0', o.seed);
  check(isInt(o.users, 1, 10_000_000), 'users', 'must be an integer in 1..1e7', o.users);
  check(isInt(o.items, 2, 100_000_000), 'items', 'must be an integer in 2..1e8', o.items);
  check(isInt(o.topics, 2, 4096), 'topics', 'must be an integer in 2..4096', o.topics);
  check(o.topics <= o.items, 'topics', `must not exceed items (${o.items})`, o.topics);
  check(isInt(o.dimension, 2, 4096), 'dimension', 'must be an integer in 2..4096', o.dimension);
  check(isNum(o.days, 1 / 24, MAX_DAYS), 'days', `must be a number in 1/24..${MAX_DAYS}`, o.days);
  check(isInt(o.startMs, 0), 'startMs', 'must be epoch milliseconds', o.startMs);
  check(isNum(o.contentNoise, 0, 10), 'contentNoise', 'must be in 0..10', o.contentNoise);
  check(isNum(o.secondaryTopicProb, 0, 1), 'secondaryTopicProb', 'must be a probability', o.secondaryTopicProb);
  check(isNum(o.popularityZipf, 0, 3), 'popularityZipf', 'must be in 0..3', o.popularityZipf);
  check(isNum(o.topicSizeSpread, 0, 3), 'topicSizeSpread', 'must be in 0..3', o.topicSizeSpread);
  check(isNum(o.profileTopicsMean, 1, 6), 'profileTopicsMean', 'must be in 1..6', o.profileTopicsMean);
  check(isNum(o.dislikedTopicsMean, 0, 8), 'dislikedTopicsMean', 'must be in 0..8', o.dislikedTopicsMean);
  check(o.topics >= 8, 'topics', 'must be >= 8 so profiles and new intents have room', o.topics);
  check(isNum(o.driftDays, 1), 'driftDays', 'must be >= 1', o.driftDays);
  check(isNum(o.driftNewTopicProb, 0, 1), 'driftNewTopicProb', 'must be a probability', o.driftNewTopicProb);
  check(isNum(o.sessionsPerDay, 0.001, 100), 'sessionsPerDay', 'must be in 0.001..100', o.sessionsPerDay);
  check(isNum(o.activitySpread, 0, 3), 'activitySpread', 'must be in 0..3', o.activitySpread);
  check(isNum(o.sessionGapSpread, 0, 3), 'sessionGapSpread', 'must be in 0..3', o.sessionGapSpread);
  check(isInt(o.sessionLengthMin, 1, 10_000), 'sessionLengthMin', 'must be an integer in 1..10000', o.sessionLengthMin);
  check(isNum(o.sessionLengthAlpha, 1.01, 10), 'sessionLengthAlpha', 'must be in 1.01..10', o.sessionLengthAlpha);
  check(
    isInt(o.sessionLengthMax, o.sessionLengthMin, 10_000),
    'sessionLengthMax',
    `must be an integer in sessionLengthMin (${o.sessionLengthMin})..10000`,
    o.sessionLengthMax,
  );
  check(isNum(o.impressionGapS, 0.1, 3600), 'impressionGapS', 'must be in 0.1..3600', o.impressionGapS);
  check(isNum(o.inProfileIntentProb, 0, 1), 'inProfileIntentProb', 'must be a probability', o.inProfileIntentProb);
  check(isNum(o.intentCarryProb, 0, 1), 'intentCarryProb', 'must be a probability', o.intentCarryProb);
  check(isNum(o.twoTopicIntentProb, 0, 1), 'twoTopicIntentProb', 'must be a probability', o.twoTopicIntentProb);
  check(isNum(o.intentHalfLifeMin, 0.01, 100_000), 'intentHalfLifeMin', 'must be in 0.01..100000', o.intentHalfLifeMin);
  check(isNum(o.feedIntentShare, 0, 1), 'feedIntentShare', 'must be a probability', o.feedIntentShare);
  check(isNum(o.feedProfileShare, 0, 1), 'feedProfileShare', 'must be a probability', o.feedProfileShare);
  check(o.feedIntentShare + o.feedProfileShare <= 1, 'feedProfileShare', 'plus feedIntentShare must be <= 1', o.feedProfileShare);
  check(
    Array.isArray(o.surfaceWeights) && o.surfaceWeights.length === 4 && o.surfaceWeights.every((w) => isNum(w, 0)) &&
      o.surfaceWeights.some((w) => w > 0),
    'surfaceWeights',
    'must be 4 weights >= 0, not all 0',
    o.surfaceWeights,
  );
  for (const [key, value] of Object.entries(o.affinity)) {
    check(isNum(value as number, -50, 50), `affinity.${key}`, 'must be a number in -50..50', value);
  }
  return o;
}
