import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelSet } from './model-set';
import { withRouterDefaults, type RouterOptions } from './router-options';
import { copyTestModelVersion, writeTestModelConfigs } from './testing/fake-worker';

let repo: string;
beforeEach(async () => {
  repo = join(await mkdtemp(join(tmpdir(), 'ranker-model-set-')), 'models');
  await writeTestModelConfigs(repo, 'pf-1');
});
afterEach(async () => {
  await rm(join(repo, '..'), { recursive: true, force: true });
});

const options = (o: Partial<RouterOptions> = {}) => withRouterDefaults({ featureServer: 'f', embeddingStore: 'e', gpuWorkers: ['g'], cpuWorkers: [], modelRepository: repo, ...o });

async function editConfig(name: string, version: string, edit: (c: { inputs: Array<{ name: string; shape: number[] }> }) => void): Promise<void> {
  const path = join(repo, name, version, 'config.json');
  const config = JSON.parse(await readFile(path, 'utf8')) as { inputs: Array<{ name: string; shape: number[] }> };
  edit(config);
  await writeFile(path, JSON.stringify(config));
}

describe('loadModelSet', () => {
  it('reads the widths of the ranking path from the configs', async () => {
    const models = await loadModelSet(options());
    expect(models.widths).toEqual({ content: 32, pinnerformer: 64, encoded: 1056 });
    expect(models.heads.headNames).toEqual(['save', 'click', 'hide']);
    expect(models.pinnerformerVersion).toBe('pf-1');
    expect(models.encoder.placement).toBe('gpu');
  });

  it('takes the newest complete version, as the workers do (ModelRepository); a version still being copied in does not count', async () => {
    await copyTestModelVersion(repo, 'ranking_heads', '1', '10');
    await copyTestModelVersion(repo, 'ranking_heads', '1', '9');
    // Version 11 has no model.onnx yet: incomplete for the workers, so for the router too.
    await mkdir(join(repo, 'ranking_heads', '11'));
    await writeFile(join(repo, 'ranking_heads', '11', 'config.json'), await readFile(join(repo, 'ranking_heads', '10', 'config.json')));
    const models = await loadModelSet(options());
    expect(models.heads).toMatchObject({ version: '10', pinned: false });
    expect((await loadModelSet(options({ modelVersions: { ranking_heads: '9' } }))).heads).toMatchObject({ version: '9', pinned: true });
  });

  it('names a pinned version that is not in the repository', async () => {
    await expect(loadModelSet(options({ modelVersions: { ranking_heads: '7' } }))).rejects.toThrow(/model ranking_heads\/7: not in the model repository .* \(a version directory needs model.onnx and config.json\)/);
  });

  it('refuses models whose widths do not fit together or the dense features the router builds', async () => {
    await editConfig('ranking_heads', '1', (c) => {
      const encoded = c.inputs.find((t) => t.name === 'encoded');
      if (encoded) encoded.shape = [-1, 1000];
    });
    await expect(loadModelSet(options())).rejects.toThrow('encoded width differs: model transact_encoder/1 output "encoded" has 1056, model ranking_heads/1 input "encoded" has 1000');
    await editConfig('ranking_heads', '1', (c) => {
      for (const t of c.inputs) if (t.name === 'encoded') t.shape = [-1, 1056];
      for (const t of c.inputs) if (t.name === 'dense_features') t.shape = [-1, 5];
    });
    await expect(loadModelSet(options())).rejects.toThrow('model ranking_heads/1 input "dense_features" has 5 columns; the router builds 4 (@pinrank/features)');
    await editConfig('ranking_heads', '1', (c) => {
      for (const t of c.inputs) if (t.name === 'dense_features') t.shape = [-1, 4];
      for (const t of c.inputs) if (t.name === 'user_pf') t.shape = [-1, -1];
    });
    await expect(loadModelSet(options())).rejects.toThrow('model ranking_heads/1 input "user_pf" needs a fixed last axis, got [-1,-1]');
  });
});
