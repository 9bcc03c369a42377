import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import pino from 'pino';
import { startInferenceWorker, type InferenceWorker } from './inference-worker';
import { MinimalOipClient } from './testing/minimal-oip-client';
import { affineConfig, affineModel, gatherConfig, gatherModel, seededFloats, writeVersion } from './testing/tiny-models';

/** x·W + b computed independently of ONNX Runtime, with the weights affineModel(3, 2, seed) uses. */
function affineExpected(x: number[], seed: number): number[] {
  const w = seededFloats(3 * 2, seed);
  const b = seededFloats(2, seed + 7);
  const out: number[] = [];
  for (let r = 0; r < x.length / 3; r++) {
    for (let c = 0; c < 2; c++) {
      let s = b[c]!;
      for (let k = 0; k < 3; k++) s += x[r * 3 + k]! * w[k * 2 + c]!;
      out.push(s);
    }
  }
  return out;
}

const grpcCode = async (p: Promise<unknown>): Promise<number> => {
  try {
    await p;
    return status.OK;
  } catch (err) {
    return (err as ServiceError).code;
  }
};

describe('inference worker over the Open Inference Protocol', () => {
  let root: string;
  let worker: InferenceWorker;
  let client: MinimalOipClient;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'pinrank-oip-'));
    await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2, 1));
    await writeVersion(root, gatherConfig('enc', '1', 4, 5), gatherModel(4, 5));
    await writeVersion(
      root,
      affineConfig('tiny_queue', '1', 3, 2, { batching: { mode: 'concat', maxBatchSize: 1, maxQueueDelayMs: 0, queueLimit: 1, userInputs: [] } }),
      affineModel(3, 2, 5),
    );
    worker = await startInferenceWorker({
      address: '127.0.0.1:0',
      repositoryRoot: root,
      models: { executionProviders: ['webgpu', 'cpu'], intraOpThreads: 1, interOpThreads: 1 },
      watch: { mode: 'off' },
      server: { admin: { tokens: ['let-me-in'] }, signals: [] },
      logger: pino({ level: 'silent' }),
    });
    client = new MinimalOipClient(`127.0.0.1:${worker.server.port}`);
  });

  afterAll(async () => {
    client.close();
    await worker.close();
    await rm(root, { recursive: true, force: true });
  });

  it('answers health and metadata, reporting the provider in use', async () => {
    expect(await client.serverLive()).toBe(true);
    expect(await client.serverReady()).toBe(true);
    expect(await client.modelReady('aff')).toBe(true);
    expect(await client.modelReady('nope')).toBe(false);
    const meta = await client.modelMetadata('enc');
    expect(meta).toEqual({
      name: 'enc',
      versions: ['1'],
      platform: 'onnxruntime_onnx/cpu',
      inputs: [
        { name: 'seq', datatype: 'FP32', shape: [-1, -1, 4] },
        { name: 'cand', datatype: 'FP32', shape: [-1, 4] },
        { name: 'cand_user_idx', datatype: 'INT64', shape: [-1] },
      ],
    });
  });

  it('serves ModelInfer with raw and with typed contents', async () => {
    const x = Array.from(seededFloats(6, 42));
    const want = affineExpected(x, 1);
    const raw = await client.infer('aff', [{ name: 'x', datatype: 'FP32', shape: [2, 3], values: x }], { raw: true, id: 'r-1' });
    expect(raw).toMatchObject({ modelName: 'aff', modelVersion: '1', id: 'r-1' });
    expect(raw.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [2, 2], fp32: [] }]);
    const rawValues = Array.from({ length: 4 }, (_, i) => raw.raw[0]!.readFloatLE(i * 4));
    rawValues.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));

    const typed = await client.infer('aff', [{ name: 'x', datatype: 'FP32', shape: [2, 3], values: x }], { raw: false });
    expect(typed.raw).toEqual([]);
    typed.outputs[0]!.fp32.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));

    const enc = await client.infer(
      'enc',
      [
        { name: 'seq', datatype: 'FP32', shape: [1, 2, 4], values: Array.from(seededFloats(8, 1)) },
        { name: 'cand', datatype: 'FP32', shape: [3, 4], values: Array.from(seededFloats(12, 2)) },
        { name: 'cand_user_idx', datatype: 'INT64', shape: [3], values: [0, 0, 0] },
      ],
      { raw: false },
    );
    expect(enc.outputs[0]).toMatchObject({ name: 'encoded', shape: [3, 5] });
  });

  it('answers INVALID_ARGUMENT naming what is wrong', async () => {
    const err = await client
      .infer('aff', [{ name: 'x', datatype: 'FP32', shape: [1, 4], values: [1, 2, 3, 4] }], { raw: true })
      .catch((e: ServiceError) => e);
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'model "aff": input "x" expected FP32 [-1,3], got FP32 [1,4]' });
    const idx = await client
      .infer(
        'enc',
        [
          { name: 'seq', datatype: 'FP32', shape: [1, 1, 4], values: [1, 2, 3, 4] },
          { name: 'cand', datatype: 'FP32', shape: [1, 4], values: [1, 2, 3, 4] },
          { name: 'cand_user_idx', datatype: 'INT64', shape: [1], values: [3] },
        ],
        { raw: true },
      )
      .catch((e: ServiceError) => e);
    expect(idx).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/cand_user_idx"\[0\] = 3; it must name a user row in \[0, 1\)/) });
    expect(await grpcCode(client.infer('nope', [], { raw: true }))).toBe(status.NOT_FOUND);
  });

  it('answers RESOURCE_EXHAUSTED when the queue is full instead of waiting', async () => {
    const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 3], values: [1, 2, 3] };
    const codes = await Promise.all(Array.from({ length: 24 }, () => grpcCode(client.infer('tiny_queue', [x], { raw: true }))));
    expect(codes.filter((c) => c === status.RESOURCE_EXHAUSTED).length).toBeGreaterThan(0);
    expect(codes.every((c) => c === status.OK || c === status.RESOURCE_EXHAUSTED)).toBe(true);
  });

  it('keeps repository loads behind admin credentials and hot-swaps a new version', async () => {
    expect(await grpcCode(client.repositoryModelLoad('aff'))).toBe(status.UNAUTHENTICATED);
    await writeVersion(root, affineConfig('aff', '2', 3, 2), affineModel(3, 2, 2));
    await client.repositoryModelLoad('aff', 'let-me-in');
    expect((await client.modelMetadata('aff')).versions).toEqual(['2']);
    const x = [0.5, -1, 2];
    const out = await client.infer('aff', [{ name: 'x', datatype: 'FP32', shape: [1, 3], values: x }], { raw: false });
    expect(out.modelVersion).toBe('2');
    out.outputs[0]!.fp32.forEach((v, i) => expect(v).toBeCloseTo(affineExpected(x, 2)[i]!, 5));
    // The directory watcher path: a third version appears and is picked up.
    await writeVersion(root, affineConfig('aff', '3', 3, 2), affineModel(3, 2, 3));
    await worker.watcher.check();
    const index = await client.repositoryIndex();
    expect(index.filter((m) => m.name === 'aff')).toEqual([{ name: 'aff', version: '3', state: 'READY', reason: '' }]);
  });

  it('swaps a version under continuous gRPC load without a failed call', async () => {
    let running = true;
    const versions = new Map<string, number>();
    const failures: unknown[] = [];
    const x = { name: 'x', datatype: 'FP32' as const, shape: [2, 3], values: [1, 2, 3, 4, 5, 6] };
    const loop = async (): Promise<void> => {
      while (running) {
        try {
          const r = await client.infer('aff', [x], { raw: true });
          versions.set(r.modelVersion, (versions.get(r.modelVersion) ?? 0) + 1);
        } catch (err) {
          failures.push(err);
        }
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    const before = (await client.modelMetadata('aff')).versions[0]!;
    while (!versions.get(before)) await new Promise((r) => setImmediate(r));
    const next = String(Number(before) + 1);
    await writeVersion(root, affineConfig('aff', next, 3, 2), affineModel(3, 2, Number(next)));
    await client.repositoryModelLoad('aff', 'let-me-in');
    while (!versions.get(next)) await new Promise((r) => setImmediate(r));
    running = false;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect([...versions.keys()].sort()).toEqual([before, next].sort());
  });

  it('exposes per-model metrics', async () => {
    const text = await worker.server.metrics.registry.metrics();
    expect(text).toMatch(/inference_model_provider\{model="enc",version="1",provider="cpu"\} 1/);
    expect(text).toMatch(/inference_batch_size_count\{model="aff",version="1"\} [1-9]/);
    expect(text).toMatch(/inference_rejections_total\{model="tiny_queue",version="1",reason="queue_full"\} [1-9]/);
    expect(text).toMatch(/inference_queue_duration_seconds_bucket/);
    expect(text).toMatch(/inference_inflight_requests\{model="enc",version="1"\} 0/);
    expect(text).toMatch(/inference_rejections_total\{model="aff",version="1",reason="invalid"\} [1-9]/);
    expect(text).toMatch(/inference_rejections_total\{model="enc",version="1",reason="invalid"\} [1-9]/);
  });
});
