import { RequestDeadline } from './deadline';

describe('RequestDeadline', () => {
  let now = 1_000;
  const clock = (): number => now;

  it('derives each call deadline from the request end minus the margin, capped per stage', () => {
    now = 1_000;
    const d = RequestDeadline.fromCall(new Date(1_500), 1000, 10, clock);
    expect(d.remainingMs()).toBe(500);
    expect(d.forCall('x').getTime()).toBe(1_490);
    expect(d.forCall('x', 100).getTime()).toBe(1_100);
    now = 1_480;
    expect(d.forCall('x', 100).getTime()).toBe(1_490);
    now = 1_495;
    expect(() => d.forCall('heads')).toThrow('deadline reached before heads');
  });

  it('uses the default budget when the caller set no deadline', () => {
    now = 5_000;
    const d = RequestDeadline.fromCall(undefined, 250, 5, clock);
    expect(d.endMs).toBe(5_250);
  });
});
