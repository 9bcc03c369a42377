import { World } from '@pinrank/sim';
import { planUserRequests, runPeriod, selectRunUsers } from './run-plan';

const world = World.create({ seed: 3, users: 80, items: 300, days: 10 });
const period = runPeriod(world, 4);

describe('run plan', () => {
  it('starts the run where the world ends and refuses a period past the planned sessions', () => {
    expect(period.startMs).toBe(world.endMs);
    expect(period.endMs - period.startMs).toBe(4 * 86_400_000);
    expect(() => runPeriod(world, 45)).toThrow(/--run-days/);
  });

  it('samples users deterministically among those with a session in the period', () => {
    const a = selectRunUsers(world, period, 20, 1);
    expect(a).toEqual(selectRunUsers(world, period, 20, 1));
    expect(a).not.toEqual(selectRunUsers(world, period, 20, 2));
    expect(a).toHaveLength(20);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    for (const u of a) expect(planUserRequests(world, u, period, 25, 0).length).toBeGreaterThan(0);
    // Asking for more than are eligible gives every eligible user once.
    const all = selectRunUsers(world, period, 10_000, 1);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBeLessThanOrEqual(world.users);
  });

  it('turns a session of L impressions into ceil(L/k) pages spaced k impressions apart', () => {
    const [u] = selectRunUsers(world, period, 1, 5) as [number];
    const k = 4;
    const plan = planUserRequests(world, u, period, k, 0);
    const sessions = world.timeline(u).sessions;
    const gapMs = world.options.impressionGapS * 1000;
    const bySession = new Map<number, typeof plan>();
    for (const r of plan) bySession.set(r.session, [...(bySession.get(r.session) ?? []), r]);
    for (const [s, pages] of bySession) {
      const session = sessions[s];
      if (!session) throw new Error('unknown session');
      expect(pages).toHaveLength(Math.ceil(session.length / k));
      expect(pages.reduce((n, r) => n + r.size, 0)).toBe(session.length);
      pages.forEach((r) => {
        expect(r.timeMs).toBe(session.startMs + Math.round(r.page * k * gapMs));
        expect(r.surface).toBe(session.surface);
      });
    }
    for (let i = 1; i < plan.length; i++) expect((plan[i] as { timeMs: number }).timeMs).toBeGreaterThanOrEqual((plan[i - 1] as { timeMs: number }).timeMs);
    expect(planUserRequests(world, u, period, k, 2)).toEqual(plan.slice(0, 2));
  });
});
