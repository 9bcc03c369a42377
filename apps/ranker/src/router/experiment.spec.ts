import { assignArm } from './experiment';

describe('assignArm', () => {
  const experiment = { name: 'w2', arms: [{ name: 'a', share: 0.2 }, { name: 'b', share: 0.3 }] };

  it('puts users into arms by their shares, the rest in none, the same way every time', () => {
    const counts: Record<string, number> = { a: 0, b: 0, none: 0 };
    for (let u = 0; u < 4000; u++) {
      const arm = assignArm(experiment, `user-${u}`)?.arm.name ?? 'none';
      counts[arm] = (counts[arm] ?? 0) + 1;
      expect(assignArm(experiment, `user-${u}`)?.arm.name ?? 'none').toBe(arm);
    }
    expect(counts['a']).toBeGreaterThan(700);
    expect(counts['a']).toBeLessThan(900);
    expect(counts['b']).toBeGreaterThan(1080);
    expect(counts['b']).toBeLessThan(1320);
    expect(counts['none']).toBeGreaterThan(1850);
  });

  it('assigns nobody without an experiment', () => {
    expect(assignArm(undefined, 'u1')).toBeUndefined();
  });
});
