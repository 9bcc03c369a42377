import { freePorts } from '@pinrank/service-kit';
import { type ServiceSpec } from './managed-process';

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
  const mapping = new Map([...used].map((a, i) => [a, `${host}:${fresh[i] as number}`]));
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
