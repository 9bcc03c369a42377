// A deterministic synthetic world: generation, the action log, ground truth, replay.
// Action-log and manifest plumbing is on `@pinrank/sim/internal`.

// World generation
export {
  DEFAULT_AFFINITY,
  DEFAULT_WORLD_OPTIONS,
  resolveWorldOptions,
  type AffinityParams,
  type WorldOptions,
  type WorldOptionsInput,
} from './options';
export { World, PLAN_AHEAD_DAYS } from './world';
export { type ItemWorld } from './items';
export { type SessionPlan, type UserProfile, type UserTimeline } from './users';
export { ActionTable } from './action-table';
export {
  generateWorld,
  writeWorld,
  type GeneratedWorld,
  type GenerateOptions,
  type GenerationPhase,
  type WriteWorldOptions,
} from './generate';
export { MANIFEST_FILE, loadWorld, type LoadedWorld, type WorldManifest } from './manifest';
export { actionId, actionIdPrefix, itemId, parseItemId, parseUserId, userId } from './ids';
export { Rng, hashParts } from './prng';

// Action log
export {
  userActionFields,
  type ActionBatch,
  type ActionLogHeader,
  type ActionLogRecord,
  type ActionRecord,
  type UserActionFields,
} from './action-log/format';
export { ActionLogWriter, type ActionColumnsView, type ActionLogWriterOptions } from './action-log/writer';
export { readActionBatches, readActionLog, readActionLogHeader, type ActionLogReadOptions } from './action-log/reader';

// Ground truth, splits, replay, closed loop
export { ACTION, type AffinityBreakdown } from './affinity';
export { AffinityOracle, type ActionProbabilities, type GroundTruth, type IntentState } from './oracle';
export { createSplits, filterSplit, type SplitOptions, type SplitPart, type SplitSpan, type Splits } from './splits';
export { REAL_CLOCK, replay, replayActionLog, type ReplayClock, type ReplayOptions } from './replayer';
export { Responder, type Reaction, type ResponderOptions, type ShowRequest } from './responder';
