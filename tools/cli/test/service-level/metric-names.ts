// Metric names on both sides of the dashboard check: those a PromQL
// expression reads, and those a /metrics page exports.

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'on', 'ignoring', 'group_left', 'group_right', 'by', 'without']);
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/**
 * The metric names a PromQL expression (Prometheus rule or Grafana target)
 * reads: identifiers that are not functions, keywords, label names in
 * matchers or grouping clauses, or string contents.
 */
export function metricNamesInPromQL(expr: string): string[] {
  const bare = expr
    .replace(/\$__\w+/g, '5m')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(?=\s*(\(?))/g)) {
    const [, name, paren] = m;
    if (!name || paren === '(' || KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** A /metrics page's metric families (from `# TYPE`) and sample names. */
export interface Exported {
  families: Map<string, string>;
  samples: Set<string>;
}

/** Parses Prometheus text exposition into families (name → type) and sample names. */
export function exportedMetrics(text: string): Exported {
  const families = new Map<string, string>();
  const samples = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type?.[1] && type[2]) families.set(type[1], type[2]);
    else if (line && !line.startsWith('#')) samples.add(line.split(/[{\s]/)[0] as string);
  }
  return { families, samples };
}

/** Whether `name`, as a query reads it, is exported: a sample, a family, or a histogram's series. */
export function isExported(name: string, exported: Exported): boolean {
  if (exported.samples.has(name) || exported.families.has(name)) return true;
  const suffix = HISTOGRAM_SUFFIXES.find((s) => name.endsWith(s));
  return suffix !== undefined && ['histogram', 'summary'].includes(exported.families.get(name.slice(0, -suffix.length)) ?? '');
}
