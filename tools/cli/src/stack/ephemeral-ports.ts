import { freePorts } from '@pinrank/service-kit';
import { type ServiceSpec } from './managed-process';

/** `services` with every `host:port` in `mapping` replaced, in the addresses and in every environment value. */
function rewritten(services: readonly ServiceSpec[], host: string, mapping: ReadonlyMap<string, string>): ServiceSpec[] {
  const escaped = host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`${escaped}:\\d+`, 'g');
  const rewrite = (value: string): string => value.replace(pattern, (a) => mapping.get(a) ?? a);
  return services.map((s) => ({
    ...s,
    address: rewrite(s.address),
    metricsAddress: rewrite(s.metricsAddress),
    env: Object.fromEntries(Object.entries(s.env).map(([k, v]) => [k, rewrite(v)])),
  }));
}

/**
 * Moves a stack's services onto free ports: every `host:port` of the services'
 * gRPC and metrics addresses is replaced by a fresh free port, in the
 * addresses themselves and in every environment value that names them (the
 * `*_ADDR` variables and the upstream targets), so the services still find
 * each other. Returns new specs; the input is not changed.
 */
export async function withEphemeralPorts(services: readonly ServiceSpec[], host: string): Promise<ServiceSpec[]> {
  const used = new Set<string>();
  for (const s of services) used.add(s.address).add(s.metricsAddress);
  const wrongHost = [...used].filter((a) => !a.startsWith(`${host}:`));
  if (wrongHost.length > 0) throw new Error(`withEphemeralPorts: addresses ${wrongHost.join(', ')} are not on ${host}`);
  const fresh = await freePorts(used.size, host);
  return rewritten(services, host, new Map([...used].map((a, i) => [a, `${host}:${fresh[i] as number}`])));
}

/**
 * Moves one service, `name`, onto two fresh free ports (gRPC and metrics), rewriting every
 * spec that names its old addresses. For a service that could not bind because another
 * process took its port between the choice and the bind (parallel test processes choose
 * from the same range): start it again there. Services already running keep the old
 * addresses, so move only a service nothing running depends on.
 */
export async function moveToFreshPorts(services: readonly ServiceSpec[], name: string, host: string): Promise<ServiceSpec[]> {
  const spec = services.find((s) => s.name === name);
  if (!spec) throw new Error(`moveToFreshPorts: no service ${name}`);
  const [grpc, metrics] = (await freePorts(2, host)) as [number, number];
  return rewritten(
    services,
    host,
    new Map([
      [spec.address, `${host}:${grpc}`],
      [spec.metricsAddress, `${host}:${metrics}`],
    ]),
  );
}

/** Whether a service's log lines say it could not bind a port another process holds. */
export const portClash = (lines: readonly string[]): boolean => lines.some((l) => l.includes('EADDRINUSE'));
