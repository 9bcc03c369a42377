import { ContractError, type ModelConfig } from '@pinrank/contracts';
import { checkSessionAgainstConfig, sessionContractProblems, sessionSignature, type SessionSignature } from '@pinrank/inference';
import { type InferenceSession } from 'onnxruntime-node';
import { createModel } from '../models/model-registry';
import { exportOnnx } from '../run/onnx-export';
import { createCpuSession } from '../run/onnx-run';
import { WeightStore } from '../weights/weight-store';

// The release build checks each model against the config it writes with the
// same check the workers run at load (@pinrank/inference), in its exact form.
describe('contract check of a built model (exact)', () => {
  let session: InferenceSession;
  let signature: SessionSignature;
  let config: ModelConfig;

  beforeAll(async () => {
    const spec = createModel('transact_encoder');
    session = await createCpuSession(exportOnnx(spec, WeightStore.seeded(1)));
    signature = sessionSignature(session);
    config = spec.config('1');
  });
  afterAll(async () => {
    await session.release();
  });

  it('accepts a model that matches its config', () => {
    expect(sessionContractProblems(signature, config, { exact: true })).toEqual([]);
    expect(() => checkSessionAgainstConfig(signature, config, 'built', { exact: true })).not.toThrow();
  });

  it('refuses a model whose input names differ from its config, naming both sides', () => {
    const renamed: ModelConfig = { ...config, inputs: config.inputs.map((t) => (t.name === 'seq_ages_s' ? { ...t, name: 'seq_ages' } : t)) };
    const check = (): void => checkSessionAgainstConfig(signature, renamed, 'models/transact_encoder/1/config.json', { exact: true });
    expect(check).toThrow(ContractError);
    expect(check).toThrow(
      /model transact_encoder version 1 does not match its config: config input "seq_ages" is not an input of the model \(it has .*seq_ages_s.*\); the model has input "seq_ages_s", which the config does not declare \(in models\/transact_encoder\/1\/config.json\)/,
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
    expect(sessionContractProblems(signature, wrong, { exact: true })).toEqual([
      'input "cand_vectors" axis 1: config says 64, the model has 32',
      'input "cand_user_idx": config says int32, the model has int64',
      'output "encoded": config has rank 3 [-1,1056,1], the model has rank 2 [N,1056]',
    ]);
  });

  it('refuses, when exact, a config that fixes an axis the model leaves dynamic (a worker accepts it)', () => {
    const fixed: ModelConfig = { ...config, outputs: [{ name: 'encoded', dtype: 'float32', shape: [8, 1056] }] };
    expect(sessionContractProblems(signature, fixed, { exact: true })).toEqual(['output "encoded" axis 0: config says 8, the model leaves it dynamic (N)']);
    expect(sessionContractProblems(signature, fixed)).toEqual([]);
  });

  it('refuses, when exact, a model output the config does not declare', () => {
    const partial: ModelConfig = { ...config, outputs: [] };
    expect(sessionContractProblems(signature, partial, { exact: true })).toEqual(['the model has output "encoded", which the config does not declare']);
    expect(sessionContractProblems(signature, partial)).toEqual([]);
  });
});
