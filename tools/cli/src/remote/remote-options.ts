import { type Command } from 'commander';
import { intOption } from '../commands/options';
import { DEFAULT_ENDPOINTS, type RemoteFlags, type StackService } from './endpoints';

/** Adds --addr, --timeout, --token and --json to a command that talks to `service`. */
export function remoteOptions(cmd: Command, service: StackService): Command {
  return cmd
    .option('--addr <host:port>', `server address (default ${DEFAULT_ENDPOINTS[service]})`)
    .option('--timeout <ms>', 'deadline of each call in ms', intOption(1, 600_000), 5000)
    .option('--token <token>', 'admin bearer token (default: PINRANK_ADMIN_TOKEN)')
    .option('--json', 'print JSON instead of a table');
}

/** The address and token to use, with defaults filled in from the stack's ports and the environment. */
export function resolveRemote(flags: RemoteFlags, service: StackService): { address: string; token?: string; timeoutMs: number } {
  const token = flags.token ?? process.env['PINRANK_ADMIN_TOKEN'];
  return { address: flags.addr ?? DEFAULT_ENDPOINTS[service], timeoutMs: flags.timeout, ...(token ? { token } : {}) };
}
