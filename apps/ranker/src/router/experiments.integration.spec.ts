import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import {
  ExperimentsClient,
  GetAssignmentRequest,
  ListExperimentsRequest,
  ReloadExperimentsRequest,
  type GetAssignmentResponse,
  type ListExperimentsResponse,
  type ReloadExperimentsResponse,
} from '@pinrank/proto';
import { callUnary, createClient, PinrankError } from '@pinrank/service-kit';
import { startTracing, type Tracing } from '@pinrank/telemetry';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { copyTestModelVersion } from './testing/fake-worker';
import { eventually, startHarness, type Harness } from './testing/router-harness';

const TOKEN = 'experiments-admin-token';
let h: Harness;
let file: string;

/** Writes the configuration file atomically (as an operator's deploy tool would). */
async function writeConfig(config: unknown): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(config));
  await rename(`${file}.tmp`, file);
}

const layered = (version: string, extra: Record<string, unknown> = {}) => ({
  version,
  holdout: { fraction: 0.1 },
  layers: [
    {
      name: 'ranker',
      experiments: [
        {
          name: 'scorer',
          arms: [
            { name: 'control', fraction: 1 / 3 },
            { name: 'lite', fraction: 1 / 3, scorer: 'lite' },
            { name: 'heads-v2', fraction: 1 / 3, models: { ranking_heads: '2' }, ...extra },
          ],
        },
      ],
    },
  ],
});

const spans = new InMemorySpanExporter();
let tracing: Tracing;

beforeAll(async () => {
  tracing = startTracing({ serviceName: 'router-experiments-test', exporter: 'none', spanProcessors: [new SimpleSpanProcessor(spans)] });
  h = await startHarness();
  // A second ranking_heads version for the arm that pins it.
  await copyTestModelVersion(h.repo, 'ranking_heads', '1', '2');
  file = join(h.dir, 'experiments.json');
  await writeConfig(layered('v1'));
});
afterAll(async () => {
  await h.close();
  await tracing.shutdown();
});

function bearer(token: string): Metadata {
  const m = new Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
}

function experimentsClient(port: number): ExperimentsClient {
  return createClient(ExperimentsClient, `127.0.0.1:${port}`);
}

describe('experiments in the router', () => {
  it('serves each arm with its treatment and reports the arm in responses, assignments and counters', async () => {
    const api = await h.router({ experiments: { kind: 'file', path: file, reloadIntervalMs: 100 }, server: { signals: [], metricsAddress: '127.0.0.1:0' } });
    const ex = experimentsClient(api.router.port);
    try {
      const seen = new Map<string, string>();
      for (let u = 0; u < 60; u++) {
        const userId = `u${u}`;
        const before = { gpu: h.gpu.calls.length, cpu: h.cpu.calls.length };
        const res = await api.rank({ userId, candidateItemIds: ['i4', 'i5', 'i6'] });
        const calls = [...h.gpu.calls.slice(before.gpu), ...h.cpu.calls.slice(before.cpu)];
        const assignment = await callUnary<GetAssignmentRequest, GetAssignmentResponse>(ex.getAssignment.bind(ex), GetAssignmentRequest.fromPartial({ userId }), { timeoutMs: 5000 });
        expect(res.holdout).toBe(assignment.holdout);
        expect(res.assignments).toEqual(assignment.assignments);
        const arm = res.holdout ? 'holdout' : res.arm;
        seen.set(arm, userId);
        if (arm === 'lite') {
          expect(calls.map((c) => c.model)).toEqual(['ranking_heads_lite']);
          expect(assignment.scorer).toBe('lite');
          expect(res.items[0]?.score).toBeCloseTo(Math.max(...['i4', 'i5', 'i6'].map((id) => h.expected(userId, id, undefined, true).score)), 4);
        } else {
          expect(calls.map((c) => c.model).sort()).toEqual(['ranking_heads', 'transact_encoder']);
          const heads = calls.find((c) => c.model === 'ranking_heads');
          expect(heads?.version).toBe(arm === 'heads-v2' ? '2' : '');
          expect(res.modelVersions['ranking_heads']).toBe(arm === 'heads-v2' ? '2' : '1');
        }
        if (arm === 'heads-v2') expect(assignment.modelVersions).toEqual({ ranking_heads: '2' });
      }
      expect([...seen.keys()].sort()).toEqual(['control', 'heads-v2', 'holdout', 'lite']);

      const list = await callUnary<ListExperimentsRequest, ListExperimentsResponse>(ex.listExperiments.bind(ex), ListExperimentsRequest.fromPartial({}), { timeoutMs: 5000 });
      expect(list).toMatchObject({ configVersion: 'v1', source: file, holdoutFraction: 0.1 });
      const arms = list.layers[0]?.experiments[0]?.arms ?? [];
      expect(arms.map((a) => a.name)).toEqual(['control', 'lite', 'heads-v2']);
      const served = arms.reduce((n, a) => n + Number(a.counters?.requests ?? 0), 0) + Number(list.holdoutCounters?.requests ?? 0);
      expect(served).toBe(60);
      expect(arms[1]?.counters?.itemsReturned).toBe(3 * Number(arms[1]?.counters?.requests));

      const metrics = await (await fetch(`http://127.0.0.1:${api.router.server.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/pinrank_experiment_requests_total\{layer="ranker",experiment="scorer",arm="lite",method="Rank",code="OK"\} \d+/);
      expect(metrics).toContain('pinrank_experiment_config_info{version="v1"');
    } finally {
      ex.close();
    }
  });

  it("puts the user's arms on the request's span", async () => {
    await writeConfig(layered('v1'));
    const api = await h.router({ experiments: { kind: 'file', path: file } });
    spans.reset();
    const res = await api.rank({ userId: 'u7', candidateItemIds: ['i4', 'i5'] });
    await eventually(() => spans.getFinishedSpans().some((sp) => sp.name === 'pinrank.v1.Ranker/Rank'));
    const span = spans.getFinishedSpans().find((sp) => sp.name === 'pinrank.v1.Ranker/Rank');
    expect(span?.attributes).toMatchObject({
      'pinrank.experiment': res.experiment,
      'pinrank.arm': res.arm,
      'pinrank.experiment.holdout': res.holdout,
      'pinrank.experiment.assignments': res.assignments.map((a) => `${a.layer}/${a.experiment}/${a.arm}`),
    });
  });

  it('hot-reloads a changed file without failing a request, and refuses an invalid one while the old one keeps serving', async () => {
    await writeConfig(layered('v1'));
    const api = await h.router({ experiments: { kind: 'file', path: file, reloadIntervalMs: 50 }, server: { signals: [], admin: { tokens: [TOKEN] } } });
    const ex = experimentsClient(api.router.port);
    const reload = (token?: string): Promise<ReloadExperimentsResponse> =>
      callUnary(ex.reloadExperiments.bind(ex), ReloadExperimentsRequest.fromPartial({}), { timeoutMs: 5000, retry: false, ...(token ? { metadata: bearer(token) } : {}) });
    try {
      let failures = 0;
      let served = 0;
      let running = true;
      const load = (async () => {
        for (let i = 0; running; i++) {
          try {
            await api.rank({ userId: `u${i % 50}`, candidateItemIds: ['i1', 'i7'] });
            served++;
          } catch {
            failures++;
          }
        }
      })();
      // Every change happens while requests are being served: each waits for two more answers (event order, not time).
      let mark = 0;
      const whileServing = async (): Promise<void> => {
        await eventually(() => served >= mark + 2 || failures > 0, 10_000);
        mark = served;
      };
      try {
      for (const v of ['v2', 'v3', 'v4']) {
        await whileServing();
        await writeConfig(layered(v));
        await eventually(() => api.router.experiments.current.version === v, 5000);
      }
      // An arm pinning a version that is not in the repository: refused, v4 keeps serving.
      await whileServing();
      await writeConfig(layered('v5', { models: { ranking_heads: '9' } }));
      await eventually(() => api.router.experiments.lastError !== '', 5000);
      expect(api.router.experiments.current.version).toBe('v4');
      expect(api.router.experiments.lastError).toMatch(/ranking_heads\/9: not in the model repository/);
      await expect(reload(TOKEN)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/refused, the previous one \(version "v4"\) keeps serving/) });
      await expect(reload()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      await whileServing();
      await writeConfig(layered('v6'));
      expect(await reload(TOKEN)).toMatchObject({ configVersion: 'v6' });
      await whileServing();
      } finally {
        running = false;
        await load;
      }
      expect(failures).toBe(0);
      expect(served).toBeGreaterThanOrEqual(12);
    } finally {
      ex.close();
    }
  });

  it('refuses to start on an invalid configuration, naming the field', async () => {
    await expect(h.router({ experiments: { kind: 'inline', config: { layers: [{ name: 'l', experiments: [{ name: 'e', arms: [{ name: 'a', fraction: 1, snapshotVersion: 'gone' }] }] }] } } })).rejects.toThrow(
      /snapshotVersion: the embedding-store holds no snapshot "gone" \(it holds snap-7\)/,
    );
    await expect(h.router({ experiments: { kind: 'inline', config: { layers: [{ name: 'l', experiments: [{ name: 'e', arms: [{ name: 'a', fraction: 1.5 }] }] }] } } })).rejects.toThrow(/fraction: must be <= 1/);
  });

  it('answers INVALID_ARGUMENT for an assignment without a user', async () => {
    const api = await h.router({});
    const ex = experimentsClient(api.router.port);
    try {
      const err = await callUnary(ex.getAssignment.bind(ex), GetAssignmentRequest.fromPartial({}), { timeoutMs: 5000, retry: false }).catch((e: unknown) => e);
      expect(PinrankError.from(err)).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'user_id: required' });
      const list = await callUnary(ex.listExperiments.bind(ex), ListExperimentsRequest.fromPartial({}), { timeoutMs: 5000 });
      expect(list).toMatchObject({ source: '', layers: [] });
    } finally {
      ex.close();
    }
  });
});
