import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CurveRow } from '../pinnerformer/learning-curve';
import { type RunSummary } from '../pinnerformer/run-pinnerformer';
import { meanAndStdError, meanOverRuns, meanStd, pairedDifference } from './metrics';
import { type PinnerformerEvaluation } from './pinnerformer-report';

/** One trained run as the comparison reads it. */
export interface ComparedRun {
  dir: string;
  evaluation: PinnerformerEvaluation;
  run: RunSummary | null;
  curve: CurveRow[];
}

/** Mean ± sample std over a group's runs (seeds), and the single values. */
export interface Spread {
  mean: number;
  std: number;
  values: number[];
}

/** One group (an objective over seeds) summarised. */
export interface GroupSummary {
  label: string;
  runs: ComparedRun[];
  /** Cutoff Recall@k over seeds, and its standard error over users (of the per-user mean over seeds). */
  cutoff: Spread & { stdError: number; users: number };
  cutoffHeldOut: Spread;
  realtime: Spread & { stdError: number; users: number };
  realtimeSession: Spread;
  realtimeLater: Spread;
  daily: Spread;
  targetsPerBatch: Spread;
  finalStep: Spread;
  examplesSeen: Spread;
  targetsSeen: Spread;
  stopReasons: string[];
}

/** A paired comparison of two groups on the same users. */
export interface Comparison {
  better: string;
  worse: string;
  /** Cutoff: mean over users of (mean over seeds of `better`) − (mean over seeds of `worse`), and its standard error over users. */
  cutoff: { mean: number; stdError: number; n: number };
  /** The same difference seed by seed (seed i of one against seed i of the other). */
  perSeed: number[];
  /** Standard error including the training-seed spread: √(SE_users² + s²_seeds / seeds). */
  combinedStdError: number;
  /** Realtime (held-out users anchored on an action), same construction. */
  realtime: { mean: number; stdError: number; n: number };
  verdict: 'reproduced' | 'reversed' | 'not reproduced (tie)';
}

/** Reads `eval.json`, `run.json` (when present) and `curve.json` of run directories. Thrown by: a run without `eval.json`. */
export async function readRuns(dirs: readonly string[]): Promise<ComparedRun[]> {
  const out: ComparedRun[] = [];
  for (const dir of dirs) {
    const evaluation = JSON.parse(await readFile(join(dir, 'eval.json'), 'utf8')) as PinnerformerEvaluation;
    if (!evaluation.model?.cutoff) throw new Error(`${dir}/eval.json has no cutoff evaluation; run \`pinrank train pinnerformer-eval --run ${dir}\``);
    const optional = async <T>(file: string, fallback: T): Promise<T> => {
      try {
        return JSON.parse(await readFile(join(dir, file), 'utf8')) as T;
      } catch {
        return fallback;
      }
    };
    out.push({ dir, evaluation, run: await optional<RunSummary | null>('run.json', null), curve: await optional<CurveRow[]>('curve.json', []) });
  }
  return out;
}

const spread = (values: number[]): Spread => ({ ...meanStd(values), values });

/** Summarises a group of runs. Thrown by: runs evaluated on different users (RangeError). */
export function summariseGroup(label: string, runs: ComparedRun[]): GroupSummary {
  const cutoffUsers = meanOverRuns(runs.map((r) => r.evaluation.model.cutoff.perUser));
  const realtimeUsers = meanOverRuns(runs.map((r) => r.evaluation.model.realtime.perUser));
  const se = (xs: Array<number | null>): { stdError: number; users: number } => {
    const s = meanAndStdError(xs.filter((x): x is number => x !== null));
    return { stdError: s.stdError, users: s.n };
  };
  const stat = (pick: (r: ComparedRun) => number | undefined): Spread => spread(runs.map((r) => pick(r) ?? NaN));
  return {
    label,
    runs,
    cutoff: { ...stat((r) => r.evaluation.model.cutoff.recallAtK), ...se(cutoffUsers) },
    cutoffHeldOut: stat((r) => r.evaluation.model.cutoff.heldOut.recallAtK),
    realtime: { ...stat((r) => r.evaluation.model.realtime.recallAtK), ...se(realtimeUsers) },
    realtimeSession: stat((r) => r.evaluation.model.realtime.groups?.['session']?.recallAtK),
    realtimeLater: stat((r) => r.evaluation.model.realtime.groups?.['later']?.recallAtK),
    daily: stat((r) => r.evaluation.model.daily.recallAtK),
    targetsPerBatch: stat((r) => r.run?.meanTargetsPerBatch),
    finalStep: stat((r) => r.run?.finalStep),
    examplesSeen: stat((r) => r.run?.examplesSeen),
    targetsSeen: stat((r) => r.run?.targetsSeen),
    stopReasons: runs.map((r) => r.run?.stopReason ?? '?'),
  };
}

/**
 * Compares two groups on the cutoff evaluation: paired over users (each user's
 * recall averaged over the group's seeds), seed by seed, and a verdict on
 * "better > worse": reproduced when the difference is above two combined
 * standard errors, reversed when below minus two, a tie otherwise.
 */
export function compareGroups(better: GroupSummary, worse: GroupSummary): Comparison {
  const a = meanOverRuns(better.runs.map((r) => r.evaluation.model.cutoff.perUser));
  const b = meanOverRuns(worse.runs.map((r) => r.evaluation.model.cutoff.perUser));
  const cutoff = pairedDifference(a, b);
  const seeds = Math.min(better.runs.length, worse.runs.length);
  const perSeed = Array.from({ length: seeds }, (_, i) =>
    pairedDifference(better.runs[i]!.evaluation.model.cutoff.perUser, worse.runs[i]!.evaluation.model.cutoff.perUser).mean,
  );
  const seedStd = seeds > 1 ? meanStd(perSeed).std : 0;
  const combinedStdError = Math.sqrt(cutoff.stdError ** 2 + (seedStd * seedStd) / Math.max(1, seeds));
  const realtime = pairedDifference(
    meanOverRuns(better.runs.map((r) => r.evaluation.model.realtime.perUser)),
    meanOverRuns(worse.runs.map((r) => r.evaluation.model.realtime.perUser)),
  );
  const verdict = cutoff.mean > 2 * combinedStdError ? 'reproduced' : cutoff.mean < -2 * combinedStdError ? 'reversed' : 'not reproduced (tie)';
  return { better: better.label, worse: worse.label, cutoff, perSeed, combinedStdError, realtime, verdict };
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');
const pm = (s: Spread): string => (s.values.length > 1 ? `${f3(s.mean)} ± ${f3(s.std)}` : f3(s.mean));
const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;

/** The markdown table of the groups (cutoff with its user standard error, held-out part, realtime split, daily, supervision). */
export function compareTable(groups: readonly GroupSummary[]): string {
  const head =
    '| objective | seeds | Recall@10 cutoff (± seed std) | SE over users | cutoff, held-out users | realtime | realtime: session continuation | realtime: later | daily batch | targets per batch | steps (stop) | examples seen |';
  const rows = groups.map((g) => {
    const stops = [...new Set(g.stopReasons)].join('/');
    return (
      `| ${g.label} | ${g.runs.length} | ${pm(g.cutoff)} | ±${f3(g.cutoff.stdError)} (${g.cutoff.users}) | ${pm(g.cutoffHeldOut)} | ${pm(g.realtime)} | ` +
      `${pm(g.realtimeSession)} | ${pm(g.realtimeLater)} | ${pm(g.daily)} | ${g.targetsPerBatch.mean.toFixed(0)} | ` +
      `${g.finalStep.values.join(', ')} (${stops}) | ${Math.round(g.examplesSeen.mean).toLocaleString('en-US')} |`
    );
  });
  const floors = groups[0]?.runs[0]?.evaluation;
  if (floors) {
    const e = floors;
    rows.push(
      `| floor: mean content | — | ${f3(e.meanContent.cutoff.recallAtK)} | ±${f3(e.meanContent.cutoff.stdError)} | ${f3(e.meanContent.cutoff.heldOut.recallAtK)} | ` +
        `${f3(e.meanContent.realtime.recallAtK)} | ${f3(e.meanContent.realtime.groups?.['session']?.recallAtK ?? NaN)} | ` +
        `${f3(e.meanContent.realtime.groups?.['later']?.recallAtK ?? NaN)} | ${f3(e.meanContent.daily.recallAtK)} | – | – | – |`,
      `| floor: popularity | — | ${f3(e.popularityCutoff.recallAtK)} | ±${f3(e.popularityCutoff.stdError)} | ${f3(e.popularityCutoff.heldOut.recallAtK)} | ` +
        `${f3(e.popularity.recallAtK)} | ${f3(e.popularity.groups?.['session']?.recallAtK ?? NaN)} | ${f3(e.popularity.groups?.['later']?.recallAtK ?? NaN)} | – | – | – | – |`,
    );
  }
  return [head, `|${'---|'.repeat(12)}`, ...rows].join('\n');
}

/** The markdown table of comparisons with their verdicts. */
export function comparisonTable(comparisons: readonly Comparison[]): string {
  const head = '| published ordering | cutoff difference ± SE (users) | per seed | combined SE | realtime difference ± SE | verdict |';
  const rows = comparisons.map(
    (c) =>
      `| ${c.better} > ${c.worse} | ${signed(c.cutoff.mean)} ± ${c.cutoff.stdError.toFixed(3)} | ${c.perSeed.map(signed).join(', ')} | ` +
      `${c.combinedStdError.toFixed(3)} | ${signed(c.realtime.mean)} ± ${c.realtime.stdError.toFixed(3)} | ${c.verdict} |`,
  );
  return [head, '|---|---|---|---|---|---|', ...rows].join('\n');
}

const COLOURS = ['#4a78b5', '#d1603d', '#3d9a5b', '#8e5fb0', '#b59a2b', '#555555'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Learning curves: the held-out loss of every run against the examples seen (one colour per group). */
export function validationCurveSvg(groups: readonly GroupSummary[], title: string): string {
  const W = 720;
  const H = 420;
  const left = 60;
  const right = 200;
  const top = 40;
  const bottom = 50;
  const lines = groups.flatMap((g, gi) =>
    g.runs.map((r) => ({
      colour: COLOURS[gi % COLOURS.length] as string,
      points: r.curve.filter((c) => c.validationLoss !== undefined).map((c) => [c.step * (r.run?.batchSize ?? 32), c.validationLoss as number] as const),
    })),
  );
  const all = lines.flatMap((l) => l.points);
  const xMax = Math.max(1, ...all.map((p) => p[0]));
  const yMin = Math.min(...all.map((p) => p[1]));
  const yMax = Math.max(...all.map((p) => p[1]));
  const x = (v: number): number => left + (v / xMax) * (W - left - right);
  const y = (v: number): number => top + (1 - (v - yMin) / Math.max(1e-9, yMax - yMin)) * (H - top - bottom);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${left}" x2="${W - right}" y1="${H - bottom}" y2="${H - bottom}" stroke="black"/>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${H - bottom}" stroke="black"/>`,
    `<text x="${(left + W - right) / 2}" y="${H - 15}" text-anchor="middle">sequences (examples) seen</text>`,
    `<text x="${left}" y="${H - bottom + 15}" text-anchor="middle">0</text>`,
    `<text x="${W - right}" y="${H - bottom + 15}" text-anchor="middle">${Math.round(xMax).toLocaleString('en-US')}</text>`,
    `<text x="${left - 6}" y="${top + 4}" text-anchor="end">${Number.isFinite(yMax) ? yMax.toFixed(2) : ''}</text>`,
    `<text x="${left - 6}" y="${H - bottom}" text-anchor="end">${Number.isFinite(yMin) ? yMin.toFixed(2) : ''}</text>`,
  ];
  for (const l of lines)
    if (l.points.length > 0)
      parts.push(`<polyline fill="none" stroke="${l.colour}" stroke-width="1.5" points="${l.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`);
  groups.forEach((g, gi) => {
    const ly = top + 10 + gi * 18;
    parts.push(`<line x1="${W - right + 15}" x2="${W - right + 35}" y1="${ly}" y2="${ly}" stroke="${COLOURS[gi % COLOURS.length]}" stroke-width="3"/>`);
    parts.push(`<text x="${W - right + 40}" y="${ly + 4}">${esc(g.label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Bars of the cutoff Recall@k per group with ±2 SE (users) whiskers and one dot per seed. */
export function cutoffRecallSvg(groups: readonly GroupSummary[], title: string, min = 0, max = 0.3): string {
  const W = 720;
  const barH = 22;
  const left = 230;
  const top = 40;
  const H = top + groups.length * (barH + 12) + 30;
  const x = (v: number): number => left + ((Math.min(max, Math.max(min, v)) - min) / (max - min)) * (W - left - 60);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  groups.forEach((g, i) => {
    const yy = top + i * (barH + 12);
    const c = g.cutoff;
    parts.push(`<text x="${left - 8}" y="${yy + barH / 2 + 4}" text-anchor="end">${esc(g.label)}</text>`);
    parts.push(`<rect x="${left}" y="${yy}" width="${(x(c.mean) - left).toFixed(1)}" height="${barH}" fill="#9db8dc"/>`);
    if (Number.isFinite(c.stdError))
      parts.push(
        `<line x1="${x(c.mean - 2 * c.stdError).toFixed(1)}" x2="${x(c.mean + 2 * c.stdError).toFixed(1)}" y1="${yy + barH / 2}" y2="${yy + barH / 2}" stroke="black" stroke-width="2"/>`,
      );
    for (const v of c.values) parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${yy + barH / 2}" r="3" fill="#d1603d"/>`);
    parts.push(`<text x="${(x(c.mean + 2 * (c.stdError || 0)) + 6).toFixed(1)}" y="${yy + barH / 2 + 4}">${c.mean.toFixed(3)}</text>`);
  });
  const axisY = H - 22;
  parts.push(`<line x1="${left}" x2="${W - 60}" y1="${axisY}" y2="${axisY}" stroke="black"/>`);
  parts.push(`<text x="${left}" y="${axisY + 15}" text-anchor="middle">${min}</text><text x="${W - 60}" y="${axisY + 15}" text-anchor="middle">${max}</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
