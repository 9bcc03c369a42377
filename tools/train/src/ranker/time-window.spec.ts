import { SeededRandom } from '@pinrank/models';
import { applyTimeWindowMask, drawTimeWindow } from './time-window';

describe('random time-window mask', () => {
  it('masks exactly the actions inside (t_req − T, t_req) and keeps padding and older ones', () => {
    const ages = Float32Array.from([0, 30, 599.5, 600, 7200, -1, -1]);
    expect([...applyTimeWindowMask(ages, 600)]).toEqual([-1, -1, -1, 600, 7200, -1, -1]);
    expect([...ages]).toEqual([0, 30, 599.5, 600, 7200, -1, -1]); // input untouched
    expect([...applyTimeWindowMask(ages, 0)]).toEqual([...ages]);
  });

  it('draws no window with probability 1 − p and a window in (0, max] otherwise', () => {
    const rng = new SeededRandom(3);
    const draws = Array.from({ length: 2000 }, () => drawTimeWindow(rng, 0.5, 3600));
    const masked = draws.filter((t) => t > 0);
    expect(masked.length / draws.length).toBeGreaterThan(0.45);
    expect(masked.length / draws.length).toBeLessThan(0.55);
    expect(Math.max(...masked)).toBeLessThanOrEqual(3600);
    expect(masked.reduce((s, t) => s + t, 0) / masked.length).toBeGreaterThan(1600);
    expect(drawTimeWindow(new SeededRandom(1), 0, 3600)).toBe(0);
  });
});
