import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig } from '@pinrank/contracts';
import { checkSessionAgainstConfig, sessionSignature } from '@pinrank/inference';
import { createModel } from '../models/model-registry';
import { exportOnnx } from '../run/onnx-export';
import { createCpuSession, runOnnx } from '../run/onnx-run';
import { maxAbsDiff } from '../testing/parity';
import { SeededRandom } from '../weights/seeded-random';
import { saveWeights } from '../weights/weight-file';
import { WeightStore } from '../weights/weight-store';
import { buildModelRepositoryEntry, sha256 } from './build-entry';

let repo: string;
beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), 'pinrank-repo-'));
});
afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

describe('buildModelRepositoryEntry', () => {
  it('writes model.onnx, config.json and manifest.json that agree with each other', async () => {
    const built = await buildModelRepositoryEntry({ repositoryDir: repo, name: 'ranking_heads', version: '1', pinnerformerVersion: '1' });
    const dir = join(repo, 'ranking_heads', '1');
    expect(built.dir).toBe(dir);
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'manifest.json', 'model.onnx']);
    const config = await loadModelConfig(join(dir, 'config.json'));
    expect(config).toMatchObject({ name: 'ranking_heads', version: '1', placement: 'cpu', pinnerformerVersion: '1', heads: ['save', 'click', 'hide'] });
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as typeof built.manifest;
    expect(manifest.weights).toEqual({ source: 'seeded', seed: 1 });
    for (const f of manifest.files) expect(sha256(await readFile(join(dir, f.path)))).toBe(f.sha256);
    const session = await createCpuSession(await readFile(join(dir, 'model.onnx')));
    expect(() => checkSessionAgainstConfig(sessionSignature(session), config, 'built', { exact: true })).not.toThrow();
    await session.release();
    // No staging directory is left behind.
    expect(await readdir(join(repo, 'ranking_heads'))).toEqual(['1']);
  });

  it('is deterministic, refuses to overwrite unless asked, and places transact_encoder on the GPU', async () => {
    const a = await buildModelRepositoryEntry({ repositoryDir: repo, name: 'transact_encoder', version: '1', seed: 4 });
    expect(a.config.placement).toBe('gpu');
    expect(a.config.batching).toMatchObject({ mode: 'user_rows', indexInput: 'cand_user_idx' });
    await expect(buildModelRepositoryEntry({ repositoryDir: repo, name: 'transact_encoder', version: '1', seed: 4 })).rejects.toThrow(
      'already exists',
    );
    const b = await buildModelRepositoryEntry({ repositoryDir: repo, name: 'transact_encoder', version: '1', seed: 4, overwrite: true });
    expect(b.manifest).toEqual(a.manifest);
  });

  it('builds from a weights file and records its digest; refuses weights of another model', async () => {
    const spec = createModel('pinnerformer_item');
    const store = WeightStore.seeded(9);
    const bytes = exportOnnx(spec, store);
    const path = join(repo, 'tower.prw');
    await saveWeights(path, spec.name, { ...spec.hyperparams }, store, { step: 100 });
    const built = await buildModelRepositoryEntry({ repositoryDir: repo, name: 'pinnerformer_item', version: '2', weightsPath: path });
    expect(built.manifest.weights).toEqual({ source: 'file', file: 'tower.prw', sha256: sha256(await readFile(path)), provenance: { step: 100 } });
    expect(Buffer.from(await readFile(join(built.dir, 'model.onnx'))).equals(Buffer.from(bytes))).toBe(true);
    await expect(buildModelRepositoryEntry({ repositoryDir: repo, name: 'ranking_heads', version: '1', weightsPath: path })).rejects.toThrow(
      'holds weights of "pinnerformer_item", not "ranking_heads"',
    );
    await expect(buildModelRepositoryEntry({ repositoryDir: repo, name: 'nope', version: '1' })).rejects.toThrow('unknown model "nope"');
  });

  it('re-emits an entry in the current graph form with its exact weights, and refuses an altered model file', async () => {
    const old = await buildModelRepositoryEntry({ repositoryDir: repo, name: 'transact_encoder', version: '1', seed: 6, hyperparams: { form: 'gathered' } });
    const built = await buildModelRepositoryEntry({ repositoryDir: repo, name: 'transact_encoder', version: '2', reemitFrom: old.dir });
    const oldModel = await readFile(join(old.dir, 'model.onnx'));
    expect(built.manifest).toMatchObject({
      version: '2',
      weights: old.manifest.weights,
      hyperparams: { ...old.manifest.hyperparams, form: 'split' },
      parameterCount: old.manifest.parameterCount,
      reemittedFrom: { version: '1', modelSha256: sha256(oldModel) },
    });
    expect(built.config).toEqual({ ...old.config, version: '2' });
    // Same function: both versions agree on sample inputs.
    const feeds = createModel('transact_encoder').sampleFeeds(new SeededRandom(3), { batch: 7, users: 2, seqLen: 20 });
    const outputs = await Promise.all(
      [oldModel, await readFile(join(built.dir, 'model.onnx'))].map(async (bytes) => {
        const session = await createCpuSession(bytes);
        const out = (await runOnnx(session, feeds))['encoded']!.data;
        await session.release();
        return out;
      }),
    );
    expect(maxAbsDiff(outputs[0]!, outputs[1]!)).toBeLessThanOrEqual(1e-5);
    // A model file that no longer matches its manifest is refused.
    await writeFile(join(old.dir, 'model.onnx'), Buffer.concat([oldModel, Buffer.from([0])]));
    await expect(buildModelRepositoryEntry({ repositoryDir: repo, name: 'transact_encoder', version: '3', reemitFrom: old.dir })).rejects.toThrow(
      'does not match its manifest',
    );
    await expect(buildModelRepositoryEntry({ repositoryDir: repo, name: 'ranking_heads', version: '3', reemitFrom: old.dir })).rejects.toThrow(
      'holds "transact_encoder", not "ranking_heads"',
    );
  });
});
