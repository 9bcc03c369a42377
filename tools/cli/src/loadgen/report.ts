import { table } from '../remote/table';
import { type LoadOptions } from './options';
import { type LatencySummary } from './recorder';
import { type LoadProgress, type LoadResult } from './runner';

/** What a load run targeted, echoed in the report. */
export interface LoadTarget {
  /** Server address. */
  address: string;
  /** RPC name. */
  rpc: string;
  /** Where users and candidates came from (a world directory or "lists"). */
  workload: string;
  /** Candidates per request. */
  candidates: number;
}

/** The `--json` document of a run. */
export interface LoadReport {
  target: LoadTarget;
  mode: LoadOptions['mode'];
  /** Target QPS (open loop) or null. */
  qps: number | null;
  /** Callers (closed loop) or null. */
  concurrency: number | null;
  warmupMs: number;
  deadlineMs: number;
  stoppedBy: LoadResult['stoppedBy'];
  measuredMs: number;
  sent: number;
  ok: number;
  errors: number;
  errorsByStatus: Record<string, number>;
  dropped: number;
  warmupSent: number;
  /** Successful calls per second. */
  throughput: number;
  sendRate: number;
  /** Latency in ms of successful and failed calls. */
  latencyMs: { ok: LatencySummary; error: LatencySummary };
}

/** Puts the run's options, target and result into one document. */
export function buildReport(target: LoadTarget, opts: LoadOptions, r: LoadResult): LoadReport {
  return {
    target,
    mode: opts.mode,
    qps: opts.mode === 'open' ? (opts.qps ?? null) : null,
    concurrency: opts.mode === 'closed' ? opts.concurrency : null,
    warmupMs: opts.warmupMs,
    deadlineMs: opts.deadlineMs,
    stoppedBy: r.stoppedBy,
    measuredMs: round(r.measuredMs),
    sent: r.counts.sent,
    ok: r.counts.ok,
    errors: r.counts.errors,
    errorsByStatus: r.counts.errorsByStatus,
    dropped: r.counts.dropped,
    warmupSent: r.counts.warmupSent,
    throughput: round(r.throughput),
    sendRate: round(r.sendRate),
    latencyMs: { ok: roundSummary(r.okLatency), error: roundSummary(r.errorLatency) },
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function roundSummary(s: LatencySummary): LatencySummary {
  return { count: s.count, mean: round(s.mean), p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), p999: round(s.p999), max: round(s.max) };
}

/** The human-readable summary: header lines, a latency table, and errors by status. */
export function formatReport(rep: LoadReport): string {
  const load = rep.mode === 'open' ? `open loop at ${rep.qps} qps` : `closed loop, ${rep.concurrency} callers`;
  const lines = [
    `${rep.target.rpc} at ${rep.target.address}: ${load}, ${(rep.measuredMs / 1000).toFixed(1)} s measured after ${rep.warmupMs / 1000} s warm-up (stopped by ${rep.stoppedBy})`,
    `workload: ${rep.target.workload}, ${rep.target.candidates} candidates`,
    `sent ${rep.sent}  ok ${rep.ok}  errors ${rep.errors}  dropped ${rep.dropped}  throughput ${rep.throughput.toFixed(1)}/s  send rate ${rep.sendRate.toFixed(1)}/s`,
    '',
  ];
  const row = (name: string, s: LatencySummary): Array<string | number> => [name, s.count, ms(s.p50), ms(s.p90), ms(s.p99), ms(s.p999), ms(s.max), ms(s.mean)];
  const rows = [row('ok', rep.latencyMs.ok)];
  if (rep.latencyMs.error.count > 0) rows.push(row('error', rep.latencyMs.error));
  let text = lines.join('\n') + '\n' + table(['latency ms', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean'], rows);
  const statuses = Object.entries(rep.errorsByStatus).sort((a, b) => b[1] - a[1]);
  if (statuses.length) text += '\n' + table(['status', 'count', 'share'], statuses.map(([s, n]) => [s, n, `${((100 * n) / Math.max(1, rep.sent)).toFixed(2)}%`]));
  if (rep.dropped > 0) text += `\n${rep.dropped} requests were due while the outstanding limit was reached and were not sent (the server or this process could not keep up)\n`;
  return text;
}

function ms(v: number): string {
  return v.toFixed(2);
}

/** One progress line (drawn over itself on a terminal): measured counts, or the warm-up's sends while it lasts. */
export function formatProgress(p: LoadProgress): string {
  const c = p.counts;
  const t = `${(p.elapsedMs / 1000).toFixed(0)}s`;
  const rate = `in flight ${p.outstanding}  ${p.currentQps.toFixed(0)}/s`;
  if (!p.measuring) return `${t}  warm-up: sent ${c.warmupSent}  ${rate}`;
  return `${t}  sent ${c.sent}  ok ${c.ok}  errors ${c.errors}  dropped ${c.dropped}  ${rate}  p99 ${p.p99Ms.toFixed(2)} ms`;
}
