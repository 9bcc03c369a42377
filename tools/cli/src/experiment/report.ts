import { table } from '../remote/table';
import { METRIC_LABELS, METRICS, type ExperimentSummary, type MetricName } from './arm-summary';
import { type Estimate } from './bootstrap';

function fmt(x: number | null, metric: MetricName | 'relative'): string {
  if (x === null) return '-';
  if (metric === 'relative') return `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
  if (metric === 'diversity') return x.toFixed(3);
  return `${(100 * x).toFixed(2)}%`;
}

function ci(e: Estimate, metric: MetricName | 'relative'): string {
  return e.lo === null || e.hi === null ? '-' : `[${fmt(e.lo, metric)}, ${fmt(e.hi, metric)}]`;
}

/** The run's figures as text: a table of counts per arm and one of every metric with its interval and difference vs the reference arm. */
export function formatExperimentSummary(s: ExperimentSummary): string {
  const level = `${Math.round(s.bootstrap.level * 100)}%`;
  const counts = table(
    ['arm', 'users', 'requests', 'errors', 'short pages', 'degraded', 'impressions', 'saves', 'clicks', 'hides'],
    s.arms.map((a) => [a.arm, a.users, a.requests, a.errors, a.shortPages, a.degraded, a.impressions, a.saves, a.clicks, a.hides]),
  );
  const rows = METRICS.flatMap((m) =>
    s.arms.map((a) => {
      const e = a.metrics[m];
      const d = a.vsReference?.[m];
      return [METRIC_LABELS[m], a.arm, fmt(e.value, m), ci(e, m), d ? fmt(d.value, 'relative') : '(reference)', d ? ci(d, 'relative') : ''];
    }),
  );
  const metrics = table(['metric', 'arm', 'value', `${level} CI`, `vs ${s.reference}`, `${level} CI`], rows);
  const head = `experiment ${s.experiment || '(none reported)'}; intervals: bootstrap over users, ${s.bootstrap.resamples} resamples, seed ${s.bootstrap.seed}\n\n`;
  const served = s.arms.map((a) => `  ${a.arm}: ${Object.entries(a.servedBy).map(([k, n]) => `${k} ×${n}`).join(', ') || '-'}\n`).join('');
  return `${head}${counts}\nserved by:\n${served}\n${metrics}`;
}
