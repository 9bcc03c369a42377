import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World, writeWorld } from '@pinrank/sim';
import { loadTrainingWorld, upperBound, type TrainingWorld } from '../data/world-data';
import { buildCutoffCases, buildEvalCases, randomIndex } from './eval-cases';
import { sessionContinuation, withHeldOut } from './pinnerformer-report';
import { evaluateRetrieval, evaluateRetrievalScorer, meanContentMethod, popularityMethod } from './retrieval-eval';
import { worldCheck } from './world-check';

let dir: string;
let world: TrainingWorld;
const DAY_MS = 86_400_000;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pf-eval-cases-'));
  await writeWorld(dir, { seed: 5, users: 200, items: 400, days: 30, topics: 8 });
  world = await loadTrainingWorld(dir, { evalDays: 7, heldOutUserFraction: 0.3 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cutoff cases (paper-style evaluation)', () => {
  it('embed every user with history at the end of the day before the cutoff and take all their positives in the window after it', () => {
    const cases = buildCutoffCases(world, { windowDays: 7 });
    const asOf = world.splits.cutoffMs - 1;
    expect(new Date(asOf + 1).toISOString()).toMatch(/T00:00:00.000Z$/); // a day boundary: the batch job's as-of time
    const expected = world.positives.flatMap((acts, u) => {
      const future = acts.filter((a) => a.timestampMs > asOf && a.timestampMs <= asOf + 7 * DAY_MS);
      return upperBound(acts, asOf) > 0 && future.length > 0 ? [{ u, items: [...new Set(future.map((a) => a.itemIndex))] }] : [];
    });
    expect(cases.map((c) => c.user)).toEqual(expected.map((e) => e.u));
    cases.forEach((c, i) => {
      expect(c.anchorMs).toBe(asOf);
      expect(c.dailyMs).toBe(asOf);
      expect(c.futureItems).toEqual(expected[i]!.items);
      expect(c.futureFirstMs.every((t) => t >= world.splits.cutoffMs)).toBe(true);
      expect(c.heldOut).toBe(world.splits.isHeldOutUser(c.user));
    });
    // Both populations are there; the held-out option keeps only held-out users.
    expect(cases.some((c) => c.heldOut) && cases.some((c) => !c.heldOut)).toBe(true);
    const heldOut = buildCutoffCases(world, { windowDays: 7, population: 'held-out' });
    expect(heldOut.map((c) => c.user)).toEqual(cases.filter((c) => c.heldOut).map((c) => c.user));
  });

  it('realtime cases stay on held-out users anchored on one of their own positives', () => {
    const cases = buildEvalCases(world, { windowDays: 7 });
    expect(cases.length).toBeGreaterThan(5);
    for (const c of cases) {
      expect(c.heldOut).toBe(true);
      expect(world.positives[c.user]!.some((a) => a.timestampMs === c.anchorMs)).toBe(true);
      expect(c.futureFirstMs).toHaveLength(c.futureItems.length);
      expect(c.futureFirstMs.every((t) => t > c.anchorMs && t <= c.anchorMs + 7 * DAY_MS)).toBe(true);
    }
  });
});

describe('retrieval evaluation', () => {
  it('per-user recall, its standard error, and item groups that partition each user’s items', () => {
    const cases = buildEvalCases(world, { windowDays: 7 });
    const index = randomIndex(world.manifest.counts.items, 200, 1);
    const split = sessionContinuation(world);
    const m = evaluateRetrieval(meanContentMethod(world, 16), cases, index, 'realtime', 10, split);
    expect(m.perUser).toHaveLength(cases.length);
    expect(m.recallAtK).toBeCloseTo(m.perUser.reduce((a, b) => a + b, 0) / cases.length, 12);
    const mean = m.recallAtK;
    const sd = Math.sqrt(m.perUser.reduce((a, v) => a + (v - mean) ** 2, 0) / (cases.length - 1));
    expect(m.stdError).toBeCloseTo(sd / Math.sqrt(cases.length), 12);
    const { session, later } = m.groups!;
    expect(session!.positives + later!.positives).toBe(m.positives);
    cases.forEach((c, u) => {
      const s = session!.perUser[u];
      const l = later!.perUser[u];
      expect(s !== null || l !== null).toBe(true);
      // The user's recall is the item-weighted mix of the two groups.
      const nS = c.futureItems.filter((_, p) => split(c, p) === 'session').length;
      const nL = c.futureItems.length - nS;
      expect(((s ?? 0) * nS + (l ?? 0) * nL) / c.futureItems.length).toBeCloseTo(m.perUser[u]!, 12);
    });
  });

  it('session continuation follows the simulator sessions', () => {
    const sim = World.create(world.manifest.options);
    const split = sessionContinuation(world);
    const cases = buildEvalCases(world, { windowDays: 7 });
    let sessionItems = 0;
    for (const c of cases) {
      const tl = sim.timeline(c.user);
      const session = tl.sessions.filter((s) => s.startMs <= c.anchorMs).at(-1)!;
      expect(session.endMs).toBeGreaterThanOrEqual(c.anchorMs); // the anchor is an action of that session
      c.futureFirstMs.forEach((t, p) => {
        expect(split(c, p)).toBe(t <= session.endMs ? 'session' : 'later');
        if (t <= session.endMs) sessionItems++;
      });
    }
    expect(sessionItems).toBeGreaterThan(0);
  });

  it('a perfect scorer retrieves everything and a reversed one nothing; held-out parts are subsets', () => {
    const cases = buildCutoffCases(world, { windowDays: 7 });
    const index = randomIndex(world.manifest.counts.items, 200, 1);
    const perfect = evaluateRetrievalScorer('perfect', (u, items) => items.map((i) => (cases[u]!.futureItems.includes(i) ? 1 : 0)), cases, index, 'cutoff', 10);
    // Every future item outranks the whole index (future items in the index are left out of it).
    expect(perfect.recallAtK).toBe(1);
    const reversed = evaluateRetrievalScorer('reversed', (u, items) => items.map((i) => (cases[u]!.futureItems.includes(i) ? -1 : 0)), cases, index, 'cutoff', 10);
    expect(reversed.recallAtK).toBe(0);
    const pop = withHeldOut(evaluateRetrieval(popularityMethod(world), cases, index, 'cutoff', 10), cases);
    expect(pop.heldOut.users).toBe(cases.filter((c) => c.heldOut).length);
  });

  it('the world check ranks oracles on the cutoff cases', () => {
    const check = worldCheck(world, { windowDays: 7, indexSize: 200, maxLen: 16 });
    expect(check.users).toBe(buildCutoffCases(world, { windowDays: 7 }).length);
    for (const m of [check.longTerm, check.stateAtCutoff, check.nextAction, check.popularity, check.meanContent]) {
      expect(m.users).toBe(check.users);
      expect(m.recallAtK).toBeGreaterThanOrEqual(0);
      expect(m.recallAtK).toBeLessThanOrEqual(1);
    }
    // The ground truth knows the users' interests: both oracles beat popularity.
    expect(check.longTerm.recallAtK).toBeGreaterThan(check.popularity.recallAtK);
    expect(check.nextAction.recallAtK).toBeGreaterThan(check.popularity.recallAtK);
    expect(check.firstSessionShare).toBeGreaterThan(0);
    expect(check.firstSessionShare).toBeLessThanOrEqual(1);
  });
});
