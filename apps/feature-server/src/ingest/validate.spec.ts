import { UserAction } from '@pinrank/proto';
import { DEFAULT_VALIDATION_LIMITS, validateAction } from './validate';

const NOW = 1_764_000_000_000;
const ok = UserAction.fromPartial({ actionId: 'a1', userId: 'u1', itemId: 'item-1', actionType: 3, timestampMs: NOW - 1000, surface: 1, durationMs: 10 });
const check = (patch: Partial<UserAction>): string | null => validateAction({ ...ok, ...patch }, NOW);

describe('validateAction', () => {
  it('accepts a well-formed action, including one slightly in the future', () => {
    expect(check({})).toBeNull();
    expect(check({ timestampMs: NOW + DEFAULT_VALIDATION_LIMITS.maxFutureSkewMs })).toBeNull();
    expect(check({ surface: 0, durationMs: 0 })).toBeNull();
  });

  it.each([
    [{ actionId: '' }, 'action_id: missing'],
    [{ userId: '' }, 'user_id: missing'],
    [{ itemId: '' }, 'item_id: missing'],
    [{ itemId: 'x'.repeat(257) }, 'item_id: 257 bytes exceeds the 256-byte limit'],
    [{ actionType: 0 }, 'action_type: unspecified is not allowed'],
    [{ actionType: 42 }, 'action_type: unknown value 42'],
    [{ surface: 9 }, 'surface: unknown value 9'],
    [{ timestampMs: -5 }, 'timestamp_ms: negative (-5)'],
    [{ timestampMs: 0 }, 'timestamp_ms: missing'],
    [{ timestampMs: NOW + DEFAULT_VALIDATION_LIMITS.maxFutureSkewMs + 1 }, 'timestamp_ms: 300001 ms in the future exceeds the 300000 ms skew bound'],
    [{ durationMs: -1 }, 'duration_ms: must be a non-negative integer, got -1'],
  ])('rejects %j with a reason', (patch, reason) => {
    expect(check(patch)).toBe(reason);
  });
});
