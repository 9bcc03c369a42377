import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelRepository, compareVersions, selectVersions } from './model-repository';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'inference-repo-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function version(name: string, v: string, files = ['model.onnx', 'config.json']): Promise<void> {
  await mkdir(join(root, name, v), { recursive: true });
  for (const f of files) await writeFile(join(root, name, v, f), '{}');
}

describe('ModelRepository', () => {
  it('orders versions numerically and finds the newest complete one (one meaning of "newest" for workers, router and tools)', async () => {
    await version('m', '2');
    await version('m', '10');
    await version('m', '9');
    // Being copied in: no model.onnx yet.
    await version('m', '11', ['config.json']);
    const repo = new ModelRepository(root);
    expect((await repo.listVersions('m')).map((v) => v.version)).toEqual(['2', '9', '10']);
    expect((await repo.latestVersion('m'))?.version).toBe('10');
    expect((await repo.findVersion('m', '9'))?.modelPath).toBe(join(root, 'm', '9', 'model.onnx'));
    expect(await repo.findVersion('m', '11')).toBeUndefined();
    expect(await repo.latestVersion('absent')).toBeUndefined();
  });

  it('selects versions by policy', () => {
    expect(['10', '2', '9'].sort(compareVersions)).toEqual(['2', '9', '10']);
    expect(selectVersions(['1', '3', '2'], { latest: 2 })).toEqual(['2', '3']);
    expect(selectVersions(['1', '3', '2'], { versions: ['1', '7'] })).toEqual(['1']);
  });
});
