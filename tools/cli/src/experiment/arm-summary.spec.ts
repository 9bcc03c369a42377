import { groupOf, summarizeArms, userDiversity } from './arm-summary';
import { type UserOutcome } from './closed-loop';
import { formatExperimentSummary } from './report';

function user(id: string, arm: string, saves: number, impressions: number, topics: Record<number, number> = { 0: impressions }): UserOutcome {
  return {
    userId: id,
    assignments: arm ? [{ layer: 'ranker', experiment: 'exp', arm }] : [],
    experiment: arm ? 'exp' : '',
    arm,
    holdout: false,
    answered: true,
    requests: 2,
    errors: 0,
    shortPages: 0,
    degraded: 0,
    impressions,
    saves,
    clicks: 1,
    hides: 0,
    topicCounts: topics,
    servedBy: { 'snapshot fresh': 2 },
  };
}

describe('summarizeArms', () => {
  const users: UserOutcome[] = [
    ...Array.from({ length: 30 }, (_, i) => user(`a${i}`, 'control', i % 3 === 0 ? 2 : 0, 10)),
    ...Array.from({ length: 30 }, (_, i) => user(`b${i}`, 'treatment', i % 3 === 0 ? 3 : 0, 10, { 0: 5, 1: 5 })),
    { ...user('h', '', 0, 10), holdout: true },
    { ...user('x', '', 0, 0), answered: false, errors: 2 },
  ];

  it('groups by reported arm in configuration order, with holdout and unknown last', () => {
    const s = summarizeArms(users, { configuredExperiments: [{ name: 'exp', arms: [{ name: 'control' }, { name: 'treatment' }] }], resamples: 200, seed: 1 });
    expect(s.experiment).toBe('exp');
    expect(s.reference).toBe('control');
    expect(s.arms.map((a) => [a.arm, a.users])).toEqual([
      ['control', 30],
      ['treatment', 30],
      ['holdout', 1],
      ['unknown', 1],
    ]);
    const [control, treatment] = s.arms as [(typeof s.arms)[number], (typeof s.arms)[number]];
    expect(control.metrics.saveRate.value).toBeCloseTo(20 / 300, 12);
    expect(treatment.metrics.saveRate.value).toBeCloseTo(30 / 300, 12);
    expect(treatment.vsReference?.saveRate.value).toBeCloseTo(0.5, 12);
    expect(control.vsReference).toBeNull();
    expect(control.servedBy).toEqual({ 'snapshot fresh': 60 });
    expect(control.metrics.diversity.value).toBe(0);
    expect(treatment.metrics.diversity.value).toBeCloseTo(1, 12);
    for (const a of s.arms.slice(0, 2)) {
      const e = a.metrics.saveRate;
      expect(e.lo as number).toBeLessThanOrEqual(e.value as number);
      expect(e.hi as number).toBeGreaterThanOrEqual(e.value as number);
    }
    const text = formatExperimentSummary(s);
    expect(text).toContain('save rate');
    expect(text).toContain('+50.0%');
  });

  it('defaults to the first experiment a response reported and reads the legacy fields', () => {
    const legacy = { ...user('l', 'b', 1, 4), assignments: [] };
    expect(groupOf(legacy, 'exp')).toBe('b');
    expect(groupOf(legacy, 'other')).toBe('outside');
    expect(summarizeArms([legacy], { resamples: 10, seed: 1 }).experiment).toBe('exp');
    expect(userDiversity({ ...legacy, impressions: 0 })).toBeNaN();
  });
});
