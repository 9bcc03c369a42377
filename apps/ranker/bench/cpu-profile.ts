// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by
// package, so a benchmark can print where a process spent its CPU.
//   npx tsx apps/ranker/bench/cpu-profile.ts <file.cpuprofile> [--top 25] [--last-ms N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One line of a summary: a name, its self time in ms and its share of the sampled time. */
export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

/** What a profile spent its time on. */
export interface ProfileSummary {
  /** Sampled time, ms (idle included). */
  totalMs: number;
  /** Time in the `(idle)` node, ms. */
  idleMs: number;
  /** Top functions by self time (`name file:line`). */
  functions: SelfTime[];
  /** Self time by package (`node_modules/<pkg>`), `node:` internals, `(gc)`, `(program)` or `app`. */
  packages: SelfTime[];
}

function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node: internals';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m?.[1]) return m[1];
  const app = /\/(apps|libs|tools)\/([^/]+)\//.exec(url);
  return app ? `${app[1]}/${app[2]}` : 'other';
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const m = /\/((?:apps|libs|tools)\/.*)$/.exec(url);
  return m?.[1] ?? url.replace(/^file:\/\//, '');
}

function top(map: Map<string, number>, totalUs: number, n: number): SelfTime[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: us / 1000, share: totalUs > 0 ? us / totalUs : 0 }));
}

/**
 * Self time per function and per package of one profile; with `lastMs`, only
 * of the samples taken in the profile's last `lastMs` milliseconds (to leave
 * start-up out: module loading dominates a short run's profile).
 */
export function summariseProfile(profile: Profile, topN = 25, lastMs?: number): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));
  const from = lastMs !== undefined ? (times.at(-1) ?? profile.endTime) - lastMs * 1000 : -Infinity;
  for (let i = 0; i < profile.samples.length; i++) {
    if ((times[i] ?? 0) < from) continue;
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = url ? `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}` : functionName || '(anonymous)';
    functions.set(name, (functions.get(name) ?? 0) + us);
    const pkg = packageOf(url, functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, functions: top(functions, busyUs, topN), packages: top(packages, busyUs, topN) };
}

/** Reads and summarises a .cpuprofile file (see {@link summariseProfile}). */
export function summariseProfileFile(file: string, topN = 25, lastMs?: number): ProfileSummary {
  return summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile, topN, lastMs);
}

/** The summary as two markdown tables (shares are of the busy, non-idle time). */
export function formatProfileSummary(title: string, s: ProfileSummary): string {
  const busy = s.totalMs - s.idleMs;
  const rows = (xs: SelfTime[]): string[] => xs.map((x) => `| ${x.name.replace(/\|/g, '\\|')} | ${x.ms.toFixed(0)} | ${(x.share * 100).toFixed(1)}% |`);
  return [
    `${title}: ${busy.toFixed(0)} ms busy of ${s.totalMs.toFixed(0)} ms sampled`,
    '',
    '| package | self ms | share of busy |',
    '|---|---|---|',
    ...rows(s.packages.slice(0, 12)),
    '',
    '| function | self ms | share of busy |',
    '|---|---|---|',
    ...rows(s.functions),
    '',
  ].join('\n');
}

// Run as a command only when this file is the entry: inlined into a bench's bundle
// (`--built`), `require.main === module` would hold for every module of it.
if (/cpu-profile\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, 'last-ms': { type: 'string' } } });
  const file = positionals[0];
  if (!file) {
    process.stderr.write('usage: cpu-profile.ts <file.cpuprofile> [--top 25] [--last-ms N]\n');
    process.exit(2);
  }
  const lastMs = values['last-ms'] !== undefined ? Number(values['last-ms']) : undefined;
  process.stdout.write(formatProfileSummary(file, summariseProfileFile(file, Number(values.top), lastMs)));
}
