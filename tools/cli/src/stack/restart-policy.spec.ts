import { RestartPolicy } from './restart-policy';

describe('RestartPolicy', () => {
  it('restarts an isolated crash quickly and doubles the delay while crashes repeat', () => {
    let t = 0;
    const p = new RestartPolicy({ initialDelayMs: 250, maxDelayMs: 2000, maxRestarts: 10, windowMs: 60_000, now: () => t });
    const delays = [0, 1, 2, 3, 4].map(() => {
      t += 1000;
      const d = p.onExit();
      if (d.action !== 'restart') throw new Error('expected a restart');
      return d.delayMs;
    });
    expect(delays).toEqual([250, 500, 1000, 2000, 2000]);
  });

  it('forgets exits older than the window', () => {
    let t = 0;
    const p = new RestartPolicy({ initialDelayMs: 100, maxRestarts: 2, windowMs: 10_000, now: () => t });
    expect(p.onExit()).toMatchObject({ action: 'restart', delayMs: 100 });
    t = 5_000;
    expect(p.onExit()).toMatchObject({ action: 'restart', delayMs: 200 });
    t = 20_000;
    expect(p.onExit()).toMatchObject({ action: 'restart', delayMs: 100, recentExits: 1 });
  });

  it('gives up on a crash loop: more than maxRestarts exits within the window', () => {
    let t = 0;
    const p = new RestartPolicy({ maxRestarts: 5, windowMs: 60_000, now: () => t });
    for (let i = 0; i < 5; i++) {
      t += 5_000;
      expect(p.onExit().action).toBe('restart');
    }
    t += 5_000;
    expect(p.onExit()).toEqual({ action: 'give-up', reason: 'exited 6 times within 60 s' });
  });

  it('never restarts with maxRestarts 0', () => {
    expect(new RestartPolicy({ maxRestarts: 0 }).onExit()).toMatchObject({ action: 'give-up' });
  });

  it('refuses nonsensical limits', () => {
    expect(() => new RestartPolicy({ maxRestarts: -1 })).toThrow(TypeError);
    expect(() => new RestartPolicy({ windowMs: 1.5 })).toThrow(/windowMs/);
  });
});
