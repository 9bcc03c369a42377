// A GPU-role worker serving the shipped transact_encoder, asked what an
// adversarial client would ask: out-of-vocabulary action types co-batched
// with innocent traffic, requests past the model's bounds, huge names, int64
// values past 2^53. Every one must fail alone with a client-error status.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { type InferenceWorker } from '@pinrank/inference';
import { GRPCInferenceServiceClient, ModelInferRequest, type ModelInferResponse } from '@pinrank/proto';
import pino from 'pino';
import { startWorker } from './start-worker';
import { readWorkerConfig } from './worker-config';

const MODELS = resolve(__dirname, '..', '..', '..', '..', 'models');
const D = 32;

/** A transact_encoder request: `users` sequences of length `s` (action type `type`) and `n` candidates of user 0. */
function encoderRequest(o: { users?: number; s?: number; n?: number; type?: number; modelName?: string }): ModelInferRequest {
  const users = o.users ?? 1;
  const s = o.s ?? 20;
  const n = o.n ?? 8;
  const f32 = (count: number, v: number) => Buffer.from(new Float32Array(count).fill(v).buffer);
  const i64 = (count: number, v: bigint) => Buffer.from(new BigInt64Array(count).fill(v).buffer);
  return ModelInferRequest.fromPartial({
    modelName: o.modelName ?? 'transact_encoder',
    inputs: [
      { name: 'seq_action_types', datatype: 'INT64', shape: [users, s] },
      { name: 'seq_item_vectors', datatype: 'FP32', shape: [users, s, D] },
      { name: 'seq_ages_s', datatype: 'FP32', shape: [users, s] },
      { name: 'cand_vectors', datatype: 'FP32', shape: [n, D] },
      { name: 'cand_user_idx', datatype: 'INT64', shape: [n] },
    ],
    rawInputContents: [i64(users * s, BigInt(o.type ?? 2)), f32(users * s * D, 0.1), f32(users * s, 30), f32(n * D, 0.2), i64(n, 0n)],
  });
}

describe('worker under hostile requests (transact_encoder from models/)', () => {
  let root: string;
  let worker: InferenceWorker;
  let client: GRPCInferenceServiceClient;

  const infer = (req: ModelInferRequest): Promise<ModelInferResponse> =>
    new Promise((res, rej) => client.modelInfer(req, new Metadata(), { deadline: new Date(Date.now() + 60_000) }, (err, r) => (err ? rej(err) : res(r))));
  const failure = (req: ModelInferRequest): Promise<ServiceError> =>
    infer(req).then(
      () => {
        throw new Error('expected the call to fail');
      },
      (err: ServiceError) => err,
    );

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ranker-hostile-'));
    await cp(join(MODELS, 'transact_encoder'), join(root, 'transact_encoder'), { recursive: true });
    // The GPU-role worker on this CPU-only machine: cpu provider, so each request is its own batch
    // (libs/inference README, "Dynamic batching"); stacked-batch isolation is covered by the batcher's specs.
    const env = { RANKER_MODEL_REPOSITORY: root, RANKER_WATCH: 'off', RANKER_INTRA_OP_THREADS: '1', RANKER_WARMUP: 'false' };
    const config = readWorkerConfig('gpu', env, []);
    worker = await startWorker({ role: 'gpu', config, server: { address: '127.0.0.1:0', signals: [] }, logger: pino({ level: 'silent' }) });
    client = new GRPCInferenceServiceClient(`127.0.0.1:${worker.server.port}`, credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await worker.close();
    await rm(root, { recursive: true, force: true });
  });

  it('an out-of-vocabulary action type fails alone with INVALID_ARGUMENT; innocent calls in flight with it succeed', async () => {
    const innocent = Array.from({ length: 40 }, () => infer(encoderRequest({ n: 8 })));
    const poison = failure(encoderRequest({ n: 8, type: 99 }));
    const more = Array.from({ length: 40 }, () => infer(encoderRequest({ n: 8 })));
    const err = await poison;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^model transact_encoder:\d+: input "seq_action_types" holds 99 at flat index 0; allowed values are 0..7$/);
    const answers = await Promise.all([...innocent, ...more]);
    expect(answers.every((a) => a.outputs[0]?.shape.join(',') === '8,1056')).toBe(true);
    const metrics = await worker.server.metrics.registry.metrics();
    expect(metrics).not.toMatch(/inference_batches_total\{[^}]*outcome="error"\} [1-9]/);
  });

  it.each([
    ['more rows than the batch size', { n: 4097 }, /has 4097 rows on axis N; at most 4096 rows \(the batch size\) per request/],
    ['a sequence longer than the model takes', { s: 1001, n: 1 }, /has 1001 elements on axis S; at most 1000 along axis S per request/],
    ['more attention work than a full batch', { s: 1000, n: 64 }, /request too large: N×S×S = N=64 × S=1000 × S=1000 = 64000000; at most 40960000/],
    ['an empty sequence (S = 0)', { s: 0 }, /has an empty axis 1/],
    ['no candidates (N = 0)', { n: 0 }, /has an empty axis 0/],
    ['no users (U = 0)', { users: 0 }, /has an empty axis 0/],
  ])('refuses %s with INVALID_ARGUMENT before computing anything', async (_what, o, message) => {
    const err = await failure(encoderRequest(o));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(message);
  });

  it('memory stays near its baseline after refused large requests', async () => {
    const before = process.memoryUsage().rss;
    for (let k = 0; k < 3; k++) await failure(encoderRequest({ n: 4097, s: 100 }));
    for (let k = 0; k < 3; k++) await failure(encoderRequest({ n: 64, s: 1000 }));
    global.gc?.();
    // Each request is a few MB on the wire; computing the first one alone would take gigabytes.
    expect(process.memoryUsage().rss - before).toBeLessThan(400 * 2 ** 20);
  });

  it('echoes at most a short prefix of a huge model name, without breaking the channel', async () => {
    const err = await failure(encoderRequest({ modelName: `m${'x'.repeat(100_000)}` }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(Buffer.byteLength(err.details)).toBeLessThan(300);
    await expect(infer(encoderRequest({}))).resolves.toBeDefined();
  });
  // Undecodable requests (int64 past 2^53 included) are refused by the service kit for every service: libs/service-kit hostile-input spec and the fuzz suite.
});

describe('worker without the memory arena (RANKER_MEMORY_ARENA=false)', () => {
  it('gives the memory of a completed large request back', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ranker-arena-'));
    await cp(join(MODELS, 'transact_encoder'), join(root, 'transact_encoder'), { recursive: true });
    const env = { RANKER_MODEL_REPOSITORY: root, RANKER_WATCH: 'off', RANKER_INTRA_OP_THREADS: '1', RANKER_WARMUP: 'false', RANKER_MEMORY_ARENA: 'false' };
    const worker = await startWorker({ role: 'gpu', config: readWorkerConfig('gpu', env, []), server: { address: '127.0.0.1:0', signals: [] }, logger: pino({ level: 'silent' }) });
    const client = new GRPCInferenceServiceClient(`127.0.0.1:${worker.server.port}`, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 2 ** 20 });
    try {
      const infer = (req: ModelInferRequest): Promise<ModelInferResponse> =>
        new Promise((res, rej) => client.modelInfer(req, new Metadata(), { deadline: new Date(Date.now() + 120_000) }, (err, r) => (err ? rej(err) : res(r))));
      await infer(encoderRequest({ n: 8, s: 100 }));
      const before = process.memoryUsage().rss;
      // 1024 candidates × S 100: about 700 MB of activations while it runs (measured with the arena: kept afterwards).
      const res = await infer(encoderRequest({ n: 1024, s: 100 }));
      expect(res.outputs[0]?.shape).toEqual([1024, 1056]);
      expect(process.memoryUsage().rss - before).toBeLessThan(250 * 2 ** 20);
    } finally {
      client.close();
      await worker.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
