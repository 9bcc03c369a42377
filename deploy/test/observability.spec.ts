// The dashboard and alert rules in deploy/observability: well-formed, and the
// rules pass `promtool check rules`. That every metric they query is exported
// by the services is checked against the real services' /metrics in
// tools/cli/test/service-level/observability.integration.spec.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const dir = join(__dirname, '..', 'observability');

interface Target {
  refId: string;
  expr: string;
  datasource?: { uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** promtool on PATH, or undefined; under CI (PINRANK_REQUIRE_PROMTOOL=1) a missing promtool fails the test. */
function promtool(): string | undefined {
  const found = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (found.status === 0) return 'promtool';
  if (process.env['PINRANK_REQUIRE_PROMTOOL'] === '1') throw new Error('promtool is required (PINRANK_REQUIRE_PROMTOOL=1) but not on PATH; install the Debian package prometheus');
  return undefined;
}

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(dir, 'grafana-dashboard.json'), 'utf8')) as { uid: string; title: string; panels: Panel[]; templating: { list: Array<{ name: string; type: string }> } };
  const panels = dashboard.panels.filter((p) => p.type !== 'row');

  it('has a stable uid, a Prometheus datasource variable and unique panel ids', () => {
    expect(dashboard.uid).toBe('pinrank-overview');
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource' }));
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives every panel the datasource variable, a place on the 24-column grid and at least one query', () => {
    expect(panels.length).toBeGreaterThan(10);
    for (const p of panels) {
      expect({ title: p.title, uid: p.datasource?.uid }).toEqual({ title: p.title, uid: '${datasource}' });
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      expect(p.targets?.length).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.expr.trim()).not.toBe('');
    }
  });
});

describe('Prometheus alert rules', () => {
  const file = join(dir, 'alert-rules.yml');
  const rules = (parse(readFileSync(file, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap((g) => g.rules);

  it('covers error ratio, p99 per stage, degraded ratio, queue saturation, snapshot age, ingest lag and the action stream backlog', () => {
    const byMetric = (m: string): string[] => rules.filter((r) => r.expr.includes(m)).map((r) => r.alert ?? '');
    expect(byMetric('rpc_server_requests_total')).toContain('PinrankServerErrorRatioHigh');
    expect(byMetric('pinrank_router_stage_duration_seconds_bucket')).toEqual(['PinrankRankLatencyP99High', 'PinrankStageLatencyP99High']);
    expect(byMetric('pinrank_router_responses_total')).toEqual(['PinrankDegradedResponsesHigh']);
    expect(byMetric('reason="queue_full"')).toEqual(['PinrankInferenceQueueSaturated']);
    expect(byMetric('embedding_store_active_snapshot_age_seconds')).toEqual(['PinrankSnapshotStale']);
    expect(byMetric('feature_server_jetstream_ingest_to_visible_seconds_bucket')).toEqual(['PinrankIngestLagHigh']);
    expect(byMetric('feature_server_jetstream_backlog_actions')).toEqual(['PinrankActionStreamBacklog']);
    expect(byMetric('feature_server_jetstream_connected')).toEqual(['PinrankActionStreamDisconnected']);
    expect(byMetric('feature_server_redis_layout{mark="records+ids"}')).toEqual(['PinrankRedisTakeoverUnfinished']);
  });

  it('gives every alert a duration, a severity and a summary', () => {
    for (const r of rules) {
      expect({ alert: r.alert, for: r.for, severity: r.labels?.['severity'] }).toEqual({ alert: r.alert, for: expect.stringMatching(/^\d+m$/), severity: expect.stringMatching(/^(page|ticket)$/) });
      expect(r.annotations?.['summary']).toBeTruthy();
    }
  });

  it('passes promtool check rules', () => {
    const bin = promtool();
    if (!bin) {
      console.warn('skipped: promtool is not installed (Debian package prometheus; .ci/run installs it)');
      return;
    }
    expect(execFileSync(bin, ['check', 'rules', file], { encoding: 'utf8' })).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('fires as its unit tests expect (promtool test rules alert-rules.test.yml)', () => {
    const bin = promtool();
    if (!bin) {
      console.warn('skipped: promtool is not installed (Debian package prometheus; .ci/run installs it)');
      return;
    }
    const run = spawnSync(bin, ['test', 'rules', join(dir, 'alert-rules.test.yml')], { encoding: 'utf8' });
    expect({ status: run.status, output: `${run.stdout}${run.stderr}`.trim() }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });
});
