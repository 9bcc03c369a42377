import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig } from '@pinrank/contracts';
import { buildConfig } from '../models/model-definition';
import { createModel } from '../models/model-registry';
import { buildModelRepositoryEntry, sha256, type ModelManifest } from './build-entry';
import { refreshModelConfig } from './refresh-config';

let repo: string;
beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), 'pinrank-refresh-'));
});
afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

/** Rewrites an entry's config as an older build wrote it (no value domains, no limits), with a matching manifest. */
async function ageConfig(dir: string): Promise<void> {
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown> & { inputs: Array<Record<string, unknown>> };
  delete config['limits'];
  for (const input of config.inputs) delete input['values'];
  const bytes = Buffer.from(`${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(dir, 'config.json'), bytes);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  manifest.files = manifest.files.map((f) => (f.path === 'config.json' ? { path: f.path, bytes: bytes.byteLength, sha256: sha256(bytes) } : f));
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

describe('refreshModelConfig', () => {
  it('brings an older config up to the current definition and keeps model.onnx and the manifest consistent', async () => {
    const built = await buildModelRepositoryEntry({ repositoryDir: repo, name: 'transact_encoder', version: '4', hyperparams: { actionVocab: 6, layers: 1, ffnDim: 8 } });
    const onnxBefore = await readFile(join(built.dir, 'model.onnx'));
    await ageConfig(built.dir);
    expect((await loadModelConfig(join(built.dir, 'config.json'))).limits).toBeUndefined();

    const refreshed = await refreshModelConfig(built.dir);
    expect(refreshed.changed).toBe(true);
    const config = await loadModelConfig(join(built.dir, 'config.json'));
    expect(config).toEqual(built.config);
    // The vocabulary comes from the manifest's hyperparameters, not the defaults.
    expect(config.inputs.find((i) => i.name === 'seq_action_types')?.values).toEqual({ min: 0, max: 5 });
    expect(config.limits).toEqual({ axes: { S: 1000 }, work: { axes: ['N', 'S', 'S'], max: 40_960_000 } });
    const manifest = JSON.parse(await readFile(join(built.dir, 'manifest.json'), 'utf8')) as ModelManifest;
    for (const f of manifest.files) expect(sha256(await readFile(join(built.dir, f.path)))).toBe(f.sha256);
    expect(await readFile(join(built.dir, 'model.onnx'))).toEqual(onnxBefore);
    expect((await refreshModelConfig(built.dir)).changed).toBe(false);
  });

  it('refuses an entry whose model.onnx no longer matches its manifest', async () => {
    const built = await buildModelRepositoryEntry({ repositoryDir: repo, name: 'pinnerformer_item', version: '1' });
    await writeFile(join(built.dir, 'model.onnx'), Buffer.from('not the model'));
    await expect(refreshModelConfig(built.dir)).rejects.toThrow(/model.onnx does not match the digest in its manifest/);
  });

  it('buildConfig refuses limits or value domains naming axes or inputs the model does not have', () => {
    const spec = createModel('transact_encoder', {});
    const parts = { placement: 'gpu' as const, executionProviders: ['cpu' as const], batching: spec.config('1').batching, warmup: { runs: 1, batchSize: 1 }, description: '' };
    expect(() => buildConfig(spec, '1', { ...parts, limits: { axes: { T: 5 } } })).toThrow(/limits name axis "T"; the inputs' axes are U, S, N/);
    expect(() => buildConfig(spec, '1', { ...parts, inputValues: { nope: { min: 0 } } })).toThrow(/value domain for "nope", which is not an input/);
  });
});
