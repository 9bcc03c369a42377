import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { registerCommands } from './commands';
import { PROCESS_IO, type CliIo } from './io';

/** Builds the `pinrank` program with every registered command. */
export function createProgram(io: CliIo = PROCESS_IO): Command {
  const program = new Command('pinrank')
    .description('pinrank: simulate, train, serve and inspect a Homefeed-style ranking platform')
    .configureOutput({ writeOut: (t) => io.out(t), writeErr: (t) => io.err(t) })
    // Set before commands are added so they inherit it: errors become exit codes, never process.exit.
    .exitOverride()
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  registerCommands(program, io);
  return program;
}

/**
 * Runs the CLI on `argv` (node-style: the first two entries are skipped) and
 * resolves to the exit code; errors are printed, not thrown.
 */
export async function main(argv: readonly string[] = process.argv, io: CliIo = PROCESS_IO): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    // Commander prints its own parse errors before throwing them; an InvalidArgumentError
    // thrown by a command's action reaches here unprinted.
    if (err instanceof CommanderError && !(err instanceof InvalidArgumentError)) return err.exitCode;
    io.err(`pinrank: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
