import { Counter, Histogram, Registry, type MetricObjectWithValues, type MetricValue, type RegistryContentType } from 'prom-client';
import { RPC_LATENCY_BUCKETS } from './metrics';
import { RpcSeries } from './rpc-series';

const NAMES = { counter: 'x_requests_total', counterHelp: 'Requests.', histogram: 'x_duration_seconds', histogramHelp: 'Latency.' };

/** The same observations into prom-client's own Counter and Histogram, and into an RpcSeries. */
function bothWays(observations: Array<[Record<string, string>, number]>, contentType: RegistryContentType = Registry.PROMETHEUS_CONTENT_TYPE): { own: Registry<RegistryContentType>; ours: Registry<RegistryContentType> } {
  const own = new Registry<RegistryContentType>();
  own.setContentType(contentType);
  const labelNames = ['service', 'method', 'code', 'model'];
  const counter = new Counter({ name: NAMES.counter, help: NAMES.counterHelp, labelNames, registers: [own] });
  const histogram = new Histogram({ name: NAMES.histogram, help: NAMES.histogramHelp, labelNames, buckets: [...RPC_LATENCY_BUCKETS], registers: [own] });
  const ours = new Registry<RegistryContentType>();
  ours.setContentType(contentType);
  const series = new RpcSeries(ours, NAMES, RPC_LATENCY_BUCKETS);
  for (const [labels, seconds] of observations) {
    counter.inc(labels);
    histogram.observe(labels, seconds);
    series.observe(Object.values(labels).join('\u0000'), () => labels, seconds);
  }
  return { own, ours };
}

const SAMPLE: Array<[Record<string, string>, number]> = [
  [{ service: 'pinrank.v1.Ranker', method: 'Rank', code: 'OK' }, 0.004],
  [{ service: 'pinrank.v1.Ranker', method: 'Rank', code: 'OK' }, 0.02],
  [{ service: 'pinrank.v1.Ranker', method: 'Rank', code: 'OK' }, 0.0005], // on a bound: counted in it
  [{ service: 'pinrank.v1.Ranker', method: 'Rank', code: 'DEADLINE_EXCEEDED' }, 0.3],
  [{ service: 'inference.GRPCInferenceService', method: 'ModelInfer', code: 'OK', model: 'ranking_heads' }, 0.0021],
  [{ service: 'pinrank.v1.Ranker', method: 'Rank', code: 'OK' }, 42], // past the last bound: only +Inf
];

describe('RpcSeries', () => {
  it("exposes, line for line, what prom-client's Counter and Histogram expose for the same calls", async () => {
    const { own, ours } = bothWays(SAMPLE);
    const text = await ours.metrics();
    expect(text).toBe(await own.metrics());
    expect(text).toContain('x_duration_seconds_bucket{le="0.0005",service="pinrank.v1.Ranker",method="Rank",code="OK"} 1');
    expect(text).toContain('x_requests_total{service="inference.GRPCInferenceService",method="ModelInfer",code="OK",model="ranking_heads"} 1');
  });

  it('lists the same JSON as prom-client (every value with all its labels) and the same OpenMetrics text', async () => {
    const { own, ours } = bothWays(SAMPLE);
    // Exemplars are off (prom-client lists them as null).
    const withoutExemplars = (metrics: Array<MetricObjectWithValues<MetricValue<string>>>): unknown =>
      metrics.map((m) => ({ ...m, values: m.values.map((v) => ({ ...v, exemplar: undefined })) }));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await own.getMetricsAsJSON()));
    const open = bothWays(SAMPLE, Registry.OPENMETRICS_CONTENT_TYPE);
    expect(await open.ours.metrics()).toBe(await open.own.metrics());
  });

  it('is emptied by the registry reset, and refuses bounds that are not increasing', async () => {
    const { ours } = bothWays(SAMPLE);
    ours.resetMetrics();
    expect(await ours.metrics()).not.toMatch(/^x_requests_total\{/m);
    expect(() => new RpcSeries(new Registry(), NAMES, [0.1, 0.1])).toThrow(/increasing/);
  });
});
