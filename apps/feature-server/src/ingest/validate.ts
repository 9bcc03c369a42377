import { ActionType, Surface, type UserAction } from '@pinrank/proto';

/** Limits applied to every ingested record. */
export interface ValidationLimits {
  /** How far in the future (server clock) a timestamp may be, in ms. Default 300000 (5 min). */
  maxFutureSkewMs: number;
  /** Longest action, user or item id, in UTF-8 bytes. Default 256. */
  maxIdBytes: number;
  /** Longest accepted dwell time in ms. Default 86400000 (one day). */
  maxDurationMs: number;
}

/** Default validation limits. */
export const DEFAULT_VALIDATION_LIMITS: ValidationLimits = {
  maxFutureSkewMs: 5 * 60_000,
  maxIdBytes: 256,
  maxDurationMs: 24 * 3600_000,
};

const ACTION_TYPES = new Set<number>([
  ActionType.ACTION_TYPE_IMPRESSION,
  ActionType.ACTION_TYPE_CLICK,
  ActionType.ACTION_TYPE_SAVE,
  ActionType.ACTION_TYPE_CLOSEUP,
  ActionType.ACTION_TYPE_HIDE,
]);
const SURFACES = new Set<number>([
  Surface.SURFACE_UNSPECIFIED,
  Surface.SURFACE_HOMEFEED,
  Surface.SURFACE_SEARCH,
  Surface.SURFACE_RELATED,
  Surface.SURFACE_BOARD,
]);

/** Why a record is refused, or null when it is acceptable. `nowMs` is the server clock. */
export function validateAction(a: UserAction, nowMs: number, limits: ValidationLimits = DEFAULT_VALIDATION_LIMITS): string | null {
  for (const field of ['actionId', 'userId', 'itemId'] as const) {
    const name = field === 'actionId' ? 'action_id' : field === 'userId' ? 'user_id' : 'item_id';
    const v = a[field];
    if (typeof v !== 'string' || v.length === 0) return `${name}: missing`;
    const bytes = Buffer.byteLength(v, 'utf8');
    if (bytes > limits.maxIdBytes) return `${name}: ${bytes} bytes exceeds the ${limits.maxIdBytes}-byte limit`;
  }
  if (a.actionType === ActionType.ACTION_TYPE_UNSPECIFIED) return 'action_type: unspecified is not allowed';
  if (!ACTION_TYPES.has(a.actionType)) return `action_type: unknown value ${a.actionType}`;
  if (!SURFACES.has(a.surface)) return `surface: unknown value ${a.surface}`;
  const ts = a.timestampMs;
  if (!Number.isSafeInteger(ts)) return `timestamp_ms: ${ts} is not a valid epoch-ms value`;
  if (ts < 0) return `timestamp_ms: negative (${ts})`;
  if (ts === 0) return 'timestamp_ms: missing';
  if (ts > nowMs + limits.maxFutureSkewMs) {
    return `timestamp_ms: ${ts - nowMs} ms in the future exceeds the ${limits.maxFutureSkewMs} ms skew bound`;
  }
  const d = a.durationMs;
  if (!Number.isSafeInteger(d) || d < 0) return `duration_ms: must be a non-negative integer, got ${d}`;
  if (d > limits.maxDurationMs) return `duration_ms: ${d} exceeds ${limits.maxDurationMs}`;
  return null;
}
