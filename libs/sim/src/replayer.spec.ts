import { REAL_CLOCK, replay, type ReplayClock } from './replayer';

/** A clock that only moves when the replay sleeps. */
function fakeClock(): ReplayClock & { sleeps: number[] } {
  let now = 1000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: (ms, signal) => {
      signal?.throwIfAborted();
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

const recs = [0, 0, 500, 2_000, 60_000].map((dt) => ({ timestampMs: 1_767_225_600_000 + dt }));

describe('replay', () => {
  it('spaces records by their timestamps divided by the speed-up', async () => {
    const clock = fakeClock();
    const out: number[] = [];
    for await (const r of replay(recs, { speedup: 10, clock })) out.push(r.timestampMs);
    expect(out).toEqual(recs.map((r) => r.timestampMs));
    expect(clock.sleeps).toEqual([50, 150, 5_800]);
  });

  it('does not sleep at an infinite speed-up and honours the window', async () => {
    const clock = fakeClock();
    const out: number[] = [];
    const t0 = recs[0]!.timestampMs;
    for await (const r of replay(recs, { speedup: Infinity, clock, fromMs: t0 + 1, untilMs: t0 + 60_000 })) out.push(r.timestampMs - t0);
    expect(out).toEqual([500, 2_000]);
    expect(clock.sleeps).toEqual([]);
  });

  it('stops with the signal reason when aborted', async () => {
    const ac = new AbortController();
    const clock = fakeClock();
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const r of replay(recs, { speedup: 1, clock, signal: ac.signal })) {
          seen.push(r.timestampMs);
          if (seen.length === 2) ac.abort(new Error('shutdown'));
        }
      })(),
    ).rejects.toThrow('shutdown');
    expect(seen).toHaveLength(2);
  });

  it('rejects a non-positive speed-up', async () => {
    await expect(replay(recs, { speedup: 0 }).next()).rejects.toThrow(RangeError);
  });

  it('lets an abort interrupt a real-clock wait', async () => {
    const ac = new AbortController();
    ac.abort(new Error('now'));
    await expect(REAL_CLOCK.sleep(60_000, ac.signal)).rejects.toThrow();
  });
});
