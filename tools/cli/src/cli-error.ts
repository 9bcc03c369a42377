import { status } from '@grpc/grpc-js';
import { CommanderError, InvalidArgumentError } from 'commander';

/** Exit codes of `pinrank`, by what went wrong (printed by `pinrank --help`, listed in the README). */
export const EXIT_CODES = {
  /** Success. */
  ok: 0,
  /** Anything else: a server fault, a local file that cannot be read, a failed job. */
  failure: 1,
  /** The command line is wrong: unknown option, missing or malformed value. */
  usage: 2,
  /** The server refused the request as the caller's mistake (INVALID_ARGUMENT, NOT_FOUND, UNAUTHENTICATED...). */
  rejected: 3,
  /** The server could not be reached, was unavailable or overloaded, or did not answer in time. */
  unavailable: 4,
} as const;

/** What kind of failure a command ended with. */
export type FailureKind = Exclude<keyof typeof EXIT_CODES, 'ok'>;

/** The exit-code table as `pinrank --help` prints it. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  other failure (a server fault, an unreadable file, a failed job)
  2  usage error (unknown option, missing or malformed value)
  3  the server refused the request as a client mistake (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, UNAUTHENTICATED, ...)
  4  the server is unreachable, unavailable, overloaded or too slow (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED)
With --json, a failure is also written to stderr as {"error": {"kind", "exitCode", "message", "status"?}}.
`;

const REJECTED: ReadonlySet<status> = new Set([
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.FAILED_PRECONDITION,
  status.OUT_OF_RANGE,
  status.PERMISSION_DENIED,
  status.UNAUTHENTICATED,
]);
const UNAVAILABLE: ReadonlySet<status> = new Set([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED]);

/** The failure kind of a gRPC status a server answered (or grpc-js produced). */
export function failureKindOf(code: status): FailureKind {
  if (REJECTED.has(code)) return 'rejected';
  if (UNAVAILABLE.has(code)) return 'unavailable';
  return 'failure';
}

/** A command's failure: a message for a person, its kind (the exit code) and, for a failed call, the gRPC status name. */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** The gRPC status name, when the failure was a call's answer. */
  readonly status?: string;

  constructor(
    message: string,
    readonly kind: FailureKind,
    options: { cause?: unknown; status?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.status !== undefined) this.status = options.status;
  }

  /** The process exit code. */
  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }

  /** Anything a command threw, as a CliError: commander's argument errors are usage errors, the rest keeps its message. */
  static from(err: unknown): CliError {
    if (err instanceof CliError) return err;
    if (err instanceof InvalidArgumentError || (err instanceof CommanderError && err.exitCode !== 0)) return new CliError(err.message.replace(/^error: /, ''), 'usage', { cause: err });
    return new CliError(err instanceof Error ? err.message : String(err), 'failure', { cause: err });
  }

  /** The JSON object written to stderr under --json. */
  toJSON(): { error: { kind: FailureKind; exitCode: number; message: string; status?: string } } {
    return { error: { kind: this.kind, exitCode: this.exitCode, message: this.message, ...(this.status ? { status: this.status } : {}) } };
  }
}
