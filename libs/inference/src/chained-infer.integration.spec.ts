import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { GRPCInferenceServiceRawClient, ModelInferRequest, type InferParameter, type ModelInferResponse } from '@pinrank/proto';
import pino from 'pino';
import { FIRST_VERSION_PARAM, THEN_MODEL_PARAM, THEN_VERSION_PARAM } from './chained-infer';
import { startInferenceWorker, type InferenceWorker } from './inference-worker';
import { affineConfig, affineModel, seededFloats, sumConfig, sumModel, writeVersion } from './testing/tiny-models';

type Req = Parameters<typeof ModelInferRequest.fromPartial>[0];
const str = (value: string): InferParameter => ({ parameterChoice: { $case: 'stringParam', value } });
const f32 = (values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);

describe('chained ModelInfer (one model on the outputs of another, on one worker)', () => {
  let root: string;
  let worker: InferenceWorker;
  let client: InstanceType<typeof GRPCInferenceServiceRawClient>;

  const infer = (req: Req): Promise<ModelInferResponse> =>
    new Promise((resolve, reject) => client.modelInfer(ModelInferRequest.fromPartial(req), (err, res) => (err ? reject(err) : resolve(res))));
  const refusal = async (req: Req): Promise<{ code: number; details: string }> => {
    try {
      await infer(req);
    } catch (err) {
      return { code: (err as ServiceError).code, details: (err as ServiceError).details };
    }
    throw new Error('the request was not refused');
  };

  // x [2,3] → aff (y = x·W + b, [2,2]) → add (z = y + bias)
  const x = [1, 0, 2, -1, 3, 0.5];
  const bias = [10, 20, 30, 40];
  const chained = (parameters: Record<string, InferParameter>, extra: ReadonlyArray<{ name: string; values: readonly number[] }> = []): Req => {
    const tensors = [{ name: 'x', values: x, shape: [2, 3] }, { name: 'bias', values: bias, shape: [2, 2] }, ...extra.map((e) => ({ name: e.name, values: [...e.values], shape: [2, 2] }))];
    return {
      modelName: 'aff',
      parameters,
      inputs: tensors.map((t) => ({ name: t.name, datatype: 'FP32', shape: t.shape })),
      rawInputContents: tensors.map((t) => f32(t.values)),
    };
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'pinrank-chain-'));
    await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2, 1));
    await writeVersion(root, sumConfig('add', '4', 2), sumModel(2));
    worker = await startInferenceWorker({
      address: '127.0.0.1:0',
      repositoryRoot: root,
      models: { executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1 },
      watch: { mode: 'off' },
      server: { signals: [] },
      logger: pino({ level: 'silent' }),
    });
    client = new GRPCInferenceServiceRawClient(`127.0.0.1:${worker.server.port}`, credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await worker.close();
    await rm(root, { recursive: true, force: true });
  });

  it("answers with the second model's outputs, computed on the first one's, and names both versions", async () => {
    const res = await infer(chained({ [THEN_MODEL_PARAM]: str('add') }));
    expect(res.modelName).toBe('add');
    expect(res.modelVersion).toBe('4');
    expect(res.parameters[FIRST_VERSION_PARAM]).toEqual(str('1'));
    const z = Array.from(new Float32Array(new Uint8Array(res.rawOutputContents[0]!).buffer));
    // Independent of ONNX Runtime: the weights affineModel(3, 2, 1) uses.
    const w = seededFloats(6, 1);
    const b = seededFloats(2, 8);
    const want = [0, 1].flatMap((r) => [0, 1].map((c) => b[c]! + x[r * 3]! * w[c]! + x[r * 3 + 1]! * w[2 + c]! + x[r * 3 + 2]! * w[4 + c]! + bias[r * 2 + c]!));
    z.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    expect(res.outputs.map((o) => [o.name, o.shape])).toEqual([['z', [2, 2]]]);
    // The first model alone still answers as before.
    const plain = await infer({ modelName: 'aff', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }], rawInputContents: [f32(x)] });
    expect(plain.modelName).toBe('aff');
    expect(plain.parameters[FIRST_VERSION_PARAM]).toBeUndefined();
  });

  it.each([
    ['a chain to itself', { [THEN_MODEL_PARAM]: str('aff') }, [], 3, /names the requested model itself/],
    ['an unknown second model', { [THEN_MODEL_PARAM]: str('nope') }, [], 5, /nope/],
    ['a malformed model name', { [THEN_MODEL_PARAM]: str('Bad Name!') }, [], 3, /model names are/],
    ['a version without a model', { [THEN_VERSION_PARAM]: str('4') }, [], 3, /name the model to chain to/],
    ['a non-string parameter', { [THEN_MODEL_PARAM]: { parameterChoice: { $case: 'int64Param', value: 3 } } as InferParameter }, [], 3, /must be a string parameter/],
    ['the linked tensor sent by the caller', { [THEN_MODEL_PARAM]: str('add') }, [{ name: 'y', values: [1, 2, 3, 4] }], 3, /input "y" is aff's output/],
    ['an input neither model takes', { [THEN_MODEL_PARAM]: str('add') }, [{ name: 'q', values: [1, 2, 3, 4] }], 3, /input "q" is taken by neither aff nor add/],
    ['an unknown second version', { [THEN_MODEL_PARAM]: str('add'), [THEN_VERSION_PARAM]: str('9') }, [], 5, /9/],
  ] as const)('refuses %s with a clear status', async (_what, parameters, extra, code, message) => {
    const r = await refusal(chained(parameters, extra));
    expect(r.code).toBe(code);
    expect(r.details).toMatch(message);
  });

  it('refuses to chain two models that share no tensor', async () => {
    const r = await refusal({
      modelName: 'add',
      parameters: { [THEN_MODEL_PARAM]: str('aff') },
      inputs: [
        { name: 'y', datatype: 'FP32', shape: [1, 2] },
        { name: 'bias', datatype: 'FP32', shape: [1, 2] },
      ],
      rawInputContents: [f32([1, 2]), f32([3, 4])],
    });
    expect(r.code).toBe(3);
    expect(r.details).toMatch(/aff takes no output of add/);
  });
});
