import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli';
import { type CliIo } from '../io';

describe('pinrank train pinnerformer → pinnerformer-eval → pinnerformer-report, pinnerformer-world', () => {
  let dir: string;
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), errIsTty: false };
  const run = (...args: string[]): Promise<number> => main(['node', 'pinrank', ...args], io);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinrank-cli-pf-report-'));
    expect(await run('simulate', '--out', join(dir, 'world'), '--seed', '3', '--users', '150', '--items', '400', '--days', '30', '--no-progress')).toBe(0);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('trains with the held-out loss, re-evaluates, and compares objectives with verdicts and SVG curves', async () => {
    const tiny = ['--world', join(dir, 'world'), '--steps', '3', '--batch', '6', '--targets', '3', '--max-len', '8', '--hidden', '16', '--layers', '1'];
    const common = [...tiny, '--random-negatives', '16', '--index-size', '100', '--validate-every', '1', '--no-progress'];
    for (const [name, objective, seed] of [['d1', 'dense-all-action', '1'], ['d2', 'dense-all-action', '2'], ['s1', 'sasrec', '1']] as const) {
      out = '';
      expect(await run('train', 'pinnerformer', '--out', join(dir, name), '--objective', objective, '--seed', seed, ...common)).toBe(0);
      expect(out).toMatch(/for 3 steps, [\d.]+ targets per batch/);
      expect(out).toContain('"recall@10_cutoff"');
    }
    out = '';
    expect(await run('train', 'pinnerformer-eval', '--run', join(dir, 'd1'), '--index-size', '100')).toBe(0);
    expect(out).toContain('recall@10_cutoff');

    out = '';
    const svg = join(dir, 'pf');
    const json = join(dir, 'report.json');
    const groups = ['--group', `dense=${join(dir, 'd1')},${join(dir, 'd2')}`, '--group', `sasrec=${join(dir, 's1')}`];
    expect(await run('train', 'pinnerformer-report', ...groups, '--svg', svg, '--json', json)).toBe(0);
    expect(out).toContain('| dense | 2 |');
    expect(out).toMatch(/\| dense > sasrec \| [+−]\d\.\d{3} ± \d\.\d{3} .*\| (reproduced|reversed|not reproduced \(tie\)) \|/);
    expect(await readFile(`${svg}-validation-loss.svg`, 'utf8')).toMatch(/^<svg[\s\S]*polyline/);
    expect(await readFile(`${svg}-cutoff-recall.svg`, 'utf8')).toContain('sasrec');
    const report = JSON.parse(await readFile(json, 'utf8')) as { comparisons: Array<{ better: string }> };
    expect(report.comparisons[0]!.better).toBe('dense');

    err = '';
    expect(await run('train', 'pinnerformer-report', ...groups, '--compare', 'dense>nope')).not.toBe(0);
    expect(err).toContain('nope');
  }, 120_000);

  it('pinnerformer-world ranks the ground-truth oracles on the cutoff window', async () => {
    out = '';
    expect(await run('train', 'pinnerformer-world', '--world', join(dir, 'world'), '--index-size', '100', '--window-days', '7')).toBe(0);
    expect(out).toMatch(/oracle: next action\s+Recall@10 0\.\d{3}/);
    expect(out).toMatch(/oracle: long-term profile\s+Recall@10 0\.\d{3}/);
    expect(out).toMatch(/next action − long-term profile \(paired over users\): [+-]\d\.\d{3} ± \d\.\d{3}/);
  });
});
