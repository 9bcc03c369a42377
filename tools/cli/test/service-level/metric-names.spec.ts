import { exportedMetrics, isExported, metricNamesInPromQL } from './metric-names';

describe('metricNamesInPromQL', () => {
  it('finds the metrics and skips functions, keywords, label names, values and durations', () => {
    expect(
      metricNamesInPromQL(
        'sum by (service, method) (rate(rpc_server_requests_total{code=~"UNKNOWN|INTERNAL",method!="x_total"}[5m])) / sum by (service) (rate(rpc_server_requests_total[$__rate_interval])) > 0.01',
      ),
    ).toEqual(['rpc_server_requests_total']);
    expect(metricNamesInPromQL('histogram_quantile(0.99, sum by (le, stage) (rate(pinrank_router_stage_duration_seconds_bucket{stage!="total"}[5m]))) > 0.15')).toEqual([
      'pinrank_router_stage_duration_seconds_bucket',
    ]);
    expect(metricNamesInPromQL('embedding_store_active_snapshot_age_seconds > 2 * 86400')).toEqual(['embedding_store_active_snapshot_age_seconds']);
    expect(metricNamesInPromQL('absent(embedding_store_active_snapshot_info)')).toEqual(['embedding_store_active_snapshot_info']);
    expect(metricNamesInPromQL('a_total / on (model) group_left (provider) b unless c offset 5m')).toEqual(['a_total', 'b', 'c']);
  });
});

describe('exportedMetrics / isExported', () => {
  const text = [
    '# HELP h_seconds x',
    '# TYPE h_seconds histogram',
    '# HELP c_total x',
    '# TYPE c_total counter',
    'c_total{a="1"} 2',
    '# TYPE g gauge',
    'g 1',
  ].join('\n');
  const e = exportedMetrics(text);
  it('accepts families, samples and a histogram’s series even before any observation', () => {
    expect(['h_seconds_bucket', 'h_seconds_count', 'c_total', 'g'].map((n) => isExported(n, e))).toEqual([true, true, true, true]);
  });
  it('refuses what is not there', () => {
    expect(['c_total_bucket', 'h_second_bucket', 'nope'].map((n) => isExported(n, e))).toEqual([false, false, false]);
  });
});
