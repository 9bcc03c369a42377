// Service-level: `pinrank start` launched the way the README says to see traces
// (the standard OTEL_* variables, no OTEL_TRACES_EXPORTER) sends one Rank's
// spans to an OTLP collector with the resource and RPC attributes the
// conventions ask for; every service's real /metrics passes
// `promtool check metrics`; and every metric the shipped dashboard and alert
// rules query is exported by the services.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { status } from '@grpc/grpc-js';
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { RankRequest, RankerClient } from '@pinrank/proto';
import { openClient } from '../../src/remote/call';
import { itemId, userId } from '@pinrank/sim';
import { parse } from 'yaml';
import { version } from '../../package.json';
import { ensureStackPki, stackClientTls } from '../../src/stack/stack-pki';
import { freeStackBase } from './free-stack-base';
import { call, failure } from './grpc-call';
import { exportedMetrics, isExported, metricNamesInPromQL, type Exported } from './metric-names';
import { OtlpJsonReceiver, type ReceivedSpan } from './otlp-receiver';
import { REPO_ROOT } from './stack-fixture';

const OFFSETS = { router: 0, 'feature-server': 1, 'embedding-store': 2, 'gpu-worker': 11, 'cpu-worker': 12 } as const;
type Service = keyof typeof OFFSETS;

/** promtool on PATH; a missing one skips the check with a message, or fails it under CI (PINRANK_REQUIRE_PROMTOOL=1). */
function promtool(): string | undefined {
  if (spawnSync('promtool', ['--version']).status === 0) return 'promtool';
  if (process.env['PINRANK_REQUIRE_PROMTOOL'] === '1') throw new Error('promtool is required (PINRANK_REQUIRE_PROMTOOL=1) but not on PATH; install the Debian package prometheus');
  return undefined;
}

let receiver: OtlpJsonReceiver;
let stack: ChildProcess | undefined;
let dataDir: string;
let base: number;
let ranker: RankerClient;
const output: string[] = [];

beforeAll(async () => {
  receiver = await OtlpJsonReceiver.start();
  dataDir = await mkdtemp(join(tmpdir(), 'pinrank-observability-'));
  base = await freeStackBase();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=service-level-test',
  };
  delete env['OTEL_TRACES_EXPORTER'];
  delete env['OTEL_SDK_DISABLED'];
  // Every hop of a split Rank, as a GPU deployment runs it, also where the GPU-role worker finds no GPU
  // (there the router would chain both models on it: supervise.integration.spec.ts checks that).
  env['RANKER_AUTO_CHAIN'] = 'false';
  const args = ['start', '--data', dataDir, '--port', String(base), '--users', '150', '--items', '800', '--days', '10', '--no-replay', '--no-progress'];
  // Its own process group, so a failed test can stop the services it started too.
  const child = spawn(process.execPath, [join(REPO_ROOT, 'tools', 'cli', 'bin', 'pinrank.cjs'), ...args], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  stack = child;
  const running = new Promise<void>((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (output.length > 400) output.shift();
        if (line.includes('pinrank is running')) resolve();
      });
    }
    child.once('exit', (code) => reject(new Error(`pinrank start exited (code ${code}) before the stack ran:\n${output.slice(-40).join('\n')}`)));
  });
  await running;
  // The stack runs with mutual TLS: call it as the operator, with the certificate it issued.
  ranker = openClient(RankerClient, `127.0.0.1:${base}`, stackClientTls(ensureStackPki(dataDir, '127.0.0.1'), SERVICE_IDENTITIES.operator));
}, 600_000);

afterAll(async () => {
  ranker?.close();
  const child = stack;
  if (child?.pid !== undefined && child.exitCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }, 60_000);
    await exited;
    clearTimeout(timer);
  }
  await receiver?.close();
  await rm(dataDir, { recursive: true, force: true });
}, 120_000);

const metricsOf = async (service: Service): Promise<string> => {
  const res = await fetch(`http://127.0.0.1:${base + OFFSETS[service] + 1000}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
};

describe('pinrank start with the standard OTEL_* variables', () => {
  it('exports one Rank as spans with service and SDK resource attributes, server.address/port on CLIENT spans, and client mistakes not marked as errors', async () => {
    const res = await call(ranker.rank.bind(ranker), RankRequest.fromPartial({ userId: userId(3), candidateItemIds: Array.from({ length: 20 }, (_, k) => itemId(k * 37)) }));
    expect(res.items).toHaveLength(20);
    const refused = await failure(ranker.rank.bind(ranker), RankRequest.fromPartial({ candidateItemIds: ['i1'] }));
    expect(refused.code).toBe(status.INVALID_ARGUMENT);

    const isRoot = (s: ReceivedSpan): boolean => s.attributes['pinrank.request_id'] === res.requestId;
    await receiver.waitFor((spans) => spans.some(isRoot), 60_000, `the router span of request ${res.requestId}`);
    const root = receiver.spans.find(isRoot) as ReceivedSpan;
    const services = ['ranker-router', 'feature-server', 'embedding-store', 'ranker-worker-gpu', 'ranker-worker-cpu'];
    await receiver.waitFor((spans) => services.every((svc) => spans.some((s) => s.traceId === root.traceId && s.service === svc)), 30_000, 'spans of all five services');
    const refusedSpan = (spans: ReceivedSpan[]): ReceivedSpan | undefined =>
      spans.find((s) => s.service === 'ranker-router' && s.kind === 2 && s.attributes['rpc.grpc.status_code'] === status.INVALID_ARGUMENT);
    await receiver.waitFor((spans) => refusedSpan(spans) !== undefined, 30_000, 'the refused Rank');
    await new Promise((r) => setTimeout(r, 500));
    const spans = receiver.trace(root.traceId);
    expect(receiver.errors).toEqual([]);

    // Resource: service name, release, one instance id per process, the SDK's attributes, OTEL_RESOURCE_ATTRIBUTES.
    const instances = new Map<string, string>();
    for (const s of spans) {
      expect(s.resource).toMatchObject({
        'service.name': s.service,
        'service.version': version,
        'service.instance.id': expect.stringMatching(/^[0-9a-f-]{36}$/),
        'telemetry.sdk.language': 'nodejs',
        'telemetry.sdk.name': 'opentelemetry',
        'telemetry.sdk.version': expect.stringMatching(/^\d+\.\d+\.\d+/),
        'deployment.environment.name': 'service-level-test',
      });
      instances.set(s.service, String(s.resource['service.instance.id']));
    }
    expect(new Set(instances.values()).size).toBe(services.length);

    // CLIENT spans name the server they called.
    const clientSpans = spans.filter((s) => s.kind === 3);
    expect(clientSpans.length).toBeGreaterThanOrEqual(4);
    for (const s of clientSpans) expect(s.attributes).toMatchObject({ 'rpc.system': 'grpc', 'server.address': '127.0.0.1', 'server.port': expect.any(Number) });
    const portOf = (method: string): number[] => clientSpans.filter((s) => s.name === method).map((s) => Number(s.attributes['server.port']));
    expect(portOf('pinrank.v1.FeatureServer/GetRealtimeSequence')).toContain(base + OFFSETS['feature-server']);
    expect(portOf('pinrank.v1.EmbeddingStore/GetEmbeddings')).toContain(base + OFFSETS['embedding-store']);
    expect(portOf('inference.GRPCInferenceService/ModelInfer').sort()).toEqual([base + OFFSETS['gpu-worker'], base + OFFSETS['cpu-worker']].sort());

    // A successful call's spans are not errors; the refused one's SERVER span is not either (a client mistake), only its status code says so.
    expect(spans.filter((s) => s.statusCode === 2)).toEqual([]);
    expect(refusedSpan(receiver.spans)).toMatchObject({ statusCode: 0, name: 'pinrank.v1.Ranker/Rank' });
  }, 180_000);
});

describe('metrics of the running services', () => {
  const exported = new Map<Service, Exported>();

  beforeAll(async () => {
    for (const service of Object.keys(OFFSETS) as Service[]) exported.set(service, exportedMetrics(await metricsOf(service)));
  });

  it.each(Object.keys(OFFSETS) as Service[])('%s: /metrics passes promtool check metrics', async (service) => {
    const bin = promtool();
    if (!bin) {
      console.warn('skipped: promtool is not installed (Debian package prometheus; .ci/run installs it)');
      return;
    }
    const checked = spawnSync(bin, ['check', 'metrics'], { input: await metricsOf(service), encoding: 'utf8' });
    expect({ status: checked.status, problems: `${checked.stdout}${checked.stderr}`.trim() }).toEqual({ status: 0, problems: '' });
  });

  it('reports per-stage latency and degraded responses on the router, per-model counts, states and labels on the workers', async () => {
    const router = await metricsOf('router');
    expect(router).toMatch(/pinrank_router_stage_duration_seconds_count\{method="Rank",stage="total"\} [1-9]/);
    expect(router).toMatch(/pinrank_router_responses_total\{method="Rank",degraded="false"\} [1-9]/);
    expect(router).toContain('# TYPE pinrank_router_degraded_responses_total counter');
    for (const [worker, model] of [
      ['gpu-worker', 'transact_encoder'],
      ['cpu-worker', 'ranking_heads'],
    ] as const) {
      const text = await metricsOf(worker);
      expect(text).toMatch(new RegExp(`pinrank_inference_request_success_total\\{model="${model}",version="\\d+"\\} [1-9]`));
      expect(text).toMatch(new RegExp(`pinrank_model_state\\{model="${model}",version="\\d+",state="READY"\\} 1`));
      expect(text).toMatch(new RegExp(`rpc_server_requests_total\\{service="inference.GRPCInferenceService",method="ModelInfer",code="OK",model="${model}"\\} [1-9]`));
    }
  });

  it('exports every metric the Grafana dashboard and the alert rules query', async () => {
    const dir = join(REPO_ROOT, 'deploy', 'observability');
    const dashboard = JSON.parse(await readFile(join(dir, 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const rules = parse(await readFile(join(dir, 'alert-rules.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const queries = [
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
      ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
    ];
    const missing: string[] = [];
    let checked = 0;
    for (const q of queries) {
      for (const name of metricNamesInPromQL(q.expr)) {
        checked++;
        if (![...exported.values()].some((e) => isExported(name, e))) missing.push(`${q.where}: ${name}`);
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });
});
