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
});
