import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWorld } from '@pinrank/sim';
import { main } from '../cli';
import { type CliIo } from '../io';

describe('pinrank simulate', () => {
  let dir: string;
  let out: string;
  let err: string;
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), errIsTty: false };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinrank-cli-sim-'));
    out = '';
    err = '';
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (...args: string[]): Promise<number> => main(['node', 'pinrank', ...args], io);

  it('writes a world with the requested sizes and seed, reproducibly', async () => {
    const args = ['--seed', '5', '--users', '60', '--items', '300', '--days', '5', '--no-progress'];
    expect(await run('simulate', '--out', join(dir, 'a'), ...args)).toBe(0);
    expect(await run('simulate', '--out', join(dir, 'b'), ...args)).toBe(0);
    const loaded = await loadWorld(join(dir, 'a'));
    expect(loaded.manifest.options).toMatchObject({ seed: 5, users: 60, items: 300, days: 5 });
    expect(loaded.manifest.counts.actions).toBeGreaterThan(0);
    expect(out).toMatch(/wrote .*60 users, 300 items, \d+ actions/);
    for (const f of ['world.json', 'items.vec', 'actions.prlog']) {
      expect((await readFile(join(dir, 'a', f))).equals(await readFile(join(dir, 'b', f)))).toBe(true);
    }
  });

  it('writes a gzipped log with --gzip', async () => {
    expect(await run('simulate', '--out', dir, '--seed', '1', '--users', '20', '--items', '100', '--days', '2', '--gzip')).toBe(0);
    expect((await loadWorld(dir)).actionsPath.endsWith('actions.prlog.gz')).toBe(true);
  });

  it('rejects a missing seed and malformed numbers without writing anything', async () => {
    expect(await run('simulate', '--out', dir)).not.toBe(0);
    expect(await run('simulate', '--out', dir, '--seed', 'x')).not.toBe(0);
    expect(await run('simulate', '--out', dir, '--seed', '1', '--users', '0')).not.toBe(0);
    expect(err).toMatch(/--seed/);
    await expect(loadWorld(dir)).rejects.toThrow();
  });

  it('plants disliked topics with --disliked-topics and refuses a bad mean', async () => {
    expect(await run('simulate', '--out', dir, '--seed', '2', '--users', '40', '--items', '200', '--days', '2', '--disliked-topics', '3', '--no-progress')).toBe(0);
    const loaded = await loadWorld(dir);
    expect(loaded.manifest.options).toMatchObject({ dislikedTopicsMean: 3 });
    expect(Array.from({ length: 40 }, (_, u) => loaded.world.timeline(u).profile.disliked.length).some((n) => n > 0)).toBe(true);
    expect(await run('simulate', '--out', join(dir, 'bad'), '--seed', '2', '--disliked-topics', '-1')).not.toBe(0);
    expect(err).toMatch(/--disliked-topics/);
  });
});

describe('pinrank train ranker / ranker-probe input checks', () => {
  let err = '';
  const io: CliIo = { out: () => undefined, err: (t) => void (err += t), errIsTty: false };
  const run = (...args: string[]): Promise<number> => main(['node', 'pinrank', ...args], io);
  beforeEach(() => {
    err = '';
  });

  it.each([
    ['hide=1,2', /give three non-negative weights/],
    ['hide=1,2,-1', /give three non-negative weights/],
    ['dislike=1,1,1', /outcome one of impression, click, save, closeup, hide/],
  ])('refuses --label-weight %s before training', async (value, message) => {
    expect(await run('train', 'ranker', '--world', 'w', '--snapshots', 's', '--out', 'o', '--label-weight', value)).not.toBe(0);
    expect(err).toMatch(message);
  });

  it('names the missing model version instead of failing inside ONNX Runtime', async () => {
    expect(await run('train', 'ranker-probe', '--world', 'w', '--snapshots', 's', '--models', 'models', '--model-version', '99')).not.toBe(0);
    expect(err).toMatch(/no transact_encoder version 99 in models/);
    expect(await run('train', 'ranker-probe', '--world', 'w', '--snapshots', 's', '--models', 'models', '--model-version', '3', '--weights', '1,x,2')).not.toBe(0);
    expect(err).toMatch(/--weights <save,click,hide>' argument '1,x,2' is invalid. "1,x,2": give three numbers/);
  });
});

