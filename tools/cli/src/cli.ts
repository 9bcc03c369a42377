import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { version } from '../package.json';
import { CliError, EXIT_CODES, EXIT_CODES_HELP } from './cli-error';
import { registerCommands } from './commands';
import { PROCESS_IO, type CliIo } from './io';

/** Options of {@link createProgram}. */
export interface ProgramOptions {
  /** Write command-line errors as a JSON object instead of text followed by the help (the `--json` mode). */
  jsonErrors?: boolean;
}

/**
 * Commander checks required options before unknown ones, so `rank --frob`
 * would complain about a missing --user. Required options are checked here
 * instead, after parsing (unknown options have been refused by then), with
 * the same message commander gives.
 */
function checkRequiredAfterParsing(program: Command): void {
  const required = new Map<Command, { flags: string; attribute: string }[]>();
  const visit = (cmd: Command): void => {
    const list = cmd.options.filter((o) => o.mandatory).map((o) => ({ flags: o.flags, attribute: o.attributeName() }));
    for (const o of cmd.options) if (o.mandatory) o.makeOptionMandatory(false);
    if (list.length > 0) required.set(cmd, list);
    cmd.commands.forEach(visit);
  };
  visit(program);
  program.hook('preAction', (_program, action) => {
    for (const { flags, attribute } of required.get(action) ?? []) {
      if (action.getOptionValue(attribute) === undefined) {
        action.error(`error: required option '${flags}' not specified`, { code: 'commander.missingMandatoryOptionValue', exitCode: EXIT_CODES.usage });
      }
    }
  });
}

/** Builds the `pinrank` program with every registered command. */
export function createProgram(io: CliIo = PROCESS_IO, options: ProgramOptions = {}): Command {
  const json = options.jsonErrors ?? false;
  const program = new Command('pinrank')
    .description('pinrank: simulate, train, serve and inspect a Homefeed-style ranking platform')
    .version(version, '-V, --version', 'print the pinrank version')
    // Program options only before the command: `models build --version 3` is that command's own option.
    .enablePositionalOptions()
    .configureOutput({
      writeOut: (t) => io.out(t),
      writeErr: (t) => io.err(t),
      outputError: (text, write) => write(json ? `${JSON.stringify(new CliError(text.trim().replace(/^error: /, ''), 'usage').toJSON())}\n` : text),
    })
    // Set before commands are added so they inherit it: errors become exit codes, never process.exit.
    .exitOverride()
    .showHelpAfterError(!json)
    .configureHelp({ sortSubcommands: true })
    .addHelpText('after', EXIT_CODES_HELP);
  registerCommands(program, io);
  checkRequiredAfterParsing(program);
  return program;
}

/** Whether the command line asks for JSON output (`--json` before any `--`). */
function wantsJson(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
}

/**
 * Runs the CLI on `argv` (node-style: the first two entries are skipped) and
 * resolves to the exit code ({@link EXIT_CODES}); errors are printed — as a
 * JSON object on stderr under `--json` — never thrown.
 */
export async function main(argv: readonly string[] = process.argv, io: CliIo = PROCESS_IO): Promise<number> {
  const json = wantsJson(argv);
  const program = createProgram(io, { jsonErrors: json });
  try {
    await program.parseAsync([...argv]);
    return EXIT_CODES.ok;
  } catch (err) {
    // Commander prints its own parse errors (and help or the version, which exit 0) before throwing them;
    // an InvalidArgumentError thrown by a command's action reaches here unprinted.
    if (err instanceof CommanderError && !(err instanceof InvalidArgumentError)) return err.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    const e = CliError.from(err);
    io.err(json ? `${JSON.stringify(e.toJSON())}\n` : `pinrank: ${e.message}\n`);
    return e.exitCode;
  }
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
