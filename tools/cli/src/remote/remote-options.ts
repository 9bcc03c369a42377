import { type Command } from 'commander';
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { type ClientTlsOptions } from '@pinrank/service-kit';
import { intOption } from '../commands/options';
import { clientTlsFor, DEFAULT_TLS_DIR, type ClientTlsFlags } from './client-tls';
import { DEFAULT_ENDPOINTS, type RemoteFlags, type StackService } from './endpoints';

/** Adds --tls-dir and --plaintext: how a client finds its certificate. */
export function tlsOptions(cmd: Command): Command {
  return cmd
    .option('--tls-dir <dir>', `certificates written by \`pinrank start\`, or its --data folder (default PINRANK_TLS_DIR or ${DEFAULT_TLS_DIR} when present)`)
    .option('--plaintext', 'no TLS (a stack started with --insecure)');
}

/** Adds --addr, --timeout, --token, --json and the TLS options to a command that talks to `service`. */
export function remoteOptions(cmd: Command, service: StackService): Command {
  return tlsOptions(
    cmd
      .option('--addr <host:port>', `server address (default ${DEFAULT_ENDPOINTS[service]})`)
      .option('--timeout <ms>', 'deadline of each call in ms', intOption(1, 600_000), 5000)
      .option('--token <token>', 'bearer token, e.g. an admin token (default: PINRANK_ADMIN_TOKEN)')
      .option('--json', 'print JSON instead of a table'),
  );
}

/**
 * The address, token and TLS to use, with defaults filled in from the stack's
 * ports, its certificate folder and the environment; `identity` is the
 * certificate the command presents (default the operator's).
 */
export function resolveRemote(
  flags: RemoteFlags & ClientTlsFlags,
  service: StackService,
  identity: string = SERVICE_IDENTITIES.operator,
): { address: string; token?: string; timeoutMs: number; tls?: ClientTlsOptions } {
  const token = flags.token ?? process.env['PINRANK_ADMIN_TOKEN'];
  const tls = clientTlsFor(flags, identity);
  return { address: flags.addr ?? DEFAULT_ENDPOINTS[service], timeoutMs: flags.timeout, ...(token ? { token } : {}), ...(tls ? { tls } : {}) };
}
