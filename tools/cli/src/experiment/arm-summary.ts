import { bootstrap, bootstrapRelativeDifference, entropyBits, meanOf, ratioOf, type Estimate, type Statistic } from './bootstrap';
import { type OutcomeCounts, type UserOutcome } from './closed-loop';

/** Group of users in the experiment holdout. */
export const HOLDOUT_GROUP = 'holdout';
/** Group of users the router placed in no arm of the analysed experiment. */
export const OUTSIDE_GROUP = 'outside';
/** Group of users whose every request failed (their arm is unknown). */
export const UNKNOWN_GROUP = 'unknown';

/** The metrics reported per arm, in report order. */
export const METRICS = ['saveRate', 'hideRate', 'clickRate', 'diversity'] as const;
/** One of {@link METRICS}. */
export type MetricName = (typeof METRICS)[number];

/** Human labels of the metrics. */
export const METRIC_LABELS: Record<MetricName, string> = {
  saveRate: 'save rate',
  hideRate: 'hide rate',
  clickRate: 'click rate (click + close-up)',
  diversity: 'topic diversity (bits)',
};

/** Per-arm figures of a run. */
export interface ArmSummary extends OutcomeCounts {
  arm: string;
  users: number;
  metrics: Record<MetricName, Estimate>;
  /** Relative difference of each metric vs the reference arm (null for the reference itself). */
  vsReference: Record<MetricName, Estimate> | null;
}

/** The analysis of a run. */
export interface ExperimentSummary {
  /** The experiment the users were grouped by ('' when the router reported none). */
  experiment: string;
  /** The arm the others are compared with (the first arm). */
  reference: string;
  arms: ArmSummary[];
  bootstrap: { resamples: number; seed: number; level: number };
}

/** Options of {@link summarizeArms}. */
export interface SummaryOptions {
  /** Experiment to group by (default: the first in `configuredExperiments`, else the first a response reported). */
  experiment?: string;
  /** Experiments of the configuration with their arms, in file order (fixes the arm order and the reference). */
  configuredExperiments?: ReadonlyArray<{ name: string; arms: ReadonlyArray<{ name: string }> }>;
  resamples: number;
  seed: number;
}

/** Per-user topic-entropy of what was shown (NaN for a user shown nothing, so means skip them). */
export function userDiversity(u: UserOutcome): number {
  return u.impressions > 0 ? entropyBits(Object.values(u.topicCounts)) : NaN;
}

const STATISTICS: Record<MetricName, Statistic<UserOutcome>> = {
  saveRate: ratioOf(
    (u) => u.saves,
    (u) => u.impressions,
  ),
  hideRate: ratioOf(
    (u) => u.hides,
    (u) => u.impressions,
  ),
  clickRate: ratioOf(
    (u) => u.clicks,
    (u) => u.impressions,
  ),
  diversity: meanOf(userDiversity),
};

function firstReportedExperiment(users: readonly UserOutcome[]): string {
  for (const u of users) {
    const e = u.assignments[0]?.experiment || u.experiment;
    if (e) return e;
  }
  return '';
}

/** The group a user counts in: their arm of `experiment`, or holdout / outside / unknown. */
export function groupOf(u: UserOutcome, experiment: string): string {
  if (!u.answered) return UNKNOWN_GROUP;
  if (u.holdout) return HOLDOUT_GROUP;
  const a = u.assignments.find((x) => x.experiment === experiment);
  if (a) return a.arm || OUTSIDE_GROUP;
  if (u.assignments.length === 0 && u.experiment === experiment && u.arm) return u.arm;
  return OUTSIDE_GROUP;
}

/**
 * Groups users by the arm their responses reported and computes, per group,
 * the counts and each metric with a bootstrap interval over users (the unit
 * of randomisation), plus each metric's relative difference vs the first arm.
 * Groups are ordered: configured arms, other arms seen, holdout, outside, unknown.
 */
export function summarizeArms(users: readonly UserOutcome[], o: SummaryOptions): ExperimentSummary {
  const experiment = o.experiment ?? o.configuredExperiments?.[0]?.name ?? firstReportedExperiment(users);
  const groups = new Map<string, UserOutcome[]>();
  for (const u of users) {
    const g = groupOf(u, experiment);
    groups.set(g, [...(groups.get(g) ?? []), u]);
  }
  const configured = o.configuredExperiments?.find((e) => e.name === experiment)?.arms.map((a) => a.name) ?? [];
  const special = [HOLDOUT_GROUP, OUTSIDE_GROUP, UNKNOWN_GROUP];
  const seen = [...groups.keys()].filter((g) => !configured.includes(g) && !special.includes(g)).sort();
  const order = [...configured, ...seen, ...special].filter((g, i, all) => groups.has(g) && all.indexOf(g) === i);
  const reference = order.find((g) => !special.includes(g)) ?? order[0] ?? '';
  const refUsers = groups.get(reference) ?? [];
  const level = 0.95;
  const boot = { resamples: o.resamples, seed: o.seed, level };
  const arms = order.map((arm, gi): ArmSummary => {
    const members = groups.get(arm) ?? [];
    const sum = (f: (u: UserOutcome) => number): number => members.reduce((s, u) => s + f(u), 0);
    const metrics = {} as Record<MetricName, Estimate>;
    const vs = {} as Record<MetricName, Estimate>;
    METRICS.forEach((m, mi) => {
      // Distinct seeds per (group, metric): intervals do not share resamples by accident.
      metrics[m] = bootstrap(members, STATISTICS[m], { ...boot, seed: o.seed + 7919 * gi + 104_729 * mi });
      vs[m] = bootstrapRelativeDifference(refUsers, members, STATISTICS[m], { ...boot, seed: o.seed + 15_485_863 * (gi + 1) + 104_729 * mi });
    });
    const servedBy: Record<string, number> = {};
    for (const u of members) for (const [key, n] of Object.entries(u.servedBy)) servedBy[key] = (servedBy[key] ?? 0) + n;
    return {
      arm,
      users: members.length,
      requests: sum((u) => u.requests),
      errors: sum((u) => u.errors),
      shortPages: sum((u) => u.shortPages),
      degraded: sum((u) => u.degraded),
      impressions: sum((u) => u.impressions),
      saves: sum((u) => u.saves),
      clicks: sum((u) => u.clicks),
      hides: sum((u) => u.hides),
      servedBy,
      metrics,
      vsReference: arm === reference ? null : vs,
    };
  });
  return { experiment, reference, arms, bootstrap: boot };
}
