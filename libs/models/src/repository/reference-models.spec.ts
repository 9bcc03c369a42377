import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig } from '@pinrank/contracts';
import { MODEL_NAMES, PINNERFORMER_CONSUMERS } from '../models/model-definition';
import { buildModelRepositoryEntry, type ModelManifest } from './build-entry';

const REFERENCE = join(__dirname, '..', '..', '..', '..', 'models');

// The committed reference repository must be exactly what `pinrank models build`
// produces from the current definitions; after changing a model, rebuild it
// with `node tools/cli/bin/pinrank.cjs models build --overwrite`.
describe('reference model repository (models/)', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'pinrank-reference-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it.each([...MODEL_NAMES])('%s/1 matches a fresh seeded build', async (name) => {
    const committed = JSON.parse(await readFile(join(REFERENCE, name, '1', 'manifest.json'), 'utf8')) as ModelManifest;
    const fresh = await buildModelRepositoryEntry({
      repositoryDir: scratch,
      name,
      version: '1',
      ...(PINNERFORMER_CONSUMERS.includes(name) ? { pinnerformerVersion: '1' } : {}),
    });
    expect(committed).toEqual(fresh.manifest);
    const config = await loadModelConfig(join(REFERENCE, name, '1', 'config.json'));
    expect(config.placement).toBe(name === 'transact_encoder' ? 'gpu' : 'cpu');
  });
});
