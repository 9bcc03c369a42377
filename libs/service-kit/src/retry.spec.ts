import { PinrankError } from './errors';
import { backoffMs, withRetry, withRetryDefaults } from './retry';

describe('withRetry', () => {
  it('retries UNAVAILABLE with growing, jittered backoff and returns the first success', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw new PinrankError('UNAVAILABLE', 'down');
        return 'ok';
      },
      { maxAttempts: 5, initialBackoffMs: 100, multiplier: 2 },
      { random: () => 0.5, sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(sleeps).toEqual([50, 100]);
  });

  it('does not retry other codes', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new PinrankError('INVALID_ARGUMENT', 'bad');
      }, {}, { sleep: async () => undefined }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new PinrankError('UNAVAILABLE', `attempt ${calls}`);
      }, { maxAttempts: 3 }, { sleep: async () => undefined }),
    ).rejects.toMatchObject({ message: 'attempt 3' });
    expect(calls).toBe(3);
  });

  it('stops when the next backoff would pass the deadline', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new PinrankError('UNAVAILABLE', 'down');
      }, { initialBackoffMs: 1_000 }, { deadline: new Date(Date.now() + 100), random: () => 0.99, sleep: async () => undefined }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(calls).toBe(1);
  });
});

describe('backoffMs', () => {
  it('is uniform under a ceiling that grows geometrically and is capped', () => {
    const p = withRetryDefaults({ initialBackoffMs: 10, maxBackoffMs: 50, multiplier: 3 });
    expect([1, 2, 3, 4].map((n) => backoffMs(p, n, () => 0.999999))).toEqual([9, 29, 49, 49]);
    expect(backoffMs(p, 4, () => 0)).toBe(0);
  });

  it('refuses nonsense policies', () => {
    expect(() => withRetryDefaults({ maxAttempts: 0 })).toThrow(TypeError);
    expect(() => withRetryDefaults({ initialBackoffMs: 10, maxBackoffMs: 5 })).toThrow(TypeError);
    expect(() => withRetryDefaults({ multiplier: 0.5 })).toThrow(TypeError);
  });
});
