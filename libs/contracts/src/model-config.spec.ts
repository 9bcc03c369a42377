import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractError } from './contract-error';
import { loadModelConfig, parseModelConfig } from './model-config';

const valid = {
  name: 'transact_encoder',
  version: '1',
  platform: 'onnxruntime_onnx',
  inputs: [
    { name: 'seq_action_types', dtype: 'int64', shape: [-1, -1] },
    { name: 'cand_vectors', dtype: 'float32', shape: [-1, 32] },
    { name: 'cand_user_idx', dtype: 'int64', shape: [-1] },
  ],
  outputs: [{ name: 'encoded', dtype: 'float32', shape: [-1, 1056] }],
  placement: 'gpu',
  executionProviders: ['webgpu', 'cpu'],
  batching: { mode: 'user_rows', maxBatchSize: 4096, maxQueueDelayMs: 2, queueLimit: 256, userInputs: ['seq_action_types'], indexInput: 'cand_user_idx' },
  warmup: { runs: 2, batchSize: 8 },
  pinnerformerVersion: '1',
};

function withChange(path: string[], value: unknown): unknown {
  const copy = structuredClone(valid) as Record<string, unknown>;
  let obj = copy;
  for (const key of path.slice(0, -1)) obj = obj[key] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  if (value === undefined) delete obj[last];
  else obj[last] = value;
  return copy;
}

describe('parseModelConfig', () => {
  it('accepts a complete config and fills defaults', () => {
    const cfg = parseModelConfig(valid, 'test');
    expect(cfg.batching.indexInput).toBe('cand_user_idx');
    const noWarmup = parseModelConfig(withChange(['warmup'], undefined), 'test');
    expect(noWarmup.warmup).toEqual({ runs: 1, batchSize: 1 });
  });

  it.each([
    [['name'], 'Bad Name', /^name: must be 1-64 characters/],
    [['placement'], 'tpu', /^placement: must be gpu or cpu/],
    [['executionProviders'], ['rocm'], /^executionProviders\.0: must be one of webgpu, cuda, cpu/],
    [['batching', 'maxBatchSize'], 0, /^batching\.maxBatchSize: must be an integer >= 1/],
    [['batching', 'indexInput'], 'nope', /^batching\.indexInput: "nope" is not one of the model's inputs/],
    [['inputs'], [], /^inputs: a model needs at least one input/],
    [['outputs'], [{ name: 'encoded', dtype: 'float16', shape: [-1] }], /^outputs\.0\.dtype: must be one of float32/],
    [['inputs'], [{ name: 'a', dtype: 'float32', shape: [0] }, { name: 'a', dtype: 'float32', shape: [1] }], /^inputs\.0\.shape\.0: a dimension of 0/],
    [['platform'], 'tensorrt', /^platform: must be "onnxruntime_onnx"/],
    [['surprise'], 1, /surprise/],
  ])('refuses %j = %j with a message naming the field', (path, value, message) => {
    let thrown: unknown;
    try {
      parseModelConfig(withChange(path as string[], value), 'models/x/1/config.json');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ContractError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).toContain('(in models/x/1/config.json)');
  });

  it('refuses duplicate input names', () => {
    const dup = withChange(['inputs'], [valid.inputs[1], valid.inputs[1], valid.inputs[2], valid.inputs[0]]);
    expect(() => parseModelConfig(dup, 't')).toThrow(/inputs\.1\.name: duplicate input name "cand_vectors"/);
  });

  it('accepts value domains on integer inputs and per-request limits by axis name', () => {
    const cfg = parseModelConfig(
      {
        ...valid,
        inputs: [
          { ...valid.inputs[0], values: { min: 0, max: 7 } },
          valid.inputs[1],
          { ...valid.inputs[2], values: { min: 0, indexOf: 'seq_action_types' } },
        ],
        limits: { axes: { S: 1000, N: 4096 }, work: { axes: ['N', 'S', 'S'], max: 40_960_000 } },
      },
      't',
    );
    expect(cfg.inputs[0]?.values).toEqual({ min: 0, max: 7 });
    expect(cfg.limits?.work?.axes).toEqual(['N', 'S', 'S']);
    expect(parseModelConfig({ ...valid, limits: {} }, 't').limits).toEqual({ axes: {} });
  });

  it.each([
    [{ inputs: [{ ...valid.inputs[1], values: { min: 0, max: 3 } }, valid.inputs[0], valid.inputs[2]] }, /inputs\.0\.values: value domains apply to integer inputs; "cand_vectors" is float32/],
    [{ inputs: [{ ...valid.inputs[0], values: { min: 5, max: 3 } }, valid.inputs[1], valid.inputs[2]] }, /inputs\.0\.values: min must be <= max/],
    [{ inputs: [{ ...valid.inputs[0], values: { indexOf: 'nope' } }, valid.inputs[1], valid.inputs[2]] }, /inputs\.0\.values\.indexOf: "nope" is not one of the model's inputs/],
    [{ inputs: [{ ...valid.inputs[0], value: { min: 0 } }, valid.inputs[1], valid.inputs[2]] }, /inputs\.0.*value/],
    [{ limits: { axes: { S: 0 } } }, /limits\.axes\.S: must be an integer >= 1/],
    [{ limits: { work: { axes: [], max: 10 } } }, /limits\.work\.axes: name at least one axis/],
    [{ limits: { axes: { 'S-1': 3 } } }, /limits\.axes\.S-1: Invalid key/],
  ])('refuses bad value domains and limits (%#)', (patch, message) => {
    expect(() => parseModelConfig({ ...valid, ...patch }, 't')).toThrow(message);
  });

  it('loads from a file and reports unreadable or malformed files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(valid));
    await expect(loadModelConfig(good)).resolves.toMatchObject({ name: 'transact_encoder' });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ nope');
    await expect(loadModelConfig(bad)).rejects.toThrow(/not valid JSON/);
    await expect(loadModelConfig(join(dir, 'missing.json'))).rejects.toThrow(/cannot read model config/);
  });
});
