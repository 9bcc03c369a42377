import { parseExperimentsConfig } from '@pinrank/contracts';
import { type ModelSet } from '../model-set';
import { withRouterDefaults } from '../router-options';
import { compilePlan, type PlanContext } from './compile-plan';
import { type ExperimentPlan } from './experiment-plan';

// Arms without model pins never read model configs: a ModelSet with head names is enough here.
const models = { heads: { name: 'ranking_heads', version: '1', headNames: ['save', 'click', 'hide'] }, lite: { name: 'ranking_heads_lite' } } as unknown as ModelSet;
const ctx: PlanContext = {
  options: withRouterDefaults({ featureServer: 'f:1', embeddingStore: 'e:1', gpuWorkers: [], cpuWorkers: ['c:1'] }),
  defaults: { models, headWeights: { save: 1, click: 0.3, hide: -2 } },
  snapshots: new Set(['snap-a', 'snap-b']),
};

function plan(config: unknown): Promise<ExperimentPlan> {
  return compilePlan(parseExperimentsConfig(config, 'test'), 'test', ctx);
}

const USERS = 100_000;
const users = Array.from({ length: USERS }, (_, i) => `u${i}`);

describe('ExperimentPlan assignment', () => {
  let p: ExperimentPlan;
  beforeAll(async () => {
    p = await plan({
      version: 'v7',
      holdout: { fraction: 0.1 },
      layers: [
        {
          name: 'ranker',
          experiments: [
            { name: 'scorer', traffic: 0.6, arms: [{ name: 'full', fraction: 0.5 }, { name: 'lite', fraction: 0.5, scorer: 'lite' }] },
            { name: 'stale', traffic: 0.4, arms: [{ name: 'fresh', fraction: 0.25 }, { name: 'stale', fraction: 0.75, snapshotVersion: 'snap-b' }] },
          ],
        },
        { name: 'weights', experiments: [{ name: 'hide-averse', traffic: 0.5, arms: [{ name: 'on', fraction: 1, headWeights: { save: 1, hide: -5 } }] }] },
      ],
    });
  });

  it('matches the configured fractions over 100k users, and the holdout sees no experiment', () => {
    const counts = new Map<string, number>();
    let held = 0;
    for (const u of users) {
      const a = p.assign(u);
      if (a.holdout) {
        held++;
        expect(a.arms).toEqual([]);
      }
      for (const arm of a.arms) counts.set(arm.key, (counts.get(arm.key) ?? 0) + 1);
    }
    // 4 standard deviations of a binomial share: a wrong split fails, chance does not.
    const near = (got: number, share: number): void => expect(Math.abs(got / USERS - share)).toBeLessThan(4 * Math.sqrt((share * (1 - share)) / USERS) + 1e-9);
    near(held, 0.1);
    for (const arm of p.arms) near(counts.get(arm.key) ?? 0, arm.trafficShare);
    expect(p.arms.map((a) => Math.round(a.trafficShare * 1000) / 1000)).toEqual([0.27, 0.27, 0.09, 0.27, 0.45]);
  });

  it('assigns the same arms every time', async () => {
    const again = await plan(p.config);
    for (const u of users.slice(0, 2000)) expect(again.assign(u).arms.map((a) => a.key)).toEqual(p.assign(u).arms.map((a) => a.key));
  });

  it('assigns overlapping layers independently', () => {
    let lite = 0;
    let liteAndOn = 0;
    let on = 0;
    let inPlay = 0;
    for (const u of users) {
      const a = p.assign(u);
      if (a.holdout) continue;
      inPlay++;
      const keys = new Set(a.arms.map((x) => x.key));
      const l = keys.has('ranker/scorer/lite');
      const o = keys.has('weights/hide-averse/on');
      if (l) lite++;
      if (o) on++;
      if (l && o) liteAndOn++;
    }
    // P(lite and on) = P(lite) P(on) when the layers are independent.
    expect(liteAndOn / inPlay).toBeCloseTo((lite / inPlay) * (on / inPlay), 2);
  });

  it('applies each arm of a user to the treatment', () => {
    const user = users.find((u) => {
      const keys = p.assign(u).arms.map((a) => a.key);
      return keys.includes('ranker/stale/stale') && keys.includes('weights/hide-averse/on');
    });
    const t = p.treatmentOf(user ?? '');
    expect(t).toMatchObject({ holdout: false, scorer: 'full', snapshotVersion: 'snap-b', headWeights: { save: 1, hide: -5 } });
    const held = users.find((u) => p.isHeldOut(u)) ?? '';
    expect(p.treatmentOf(held)).toMatchObject({ holdout: true, arms: [], scorer: 'full', snapshotVersion: undefined, headWeights: { save: 1, click: 0.3, hide: -2 } });
  });

  it('changes the split when the salt changes', async () => {
    const resalted = await plan({ ...p.config, layers: p.config?.layers.map((l) => ({ ...l, experiments: l.experiments.map((e) => ({ ...e, salt: `${e.name}-2` })) })) });
    const moved = users.slice(0, 2000).filter((u) => resalted.assign(u).arms[0]?.key !== p.assign(u).arms[0]?.key).length;
    expect(moved).toBeGreaterThan(400);
  });
});

describe('compilePlan', () => {
  it.each([
    [{ layers: [{ name: 'l', experiments: [{ name: 'e', arms: [{ name: 'a', fraction: 1, headWeights: { like: 1 } }] }] }] }, /headWeights: head "like" is not an output of ranking_heads\/1 \(save, click, hide\)/],
    [{ layers: [{ name: 'l', experiments: [{ name: 'e', arms: [{ name: 'a', fraction: 1, snapshotVersion: 'snap-z' }] }] }] }, /holds no snapshot "snap-z" \(it holds snap-a, snap-b\)/],
    [{ layers: [{ name: 'l', experiments: [{ name: 'e', arms: [{ name: 'a', fraction: 1, models: { tiny: '1' } }] }] }] }, /models: "tiny" is not a model the router calls/],
  ])('refuses %j', async (config, message) => {
    await expect(plan(config)).rejects.toThrow(message);
  });
});
