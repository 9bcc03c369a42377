// A client built only from the test schemas in testing/triton-schema (Triton's
// published grpc_service.proto + model_config.proto field numbers) and
// testing/kserve-schema, loaded with @grpc/proto-loader: it shares no code with
// the server's generated stubs, so what it decodes is what a stock Triton
// client (perf_analyzer, Model Analyzer, tritonclient) would see.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createLogger } from '@pinrank/telemetry';
import { startInferenceWorker, type InferenceWorker } from './inference-worker';
import { STREAM_MAX_INFLIGHT } from './stream-infer';
import { affineConfig, affineModel, gatherConfig, gatherModel, seededFloats, writeVersion } from './testing/tiny-models';

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- decoded by proto-loader from the test schema
type Unary = (req: Msg, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: Msg) => void) => void;
type TritonClient = grpc.Client & Record<string, Unary> & { ModelStreamInfer(md?: grpc.Metadata): grpc.ClientDuplexStream<Msg, Msg> };

const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

function clientFrom(file: string, includeDir: string, address: string): TritonClient {
  const def = protoLoader.loadSync(file, { ...LOADER_OPTIONS, includeDirs: [includeDir] });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: new (a: string, c: grpc.ChannelCredentials) => TritonClient } };
  return new pkg.inference.GRPCInferenceService(address, grpc.credentials.createInsecure());
}

function call(client: TritonClient, method: string, req: Msg, token?: string): Promise<Msg> {
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => (client[method] as Unary).call(client, req, md, (err, res) => (err ? reject(err) : resolve(res))));
}

const failure = (p: Promise<unknown>): Promise<grpc.ServiceError> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: grpc.ServiceError) => e,
  );

/** x·W + b with the weights affineModel(3, 2, seed) uses. */
function affineExpected(x: readonly number[], seed: number): number[] {
  const w = seededFloats(6, seed);
  const b = seededFloats(2, seed + 7);
  const out: number[] = [];
  for (let r = 0; r < x.length / 3; r++) for (let c = 0; c < 2; c++) out.push(b[c]! + [0, 1, 2].reduce((s, k) => s + x[r * 3 + k]! * w[k * 2 + c]!, 0));
  return out;
}

const fp32Input = (values: number[], rows: number): Msg => ({ name: 'x', datatype: 'FP32', shape: [rows, 3], contents: { fp32_contents: values } });

/** Writes `requests` on one ModelStreamInfer stream, half-closes it and collects every answer until the server ends it. */
async function streamAll(client: TritonClient, requests: readonly Msg[]): Promise<Msg[]> {
  const stream = client.ModelStreamInfer();
  const answers: Msg[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('data', (m: Msg) => answers.push(m));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  for (const r of requests) stream.write(r);
  stream.end();
  await ended;
  return answers;
}

describe('a client generated from Triton’s published protos', () => {
  let root: string;
  let worker: InferenceWorker;
  let triton: TritonClient;
  let kserve: TritonClient;
  const logLines: Msg[] = [];
  const started = Date.now();

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'pinrank-triton-'));
    await writeVersion(root, affineConfig('aff', '1', 3, 2, { batching: { mode: 'concat', maxBatchSize: 8, maxQueueDelayMs: 3, queueLimit: 40, userInputs: [] } }), affineModel(3, 2, 1));
    await writeVersion(root, gatherConfig('enc', '7', 4, 5), gatherModel(4, 5));
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Msg);
        done();
      },
    });
    worker = await startInferenceWorker({
      address: '127.0.0.1:0',
      repositoryRoot: root,
      models: { executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1, maxConcurrentBatches: 2 },
      watch: { mode: 'off' },
      server: { admin: { tokens: ['admin-token'] }, signals: [] },
      logger: createLogger({ name: 'triton-test', destination }),
    });
    const address = `127.0.0.1:${worker.server.port}`;
    triton = clientFrom(join(__dirname, 'testing', 'triton-schema', 'grpc_service.proto'), join(__dirname, 'testing', 'triton-schema'), address);
    kserve = clientFrom(join(__dirname, 'testing', 'kserve-schema', 'grpc_predict_v2.proto'), join(__dirname, 'testing', 'kserve-schema'), address);
  });

  afterAll(async () => {
    triton?.close();
    kserve?.close();
    await worker?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('ModelConfig: a concat model reports max_batch_size, dims without the batch axis, dynamic batching and a CPU instance group', async () => {
    const { config } = await call(triton, 'ModelConfig', { name: 'aff', version: '' });
    expect(config).toMatchObject({
      name: 'aff',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: 8,
      default_model_filename: 'model.onnx',
      version_policy: { latest: { num_versions: 1 }, policy_choice: 'latest' },
      input: [{ name: 'x', data_type: 'TYPE_FP32', format: 'FORMAT_NONE', dims: [3], optional: false }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [2] }],
      instance_group: [{ name: 'aff_0', kind: 'KIND_CPU', count: 2, gpus: [] }],
      scheduling_choice: 'dynamic_batching',
      dynamic_batching: {
        preferred_batch_size: [8],
        max_queue_delay_microseconds: 3000,
        preserve_ordering: false,
        default_queue_policy: { timeout_action: 'REJECT', max_queue_size: 40, allow_timeout_override: true },
      },
      parameters: {
        'pinrank.placement': { string_value: 'cpu' },
        'pinrank.execution_provider': { string_value: 'cpu' },
        'pinrank.batching_mode': { string_value: 'concat' },
      },
    });
  });

  it('ModelConfig: a user_rows model takes whole tensors (max_batch_size 0, full shapes) on a GPU instance group', async () => {
    const { config } = await call(triton, 'ModelConfig', { name: 'enc', version: '7' });
    expect(config).toMatchObject({
      name: 'enc',
      max_batch_size: 0,
      input: [
        { name: 'seq', data_type: 'TYPE_FP32', dims: [-1, -1, 4] },
        { name: 'cand', data_type: 'TYPE_FP32', dims: [-1, 4] },
        { name: 'cand_user_idx', data_type: 'TYPE_INT64', dims: [-1] },
      ],
      output: [{ name: 'encoded', data_type: 'TYPE_FP32', dims: [-1, 5] }],
      instance_group: [{ kind: 'KIND_GPU', count: 2 }],
      dynamic_batching: { preferred_batch_size: [256], max_queue_delay_microseconds: 2000 },
      parameters: { 'pinrank.batching_mode': { string_value: 'user_rows' } },
    });
  });

  it('ModelStreamInfer answers every message in one stream, errors in error_message, and the stream survives them', async () => {
    const good = (id: string, seed: number): { req: Msg; x: number[] } => {
      const x = Array.from(seededFloats(6, seed));
      return { req: { model_name: 'aff', id, inputs: [fp32Input(x, 2)] }, x };
    };
    const first = good('g1', 11);
    const second = good('g2', 12);
    const third = good('g3', 13);
    const answers = await streamAll(triton, [
      first.req,
      { model_name: 'aff', id: 'bad-shape', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] },
      second.req,
      { model_name: 'no_such_model', id: 'unknown', inputs: [] },
      { model_name: 'Not A Name', id: 'bad-name', inputs: [] },
      third.req,
    ]);

    expect(answers).toHaveLength(6);
    const byId = new Map(answers.map((a) => [a.infer_response.id as string, a]));
    for (const { req, x } of [first, second, third]) {
      const a = byId.get(req.id as string)!;
      expect(a.error_message).toBe('');
      expect(a.infer_response).toMatchObject({ model_name: 'aff', model_version: '1', outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 2] }] });
      const got = a.infer_response.outputs[0].contents.fp32_contents as number[];
      affineExpected(x, 1).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    }
    expect(byId.get('bad-shape')).toMatchObject({ error_message: 'INVALID_ARGUMENT: model "aff": input "x" expected FP32 [-1,3], got FP32 [1,4]', infer_response: { model_name: 'aff' } });
    expect(byId.get('unknown')?.error_message).toMatch(/^NOT_FOUND: .*no_such_model/);
    expect(byId.get('bad-name')?.error_message).toMatch(/^INVALID_ARGUMENT: model_name: model names are/);
  });

  it('ModelStreamInfer keeps going under more messages than it runs at once', async () => {
    const n = STREAM_MAX_INFLIGHT * 3;
    const answers = await streamAll(triton, Array.from({ length: n }, (_, i) => ({ model_name: 'aff', id: `m${i}`, inputs: [fp32Input([i, i, i], 1)] })));
    expect(answers.map((a) => a.infer_response.id).sort()).toEqual(Array.from({ length: n }, (_, i) => `m${i}`).sort());
    expect(answers.every((a) => a.error_message === '')).toBe(true);
  });

  it('ModelStatistics reports Triton’s cumulative counts and durations per version', async () => {
    // One unary request of 3 rows, on top of the streams above.
    await call(triton, 'ModelInfer', { model_name: 'aff', inputs: [fp32Input([1, 2, 3, 4, 5, 6, 7, 8, 9], 3)] });
    const { model_stats } = await call(triton, 'ModelStatistics', { name: 'aff', version: '' });
    expect(model_stats).toHaveLength(1);
    const s = model_stats[0] as Msg;
    const requests = 3 + STREAM_MAX_INFLIGHT * 3 + 1;
    const rows = 3 * 2 + STREAM_MAX_INFLIGHT * 3 + 3;
    expect(s).toMatchObject({ name: 'aff', version: '1', inference_count: rows, memory_usage: [] });
    expect(s.last_inference).toBeGreaterThanOrEqual(started);
    expect(s.last_inference).toBeLessThanOrEqual(Date.now());
    const st = s.inference_stats as Record<string, { count: number; ns: number }>;
    expect(st['success']!.count).toBe(requests);
    expect(st['fail']!.count).toBe(1); // the bad shape; the unknown model and the bad name never reached "aff"
    for (const k of ['queue', 'compute_input', 'compute_infer', 'compute_output']) expect(st[k]!.count).toBe(requests);
    expect(st['success']!.ns).toBeGreaterThan(0);
    expect(st['compute_infer']!.ns).toBeGreaterThan(0);
    expect(st['success']!.ns).toBeGreaterThanOrEqual(st['queue']!.ns);
    expect(st['cache_hit']).toEqual({ count: 0, ns: 0 });
    // Batching: fewer executions than requests is possible; never more, and per-size counts add up.
    expect(s.execution_count).toBeGreaterThanOrEqual(1);
    expect(s.execution_count).toBeLessThanOrEqual(requests);
    const batches = s.batch_stats as Array<{ batch_size: number; compute_infer: { count: number; ns: number } }>;
    expect(batches.reduce((n, b) => n + b.compute_infer.count, 0)).toBe(s.execution_count);
    expect(batches.reduce((n, b) => n + b.batch_size * b.compute_infer.count, 0)).toBe(rows);
    for (const b of batches) expect(b.batch_size).toBeLessThanOrEqual(8);

    const all = await call(triton, 'ModelStatistics', { name: '', version: '' });
    expect((all.model_stats as Msg[]).map((m) => `${m.name}/${m.version}`)).toEqual(['aff/1', 'enc/7']);
  });

  it('validates names and versions: INVALID_ARGUMENT without echoing them, NOT_FOUND for unknown models', async () => {
    const long = 'a'.repeat(10_000);
    for (const method of ['ModelConfig', 'ModelStatistics', 'ModelMetadata']) {
      const e = await failure(call(triton, method, { name: long, version: '' }));
      expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e.details).not.toContain('aaaaaaaaaa');
      expect(e.details.length).toBeLessThan(200);
    }
    expect((await failure(call(triton, 'ModelConfig', { name: 'aff', version: '../1' }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await failure(call(triton, 'ModelConfig', { name: 'nope', version: '' }))).code).toBe(grpc.status.NOT_FOUND);
    expect((await failure(call(triton, 'ModelConfig', { name: 'aff', version: '9' }))).code).toBe(grpc.status.NOT_FOUND);
    expect((await failure(call(triton, 'ModelStatistics', { name: 'nope', version: '' }))).code).toBe(grpc.status.NOT_FOUND);
    expect(await failure(call(triton, 'ModelStatistics', { name: '', version: '1' }))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/name/) });
  });

  it('serves the repository extension in Triton’s form and in KServe’s (model name in field 1)', async () => {
    expect((await failure(call(kserve, 'RepositoryModelLoad', { model_name: 'aff' }))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(await call(kserve, 'RepositoryModelUnload', { model_name: 'enc' }, 'admin-token')).toEqual({ model_name: 'enc', isUnloaded: true });
    expect(await call(triton, 'ModelReady', { name: 'enc', version: '' })).toEqual({ ready: false });
    expect(await call(kserve, 'RepositoryModelLoad', { model_name: 'enc' }, 'admin-token')).toEqual({ model_name: 'enc', isLoaded: true });
    expect(await call(triton, 'ModelReady', { name: 'enc', version: '' })).toEqual({ ready: true });
    // Triton's form, with the parameter tritonclient sends on every unload.
    await call(triton, 'RepositoryModelUnload', { model_name: 'enc', parameters: { unload_dependents: { bool_param: false } } }, 'admin-token');
    expect(await call(triton, 'ModelReady', { name: 'enc', version: '' })).toEqual({ ready: false });
    await call(triton, 'RepositoryModelLoad', { repository_name: '', model_name: 'enc' }, 'admin-token');
    expect(await call(triton, 'ModelReady', { name: 'enc', version: '' })).toEqual({ ready: true });
    const override = await failure(call(triton, 'RepositoryModelLoad', { model_name: 'enc', parameters: { config: { string_param: '{}' } } }, 'admin-token'));
    expect(override).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/config.*not supported/) });
    expect((await failure(call(kserve, 'RepositoryModelLoad', { model_name: '' }, 'admin-token'))).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('records per-model success, failure and state metrics, model labels on RPC metrics, and logs rejections with trace ids', async () => {
    const text = await worker.server.metrics.registry.metrics();
    expect(text).toMatch(/pinrank_inference_request_success_total\{model="aff",version="1"\} [1-9]/);
    expect(text).toContain('pinrank_inference_request_failure_total{model="aff",version="1",reason="invalid"} 1');
    expect(text).toContain('pinrank_model_state{model="aff",version="1",state="READY"} 1');
    expect(text).toContain('pinrank_model_state{model="aff",version="1",state="LOADING"} 0');
    expect(text).toContain('rpc_server_requests_total{service="inference.GRPCInferenceService",method="ModelConfig",code="OK",model="aff"} 1');
    // Streamed messages count as the ModelInfer they stand for: 1 unary + 3 + 48 streamed; the refused ones under their status.
    expect(text).toContain(`rpc_server_requests_total{service="inference.GRPCInferenceService",method="ModelInfer",code="OK",model="aff"} ${1 + 3 + STREAM_MAX_INFLIGHT * 3}`);
    expect(text).toContain('rpc_server_requests_total{service="inference.GRPCInferenceService",method="ModelInfer",code="INVALID_ARGUMENT"} 2');
    expect(text).toContain('rpc_server_requests_total{service="inference.GRPCInferenceService",method="ModelInfer",code="NOT_FOUND"} 1');
    // A stream that served one model carries it; calls about no served model carry none.
    expect(text).toContain('rpc_server_requests_total{service="inference.GRPCInferenceService",method="ModelStreamInfer",code="OK",model="aff"} 2');
    expect(text).toContain('rpc_server_requests_total{service="inference.GRPCInferenceService",method="ModelConfig",code="NOT_FOUND"} 2');
    const rejected = logLines.filter((l) => l['msg'] === 'inference request rejected');
    expect(rejected[0]).toMatchObject({ model: 'aff', version: '1', code: 'INVALID_ARGUMENT', trace_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it('ModelStreamInfer: a message’s timeout and traceparent parameters are its own (Triton’s names and units)', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
    // Rejections are logged at most once a second per model and status: let the last test's pass.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const answers = await streamAll(triton, [
      { model_name: 'aff', id: 'timed', parameters: { timeout: { int64_param: 5_000_000 }, traceparent: { string_param: traceparent } }, inputs: [fp32Input([1, 2, 3], 1)] },
      { model_name: 'aff', id: 'bad-timeout', parameters: { timeout: { string_param: 'soon' }, traceparent: { string_param: traceparent } }, inputs: [fp32Input([1, 2, 3], 1)] },
      { model_name: 'aff', id: 'negative', parameters: { timeout: { int64_param: -5 } }, inputs: [fp32Input([1, 2, 3], 1)] },
    ]);
    const byId = new Map(answers.map((a) => [a.infer_response.id as string, a]));
    expect(byId.get('timed')?.error_message).toBe('');
    expect(byId.get('bad-timeout')?.error_message).toMatch(/^INVALID_ARGUMENT: parameters\["timeout"\] must be an int64 number of microseconds/);
    expect(byId.get('negative')?.error_message).toMatch(/^INVALID_ARGUMENT: parameters\["timeout"\]/);
    // The refusal is logged under the trace the message named, not the stream's.
    const logged = logLines.filter((l) => l['msg'] === 'inference request rejected' && String(l['reason']).includes('timeout'));
    expect(logged.map((l) => l['trace_id'])).toContain(traceId);
  });
});
