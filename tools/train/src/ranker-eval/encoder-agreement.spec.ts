import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModelRepositoryEntry, initTfBackend } from '@pinrank/models';
import { writeWorld } from '@pinrank/sim';
import { writeSeededSnapshots } from '../ranker/testing/seeded-snapshots';
import { encoderAgreement } from './encoder-agreement';

describe('encoderAgreement on a tiny world', () => {
  let dir: string;
  const options = (candidate: string) => ({
    worldDir: join(dir, 'world'),
    snapshotsDir: join(dir, 'snapshots'),
    repository: join(dir, 'models'),
    reference: '1',
    candidate,
    heads: '1',
    requests: 12,
    candidates: 30,
    topK: 5,
  });

  beforeAll(async () => {
    await initTfBackend('wasm');
    dir = await mkdtemp(join(tmpdir(), 'pinrank-agreement-'));
    await writeWorld(join(dir, 'world'), { seed: 3, users: 40, items: 300, topics: 8, days: 8, sessionsPerDay: 1 });
    await writeSeededSnapshots(join(dir, 'world'), join(dir, 'snapshots'), ['2026-01-01', '2026-01-03', '2026-01-05']);
    const repositoryDir = join(dir, 'models');
    const v1 = await buildModelRepositoryEntry({ repositoryDir, name: 'transact_encoder', version: '1', seed: 2, hyperparams: { form: 'gathered' } });
    await buildModelRepositoryEntry({ repositoryDir, name: 'transact_encoder', version: '2', reemitFrom: v1.dir });
    await buildModelRepositoryEntry({ repositoryDir, name: 'transact_encoder', version: '3', seed: 9 });
    await buildModelRepositoryEntry({ repositoryDir, name: 'ranking_heads', version: '1', seed: 2, pinnerformerVersion: 'seeded' });
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a re-emitted version equal to its source, ranking for ranking', async () => {
    const r = await encoderAgreement(options('2'));
    expect(r).toMatchObject({ requests: 12, candidates: 30, topK: 5, topKOverlap: 1, top1Agreement: 1 });
    expect(r.encodedMaxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.encodedMaxAbsDiff).toBeGreaterThanOrEqual(0);
    expect(r.probMaxAbsDiff).toBeLessThanOrEqual(1e-5);
  }, 60_000);

  it('finds other weights different, and names a missing version', async () => {
    const r = await encoderAgreement(options(join(dir, 'models', 'transact_encoder', '3', 'model.onnx')));
    expect(r.encodedMaxAbsDiff).toBeGreaterThan(1e-2);
    expect(r.sameOrder).toBeLessThan(1);
    await expect(encoderAgreement(options('7'))).rejects.toThrow(/no transact_encoder version 7/);
  }, 60_000);
});
