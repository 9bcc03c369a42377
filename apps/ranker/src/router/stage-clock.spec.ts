import { StageClock } from './stage-clock';

describe('StageClock', () => {
  it('reports each stage from its first start to its last end, with its start from the request start', async () => {
    let now = 100;
    const clock = new StageClock(() => now);
    clock.record('encoder', 110, 130);
    clock.record('encoder', 105, 120);
    clock.record('content', 101, 103);
    now = 140;
    await clock.time('heads', async () => {
      now = 150;
    });
    now = 160;
    expect(clock.timings().map((t) => [t.stage, t.startMs, t.ms])).toEqual([
      ['content', 1, 2],
      ['encoder', 5, 25],
      ['heads', 40, 10],
      ['total', 0, 60],
    ]);
  });

  it('records a stage that throws', async () => {
    let now = 0;
    const clock = new StageClock(() => now);
    await expect(
      clock.time('tower', async () => {
        now = 7;
        throw new Error('down');
      }),
    ).rejects.toThrow('down');
    expect(clock.timings()[0]).toMatchObject({ stage: 'tower', startMs: 0, ms: 7 });
  });
});
