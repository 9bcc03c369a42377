import { type Command } from 'commander';
import { HealthCheckRequest, HealthClient, healthCheckResponse_ServingStatusToJSON } from '@pinrank/proto';
import { CliError } from '../cli-error';
import { type CliIo } from '../io';
import { openClient, unary } from '../remote/call';
import { clientTlsFor, type ClientTlsFlags } from '../remote/client-tls';
import { DEFAULT_ENDPOINTS, type StackService } from '../remote/endpoints';
import { tlsOptions } from '../remote/remote-options';
import { intOption } from './options';
import { table, toJson } from '../remote/table';

interface HealthFlags extends ClientTlsFlags {
  timeout: number;
  json?: boolean;
  router?: string;
  featureServer?: string;
  embeddingStore?: string;
  gpuWorker?: string;
  cpuWorker?: string;
}

/** `pinrank health`: grpc.health.v1 status of every service of the stack; exit code 4 (unavailable) unless all are SERVING. */
export function registerHealth(program: Command, io: CliIo): void {
  const cmd = tlsOptions(program.command('health'))
    .description('check grpc.health.v1 of every service of a running stack')
    .option('--timeout <ms>', 'deadline of each check in ms', intOption(1, 600_000), 2000)
    .option('--json', 'print JSON instead of a table');
  for (const [service, addr] of Object.entries(DEFAULT_ENDPOINTS)) cmd.option(`--${service} <host:port>`, `${service} address`, addr);
  cmd.action(async (flags: HealthFlags) => {
    const addrs: Record<StackService, string> = {
      router: flags.router ?? DEFAULT_ENDPOINTS.router,
      'feature-server': flags.featureServer ?? DEFAULT_ENDPOINTS['feature-server'],
      'embedding-store': flags.embeddingStore ?? DEFAULT_ENDPOINTS['embedding-store'],
      'gpu-worker': flags.gpuWorker ?? DEFAULT_ENDPOINTS['gpu-worker'],
      'cpu-worker': flags.cpuWorker ?? DEFAULT_ENDPOINTS['cpu-worker'],
    };
    const tls = clientTlsFor(flags);
    const results = await Promise.all(
      Object.entries(addrs).map(async ([service, address]) => {
        const client = openClient(HealthClient, address, tls);
        try {
          const res = await unary(service, address, client.check.bind(client), HealthCheckRequest.fromPartial({ service: '' }), {
            timeoutMs: flags.timeout,
            addrFlag: `--${service}`,
          });
          return { service, address, status: healthCheckResponse_ServingStatusToJSON(res.status), error: '' };
        } catch (err) {
          return { service, address, status: 'UNREACHABLE', error: (err as Error).message };
        } finally {
          client.close();
        }
      }),
    );
    io.out(flags.json ? toJson(results) : table(['service', 'address', 'status'], results.map((r) => [r.service, r.address, r.status])));
    const down = results.filter((r) => r.status !== 'SERVING');
    if (down.length > 0) {
      if (!flags.json) for (const r of down.filter((x) => x.error)) io.err(`${r.error}\n`);
      throw new CliError(`${down.length} of ${results.length} services are not SERVING`, 'unavailable');
    }
  });
}
