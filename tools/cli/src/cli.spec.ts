import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { version } from '../package.json';
import { createProgram, main } from './cli';
import { CliError, EXIT_CODES, failureKindOf } from './cli-error';
import { COMMANDS } from './commands';
import { type CliIo } from './io';

function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (t) => void (out += t), err: (t) => void (err += t), errIsTty: false }, out: () => out, err: () => err };
}

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

  it('prints its version', async () => {
    const c = capture();
    expect(await main(['node', 'pinrank', '--version'], c.io)).toBe(0);
    expect(c.out()).toBe(`${version}\n`);
  });

  it('reports an unknown option before a missing required one, as a usage error', async () => {
    const c = capture();
    expect(await main(['node', 'pinrank', 'rank', '--frob'], c.io)).toBe(EXIT_CODES.usage);
    expect(c.err()).toMatch(/^error: unknown option '--frob'/);
    expect(c.err()).not.toMatch(/required option/);
    const missing = capture();
    expect(await main(['node', 'pinrank', 'rank', '--items', 'a'], missing.io)).toBe(EXIT_CODES.usage);
    expect(missing.err()).toMatch(/^error: required option '--user <id>' not specified/);
  });

  it('treats a malformed option value as a usage error', async () => {
    const c = capture();
    expect(await main(['node', 'pinrank', 'rank', '--user', 'u', '--items', 'a', '--weights', 'save=x'], c.io)).toBe(EXIT_CODES.usage);
    expect(c.err()).toMatch(/expected head=weight pairs/);
  });

  it('refuses start options that cannot work together or out of range, before starting anything', async () => {
    const noNats = capture();
    expect(await main(['node', 'pinrank', 'start', '--replay-via', 'nats'], noNats.io)).toBe(EXIT_CODES.usage);
    expect(noNats.err()).toMatch(/--replay-via nats publishes onto JetStream: give the NATS server with --nats <url>/);
    const badWay = capture();
    expect(await main(['node', 'pinrank', 'start', '--replay-via', 'kafka'], badWay.io)).toBe(EXIT_CODES.usage);
    expect(badWay.err()).toMatch(/argument 'kafka' is invalid\. Allowed choices are grpc, nats/);
    const partitions = capture();
    expect(await main(['node', 'pinrank', 'start', '--nats', 'nats://127.0.0.1:4222', '--nats-partitions', '0'], partitions.io)).toBe(EXIT_CODES.usage);
    expect(partitions.err()).toMatch(/--nats-partitions/);
    // The NATS security flags: only with --nats, and only in combinations NATS can use.
    const cases: Array<[string[], RegExp]> = [
      [['--nats-tls', '--nats-user', 'u'], /--nats-tls, --nats-user: only with --nats <url>/],
      [['--nats', 'tls://127.0.0.1:4222'], /--nats tls:\/\/127\.0\.0\.1:4222 asks for TLS: add --nats-tls .* or --nats-ca <file>/],
      [['--nats', 'tls://127.0.0.1:4222', '--nats-tls', '--insecure'], /--nats-tls with --insecure: the stack has no certificates .* give the NATS server's CA with --nats-ca/],
      [['--nats', 'nats://127.0.0.1:4222', '--nats-user', 'u'], /--nats-user and --nats-password-file go together/],
      [['--nats', 'nats://127.0.0.1:4222', '--nats-creds', 'a.creds', '--nats-user', 'u', '--nats-password-file', 'p'], /--nats-creds and --nats-user: NATS takes one of them/],
    ];
    for (const [args, message] of cases) {
      const c = capture();
      expect(await main(['node', 'pinrank', 'start', ...args], c.io)).toBe(EXIT_CODES.usage);
      expect(c.err()).toMatch(message);
    }
    const ingest = capture();
    expect(await main(['node', 'pinrank', 'ingest', '--file', 'actions.jsonl', '--nats-creds', 'a.creds'], ingest.io)).toBe(EXIT_CODES.usage);
    expect(ingest.err()).toMatch(/--nats-creds: only with --nats <url> \(publishing onto JetStream\)/);
  });

  it('lists every command with a description, and the exit codes, in --help', async () => {
    const c = capture();
    expect(await main(['node', 'pinrank', '--help'], c.io)).toBe(0);
    expect(c.out()).toMatch(/catalog\s+manage embedding-store's item catalog/);
    for (const line of c.out().split('Commands:')[1]!.split('\n').filter((l) => /^ {2}\S/.test(l))) expect(line.trim().split(/\s{2,}/)).toHaveLength(2);
    expect(c.out()).toMatch(/Exit codes:\n {2}0 {2}success\n {2}1 .*\n {2}2 {2}usage error.*\n {2}3 .*client mistake.*\n {2}4 .*unreachable/);
  });

  it('maps gRPC statuses to exit codes and writes JSON errors', () => {
    expect(failureKindOf(3)).toBe('rejected'); // INVALID_ARGUMENT
    expect(failureKindOf(5)).toBe('rejected'); // NOT_FOUND
    expect(failureKindOf(16)).toBe('rejected'); // UNAUTHENTICATED
    expect(failureKindOf(14)).toBe('unavailable'); // UNAVAILABLE
    expect(failureKindOf(4)).toBe('unavailable'); // DEADLINE_EXCEEDED
    expect(failureKindOf(13)).toBe('failure'); // INTERNAL
    expect(new CliError('x', 'rejected', { status: 'NOT_FOUND' }).toJSON()).toEqual({ error: { kind: 'rejected', exitCode: 3, message: 'x', status: 'NOT_FOUND' } });
    expect(CliError.from(new Error('boom'))).toMatchObject({ kind: 'failure', exitCode: 1, message: 'boom' });
  });
});
