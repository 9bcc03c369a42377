import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig } from '@pinrank/contracts';
import { main } from '../cli';
import { type CliIo } from '../io';

describe('pinrank models build', () => {
  let dir: string;
  let out: string;
  let err: string;
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), errIsTty: false };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinrank-cli-models-'));
    out = '';
    err = '';
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (...args: string[]): Promise<number> => main(['node', 'pinrank', 'models', 'build', '--repository', dir, ...args], io);

  it('writes seeded entries with config and manifest; heads configs name the PinnerFormer version', async () => {
    expect(await run('--name', 'ranking_heads_lite', 'pinnerformer_item', '--version', '3', '--pinnerformer-version', '7')).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['pinnerformer_item', 'ranking_heads_lite']);
    expect((await readdir(join(dir, 'ranking_heads_lite', '3'))).sort()).toEqual(['config.json', 'manifest.json', 'model.onnx']);
    expect((await loadModelConfig(join(dir, 'ranking_heads_lite', '3', 'config.json'))).pinnerformerVersion).toBe('7');
    expect((await loadModelConfig(join(dir, 'pinnerformer_item', '3', 'config.json'))).pinnerformerVersion).toBeUndefined();
    const manifest = JSON.parse(await readFile(join(dir, 'pinnerformer_item', '3', 'manifest.json'), 'utf8')) as { weights: unknown };
    expect(manifest.weights).toEqual({ source: 'seeded', seed: 1 });
    expect(out).toMatch(/ranking_heads_lite\/3: \d+ parameters, model.onnx \d+ bytes sha256 [0-9a-f]{64} \(weights: seeded\)/);
  });

  it('refresh-configs rewrites configs from the current definitions and reports each entry', async () => {
    expect(await run('--name', 'pinnerformer_item', '--version', '2')).toBe(0);
    out = '';
    expect(await main(['node', 'pinrank', 'models', 'refresh-configs', '--repository', dir, '--name', 'pinnerformer_item'], io)).toBe(0);
    expect(out).toBe(`${join(dir, 'pinnerformer_item', '2')}: config.json unchanged\n`);
  });

  it('refuses unknown models, --weights with several models, and existing entries without --overwrite', async () => {
    expect(await run('--name', 'nope')).not.toBe(0);
    expect(await run('--name', 'ranking_heads', 'ranking_heads_lite', '--weights', join(dir, 'w.prw'))).not.toBe(0);
    expect(err).toMatch(/--weights needs exactly one --name/);
    expect(await run('--name', 'pinnerformer_item')).toBe(0);
    expect(await run('--name', 'pinnerformer_item')).not.toBe(0);
    expect(err).toMatch(/already exists/);
    expect(await run('--name', 'pinnerformer_item', '--overwrite', '--seed', '2')).toBe(0);
  });

  it('--from re-emits an entry as a new version with the same weights record', async () => {
    expect(await run('--name', 'transact_encoder', '--version', '1', '--hyperparams', '{"form":"gathered"}')).toBe(0);
    expect(await run('--name', 'transact_encoder', 'ranking_heads', '--from', join(dir, 'transact_encoder', '1'))).not.toBe(0);
    expect(err).toMatch(/--from needs exactly one --name/);
    expect(await run('--name', 'transact_encoder', '--version', '2', '--from', join(dir, 'transact_encoder', '1'))).toBe(0);
    const manifest = JSON.parse(await readFile(join(dir, 'transact_encoder', '2', 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ version: '2', weights: { source: 'seeded', seed: 1 }, hyperparams: { form: 'split' }, reemittedFrom: { version: '1' } });
  });
});
