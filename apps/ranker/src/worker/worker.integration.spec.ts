import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { type InferenceWorker } from '@pinrank/inference';
import { GRPCInferenceServiceClient, ModelInferRequest, type ModelInferResponse } from '@pinrank/proto';
import { onnx } from 'onnx-proto';
import pino from 'pino';
import { startWorker } from './start-worker';
import { readWorkerConfig } from './worker-config';

/** y[N,2] = x[N,2] · [[1,2],[3,4]]: small enough to check by hand. */
function matmulModel(): Uint8Array {
  const w = new Float32Array([1, 2, 3, 4]);
  const dims = (...d: Array<number | string>) => ({ dim: d.map((v) => (typeof v === 'number' ? { dimValue: v } : { dimParam: v })) });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 18 }],
      graph: {
        name: 'mm',
        node: [{ opType: 'MatMul', input: ['x', 'W'], output: ['y'] }],
        initializer: [{ name: 'W', dims: [2, 2], dataType: 1, rawData: new Uint8Array(w.buffer) }],
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: dims('N', 2) } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: dims('N', 2) } } }],
      },
    }),
  ).finish();
}

async function writeModel(root: string, name: string, placement: 'gpu' | 'cpu'): Promise<void> {
  const dir = join(root, name, '1');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), matmulModel());
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      name,
      version: '1',
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 2] }],
      placement,
      executionProviders: ['webgpu', 'cuda', 'cpu'],
      batching: { mode: 'concat', maxBatchSize: 32, maxQueueDelayMs: 1, queueLimit: 32, userInputs: [] },
      warmup: { runs: 1, batchSize: 2 },
    }),
  );
}

describe('ranker worker role', () => {
  let root: string;
  let worker: InferenceWorker;
  let client: GRPCInferenceServiceClient;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ranker-worker-'));
    await writeModel(root, 'encoder_like', 'gpu');
    await writeModel(root, 'heads_like', 'cpu');
    const config = readWorkerConfig('gpu', { RANKER_MODEL_REPOSITORY: root, RANKER_WATCH: 'off', RANKER_INTRA_OP_THREADS: '1' }, []);
    worker = await startWorker({ role: 'gpu', config, server: { address: '127.0.0.1:0', signals: [] }, logger: pino({ level: 'silent' }) });
    client = new GRPCInferenceServiceClient(`127.0.0.1:${worker.server.port}`, credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await worker.close();
    await rm(root, { recursive: true, force: true });
  });

  it('serves the models of its placement, falling back to the cpu provider here', async () => {
    expect(worker.lifecycle.index().map((m) => [m.name, m.state])).toEqual([
      ['encoder_like', 'READY'],
      ['heads_like', 'UNAVAILABLE'],
    ]);
    const x = Buffer.from(new Float32Array([1, 1, 0, 2]).buffer);
    const res = await new Promise<ModelInferResponse>((resolve, reject) =>
      client.modelInfer(
        ModelInferRequest.fromPartial({ modelName: 'encoder_like', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2] }], rawInputContents: [x] }),
        (err, r) => (err ? reject(err) : resolve(r)),
      ),
    );
    const y = new Float32Array(new Uint8Array(res.rawOutputContents[0]!).buffer);
    expect(Array.from(y)).toEqual([4, 6, 6, 8]);
    expect(res.modelVersion).toBe('1');
    const text = await worker.server.metrics.registry.metrics();
    expect(text).toMatch(/inference_model_provider\{model="encoder_like",version="1",provider="cpu"\} 1/);
  });
});
