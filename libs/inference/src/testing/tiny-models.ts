// Tiny ONNX models and repository helpers for tests and benchmarks. Not exported from the library.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { parseModelConfig, type ModelConfig } from '@pinrank/contracts';

type Dim = number | string;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function valueInfo(name: string, elemType: number, dims: readonly Dim[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

function floatInit(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

function encode(graph: onnx.IGraphProto): Uint8Array {
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 18 }], producerName: 'pinrank-tests', graph });
  return onnx.ModelProto.encode(model).finish();
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function seededFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** y[N,out] = x[N,in] · W + b, with weights from `seed`. Inputs: x; outputs: y. */
export function affineModel(inDim: number, outDim: number, seed = 1): Uint8Array {
  return encode({
    name: 'affine',
    node: [
      { opType: 'MatMul', input: ['x', 'W'], output: ['xw'] },
      { opType: 'Add', input: ['xw', 'b'], output: ['y'] },
    ],
    initializer: [floatInit('W', [inDim, outDim], seededFloats(inDim * outDim, seed)), floatInit('b', [outDim], seededFloats(outDim, seed + 7))],
    input: [valueInfo('x', FLOAT, ['N', inDim])],
    output: [valueInfo('y', FLOAT, ['N', outDim])],
  });
}

/**
 * A user_rows model shaped like transact_encoder: `seq` float32 [U,S,D] is
 * mean-pooled per user, gathered per candidate by `cand_user_idx` int64 [N],
 * multiplied by `cand` float32 [N,D] and projected: `encoded` float32 [N,out].
 */
export function gatherModel(d: number, outDim: number, seed = 3): Uint8Array {
  return encode({
    name: 'gather',
    node: [
      { opType: 'ReduceMean', input: ['seq', 'axes'], output: ['pooled'], attribute: [{ name: 'keepdims', i: 0, type: onnx.AttributeProto.AttributeType.INT }] },
      { opType: 'Gather', input: ['pooled', 'cand_user_idx'], output: ['per_cand'], attribute: [{ name: 'axis', i: 0, type: onnx.AttributeProto.AttributeType.INT }] },
      { opType: 'Mul', input: ['per_cand', 'cand'], output: ['fused'] },
      { opType: 'MatMul', input: ['fused', 'W'], output: ['encoded'] },
    ],
    initializer: [
      { name: 'axes', dims: [1], dataType: INT64, rawData: new Uint8Array(new BigInt64Array([1n]).buffer) },
      floatInit('W', [d, outDim], seededFloats(d * outDim, seed)),
    ],
    input: [valueInfo('seq', FLOAT, ['U', 'S', d]), valueInfo('cand', FLOAT, ['N', d]), valueInfo('cand_user_idx', INT64, ['N'])],
    output: [valueInfo('encoded', FLOAT, ['N', outDim])],
  });
}

/**
 * A heavier user_rows model for benchmarks: like {@link gatherModel}, then a
 * two-layer MLP per candidate (`d` → `hidden` → relu → `outDim`).
 */
export function gatherMlpModel(d: number, hidden: number, outDim: number, seed = 5): Uint8Array {
  return encode({
    name: 'gather_mlp',
    node: [
      { opType: 'ReduceMean', input: ['seq', 'axes'], output: ['pooled'], attribute: [{ name: 'keepdims', i: 0, type: onnx.AttributeProto.AttributeType.INT }] },
      { opType: 'Gather', input: ['pooled', 'cand_user_idx'], output: ['per_cand'], attribute: [{ name: 'axis', i: 0, type: onnx.AttributeProto.AttributeType.INT }] },
      { opType: 'Mul', input: ['per_cand', 'cand'], output: ['fused'] },
      { opType: 'MatMul', input: ['fused', 'W1'], output: ['h'] },
      { opType: 'Relu', input: ['h'], output: ['h_relu'] },
      { opType: 'MatMul', input: ['h_relu', 'W2'], output: ['encoded'] },
    ],
    initializer: [
      { name: 'axes', dims: [1], dataType: INT64, rawData: new Uint8Array(new BigInt64Array([1n]).buffer) },
      floatInit('W1', [d, hidden], seededFloats(d * hidden, seed)),
      floatInit('W2', [hidden, outDim], seededFloats(hidden * outDim, seed + 1)),
    ],
    input: [valueInfo('seq', FLOAT, ['U', 'S', d]), valueInfo('cand', FLOAT, ['N', d]), valueInfo('cand_user_idx', INT64, ['N'])],
    output: [valueInfo('encoded', FLOAT, ['N', outDim])],
  });
}

/**
 * An embedding lookup like transact_encoder's action types: `ids` int64 [N,S]
 * indexes a [vocab, d] table (one Gather), mean-pooled over S: `pooled` float32 [N,d].
 * An id outside the table makes ONNX Runtime fail the whole batch.
 */
export function vocabModel(vocab: number, d: number, seed = 11): Uint8Array {
  return encode({
    name: 'vocab',
    node: [
      { opType: 'Gather', input: ['table', 'ids'], output: ['rows'], attribute: [{ name: 'axis', i: 0, type: onnx.AttributeProto.AttributeType.INT }] },
      { opType: 'ReduceMean', input: ['rows', 'axes'], output: ['pooled'], attribute: [{ name: 'keepdims', i: 0, type: onnx.AttributeProto.AttributeType.INT }] },
    ],
    initializer: [
      floatInit('table', [vocab, d], seededFloats(vocab * d, seed)),
      { name: 'axes', dims: [1], dataType: INT64, rawData: new Uint8Array(new BigInt64Array([1n]).buffer) },
    ],
    input: [valueInfo('ids', INT64, ['N', 'S'])],
    output: [valueInfo('pooled', FLOAT, ['N', d])],
  });
}

/** A valid config for {@link vocabModel}; `patch` overrides fields (batching is merged). */
export function vocabConfig(name: string, version: string, d: number, patch: Partial<ModelConfig> = {}): ModelConfig {
  const { batching, ...rest } = patch;
  return parseModelConfig(
    {
      name,
      version,
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'ids', dtype: 'int64', shape: [-1, -1] }],
      outputs: [{ name: 'pooled', dtype: 'float32', shape: [-1, d] }],
      placement: 'cpu',
      executionProviders: ['cpu'],
      batching: { mode: 'concat', maxBatchSize: 1024, maxQueueDelayMs: 2, queueLimit: 256, userInputs: [], ...batching },
      warmup: { runs: 1, batchSize: 2 },
      ...rest,
    },
    `${name}/${version}`,
  );
}

/** A valid config for {@link affineModel}; `patch` overrides fields (batching is merged). */
export function affineConfig(name: string, version: string, inDim: number, outDim: number, patch: Partial<ModelConfig> = {}): ModelConfig {
  const { batching, ...rest } = patch;
  return parseModelConfig(
    {
      name,
      version,
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', dtype: 'float32', shape: [-1, inDim] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [-1, outDim] }],
      placement: 'cpu',
      executionProviders: ['cpu'],
      batching: { mode: 'concat', maxBatchSize: 64, maxQueueDelayMs: 2, queueLimit: 64, userInputs: [], ...batching },
      warmup: { runs: 1, batchSize: 2 },
      ...rest,
    },
    `${name}/${version}`,
  );
}

/** A valid config for {@link gatherModel}. */
export function gatherConfig(name: string, version: string, d: number, outDim: number, patch: Partial<ModelConfig> = {}): ModelConfig {
  const { batching, ...rest } = patch;
  return parseModelConfig(
    {
      name,
      version,
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'seq', dtype: 'float32', shape: [-1, -1, d] },
        { name: 'cand', dtype: 'float32', shape: [-1, d] },
        { name: 'cand_user_idx', dtype: 'int64', shape: [-1] },
      ],
      outputs: [{ name: 'encoded', dtype: 'float32', shape: [-1, outDim] }],
      placement: 'gpu',
      executionProviders: ['cpu'],
      batching: { mode: 'user_rows', maxBatchSize: 256, maxQueueDelayMs: 2, queueLimit: 64, userInputs: ['seq'], indexInput: 'cand_user_idx', ...batching },
      warmup: { runs: 1, batchSize: 4 },
      ...rest,
    },
    `${name}/${version}`,
  );
}

/**
 * Writes `<root>/<name>/<version>/{model.onnx,config.json}` atomically: the
 * files are written in a hidden directory that is then renamed into place.
 */
export async function writeVersion(root: string, config: ModelConfig | Record<string, unknown>, model: Uint8Array, name?: string, version?: string): Promise<string> {
  const n = name ?? String(config['name']);
  const v = version ?? String(config['version']);
  const staging = join(root, n, `.staging-${v}-${process.pid}-${Date.now()}`);
  const dir = join(root, n, v);
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, 'model.onnx'), model);
  await writeFile(join(staging, 'config.json'), JSON.stringify(config, null, 2));
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  return dir;
}

/** z[N,d] = y[N,d] + bias[N,d]: a second model to chain after {@link affineModel} (its output is `y`). */
export function sumModel(d: number): Uint8Array {
  return encode({
    name: 'sum',
    node: [{ opType: 'Add', input: ['y', 'bias'], output: ['z'] }],
    input: [valueInfo('y', FLOAT, ['N', d]), valueInfo('bias', FLOAT, ['N', d])],
    output: [valueInfo('z', FLOAT, ['N', d])],
  });
}

/** A valid config for {@link sumModel}. */
export function sumConfig(name: string, version: string, d: number): ModelConfig {
  return parseModelConfig(
    {
      name,
      version,
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'y', dtype: 'float32', shape: [-1, d] },
        { name: 'bias', dtype: 'float32', shape: [-1, d] },
      ],
      outputs: [{ name: 'z', dtype: 'float32', shape: [-1, d] }],
      placement: 'cpu',
      executionProviders: ['cpu'],
      batching: { mode: 'concat', maxBatchSize: 64, maxQueueDelayMs: 2, queueLimit: 64, userInputs: [] },
      warmup: { runs: 1, batchSize: 2 },
    },
    `${name}/${version}`,
  );
}
