import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HEADS, type Head } from '../ranker/loss';
import { type RankerEvaluation } from './evaluate-ranker';
import { type RealtimeProbeResult } from './realtime-probe';
import { meanAndSpread } from './ranking-metrics';

/** One group of runs (e.g. one variant over seeds) summarised as mean ± sample std. */
export interface ReportRow {
  label: string;
  runs: number;
  auc: Record<Head, { mean: number; std: number }>;
  hit3: Record<Head, { mean: number; std: number }>;
  /** Hides among the top 3 by the ranking score (NaN for runs evaluated before it existed). */
  rankedHide: { mean: number; std: number };
  entropy: { mean: number; std: number };
  /** Realtime probe: share of users whose topic moved up after saves and after hides (NaN when not probed). */
  savesUp: { mean: number; std: number };
  hidesUp: { mean: number; std: number };
}

interface EvalFile {
  evaluation: RankerEvaluation | null;
  oracle: RankerEvaluation | null;
  realtime?: RealtimeProbeResult | null;
}

type Evaluated = RankerEvaluation & { realtime?: RealtimeProbeResult | undefined };

/**
 * Reads `eval.json` of each run directory and summarises each group; the
 * oracle row comes from the first run that evaluated it. Thrown by: a run
 * without an evaluation (Error).
 */
export async function summariseRankerRuns(groups: ReadonlyArray<{ label: string; runDirs: readonly string[] }>): Promise<ReportRow[]> {
  const rows: ReportRow[] = [];
  let oracle: RankerEvaluation | undefined;
  for (const g of groups) {
    const evals: Evaluated[] = [];
    for (const dir of g.runDirs) {
      const f = JSON.parse(await readFile(join(dir, 'eval.json'), 'utf8')) as EvalFile;
      if (!f.evaluation) throw new Error(`${dir}/eval.json holds no evaluation`);
      evals.push({ ...f.evaluation, realtime: f.realtime ?? undefined });
      oracle ??= f.oracle ?? undefined;
    }
    rows.push(summarise(g.label, evals));
  }
  if (oracle) rows.push(summarise('oracle (ceiling)', [oracle]));
  return rows;
}

function summarise(label: string, evals: readonly Evaluated[]): ReportRow {
  const per = (pick: (e: RankerEvaluation) => Record<Head, number>): Record<Head, { mean: number; std: number }> =>
    Object.fromEntries(HEADS.map((h) => [h, meanAndSpread(evals.map((e) => pick(e)[h]))])) as Record<Head, { mean: number; std: number }>;
  const one = (pick: (e: Evaluated) => number | undefined): { mean: number; std: number } => meanAndSpread(evals.map((e) => pick(e) ?? NaN));
  return {
    label,
    runs: evals.length,
    auc: per((e) => e.auc),
    hit3: per((e) => e.hit3),
    rankedHide: one((e) => e.rankedHideHit3),
    entropy: one((e) => e.top10TopicEntropy),
    savesUp: one((e) => e.realtime?.saves.movedUp),
    hidesUp: one((e) => e.realtime?.hides.movedUp),
  };
}

const fmt = (v: { mean: number; std: number }, runs: number): string =>
  Number.isNaN(v.mean) ? '–' : runs > 1 ? `${v.mean.toFixed(3)} ± ${v.std.toFixed(3)}` : v.mean.toFixed(3);

/**
 * A markdown table of the rows: AUC and HIT@3 per head (each head ranking by its own probability),
 * hides in the top 3 by the ranking score, top-10 topic entropy and the realtime probe.
 */
export function reportTable(rows: readonly ReportRow[]): string {
  const head =
    `| variant | runs | ${HEADS.map((h) => `AUC ${h}`).join(' | ')} | ${HEADS.map((h) => `HIT@3 ${h}`).join(' | ')} | ` +
    'hides in top 3 by score (lower is better) | top-10 topic entropy (bits) | realtime: saves move topic up | realtime: hides move topic up |';
  const sep = `|${'---|'.repeat(6 + 2 * HEADS.length)}`;
  const body = rows.map(
    (r) =>
      `| ${r.label} | ${r.runs} | ${HEADS.map((h) => fmt(r.auc[h], r.runs)).join(' | ')} | ${HEADS.map((h) => fmt(r.hit3[h], r.runs)).join(' | ')} | ` +
      `${fmt(r.rankedHide, r.runs)} | ${fmt(r.entropy, r.runs)} | ${fmt(r.savesUp, r.runs)} | ${fmt(r.hidesUp, r.runs)} |`,
  );
  return [head, sep, ...body].join('\n');
}

/** An SVG bar chart of one metric over the rows (bars with ±1 std whiskers), axis from `min` to `max`. */
export function reportSvg(rows: readonly ReportRow[], title: string, pick: (r: ReportRow) => { mean: number; std: number }, min: number, max: number): string {
  const W = 720;
  const barH = 22;
  const left = 270;
  const top = 40;
  const H = top + rows.length * (barH + 10) + 30;
  const x = (v: number): number => left + ((Math.min(max, Math.max(min, v)) - min) / (max - min)) * (W - left - 40);
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  rows.forEach((r, i) => {
    const v = pick(r);
    const y = top + i * (barH + 10);
    parts.push(`<text x="${left - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${esc(r.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y}" width="${(x(v.mean) - left).toFixed(1)}" height="${barH}" fill="#4a78b5"/>`);
    if (v.std > 0)
      parts.push(`<line x1="${x(v.mean - v.std).toFixed(1)}" x2="${x(v.mean + v.std).toFixed(1)}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="black" stroke-width="2"/>`);
    parts.push(`<text x="${(x(v.mean) + 4).toFixed(1)}" y="${y + barH / 2 + 4}">${v.mean.toFixed(3)}</text>`);
  });
  const axisY = H - 22;
  parts.push(`<line x1="${left}" x2="${W - 40}" y1="${axisY}" y2="${axisY}" stroke="black"/>`);
  parts.push(`<text x="${left}" y="${axisY + 15}" text-anchor="middle">${min}</text><text x="${W - 40}" y="${axisY + 15}" text-anchor="middle">${max}</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
