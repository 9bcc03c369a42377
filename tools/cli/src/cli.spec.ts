import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createProgram } from './cli';
import { COMMANDS } from './commands';

describe('pinrank program', () => {
  it('registers the commands of the registry, simulate among them', () => {
    const program = createProgram();
    expect(COMMANDS.length).toBeGreaterThanOrEqual(1);
    const simulate = program.commands.find((c) => c.name() === 'simulate');
    expect(simulate?.options.map((o) => o.long)).toEqual(
      expect.arrayContaining(['--out', '--seed', '--users', '--items', '--days', '--gzip', '--no-progress']),
    );
  });

  it('runs through the bin script', async () => {
    const bin = join(__dirname, '..', 'bin', 'pinrank.cjs');
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'simulate', '--help'], { timeout: 60_000 });
    expect(stdout).toMatch(/--out <dir>/);
    expect(stdout).toMatch(/--seed <n>/);
  });
});
