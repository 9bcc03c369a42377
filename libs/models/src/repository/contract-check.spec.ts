import { ContractError, type ModelConfig } from '@pinrank/contracts';
import { type InferenceSession } from 'onnxruntime-node';
import { createModel } from '../models/model-registry';
import { exportOnnx } from '../run/onnx-export';
import { createCpuSession } from '../run/onnx-run';
import { WeightStore } from '../weights/weight-store';
import { checkSessionAgainstConfig, diffSessionAgainstConfig } from './contract-check';

describe('contract check at load', () => {
  let session: InferenceSession;
  let config: ModelConfig;

  beforeAll(async () => {
    const spec = createModel('transact_encoder');
    session = await createCpuSession(exportOnnx(spec, WeightStore.seeded(1)));
    config = spec.config('1');
  });
  afterAll(async () => {
    await session.release();
  });

  it('accepts a model that matches its config', () => {
    expect(diffSessionAgainstConfig(session, config)).toEqual([]);
    expect(() => checkSessionAgainstConfig(session, config)).not.toThrow();
  });

  it('refuses a model whose input names differ from its config, naming both sides', () => {
    const renamed: ModelConfig = { ...config, inputs: config.inputs.map((t) => (t.name === 'seq_ages_s' ? { ...t, name: 'seq_ages' } : t)) };
    expect(() => checkSessionAgainstConfig(session, renamed, 'models/transact_encoder/1/config.json')).toThrow(ContractError);
    expect(() => checkSessionAgainstConfig(session, renamed, 'models/transact_encoder/1/config.json')).toThrow(
      /model transact_encoder version 1 does not match its config: config input "seq_ages" is missing from the model .*; model input "seq_ages_s" is not declared in the config \(in models\/transact_encoder\/1\/config.json\)/,
    );
  });

  it('refuses a wrong element type and a wrong fixed dimension', () => {
    const wrong: ModelConfig = {
      ...config,
      inputs: config.inputs.map((t) =>
        t.name === 'cand_user_idx' ? { ...t, dtype: 'int32' } : t.name === 'cand_vectors' ? { ...t, shape: [-1, 64] } : t,
      ),
      outputs: [{ name: 'encoded', dtype: 'float32', shape: [-1, 1056, 1] }],
    };
    expect(diffSessionAgainstConfig(session, wrong)).toEqual([
      'input "cand_vectors" has shape [N, 32] in the model but [-1, 64] in the config',
      'input "cand_user_idx" is int64 in the model but int32 in the config',
      'output "encoded" has shape [N, 1056] in the model but [-1, 1056, 1] in the config',
    ]);
  });

  it('refuses a config that fixes an axis the model leaves dynamic', () => {
    const fixed: ModelConfig = { ...config, outputs: [{ name: 'encoded', dtype: 'float32', shape: [8, 1056] }] };
    expect(diffSessionAgainstConfig(session, fixed)).toEqual([
      'output "encoded" has a dynamic axis where the config fixes one: [N, 1056] in the model but [8, 1056] in the config',
    ]);
  });
});
