// A throwaway NATS cluster with JetStream on loopback, for tests and benches that need streams
// replicated over several servers (num_replicas up to the cluster's size): each member is a
// throwaway server of startNatsServer, with a route port, all routed to one another.
import { freePorts, startDelayProxy, type DelayProxy } from '@pinrank/service-kit';
import { connect } from 'nats';
import { startNatsServer, type NatsTestServer } from './nats-server';

/** A running throwaway NATS cluster. */
export interface NatsTestCluster {
  readonly servers: readonly NatsTestServer[];
  /**
   * The URLs clients use, one a member, comma separated (what a `*_NATS_URL` variable takes):
   * each member's own, or with `rttMs` its proxy's.
   */
  readonly urls: string;
  /** Stops every member and removes their directories. */
  stop(): Promise<void>;
}

/** How long the members may take to elect the JetStream meta leader and find one another. */
const READY_MS = 30_000;

/** Options of {@link startNatsCluster}. */
export interface NatsTestClusterOptions {
  /**
   * A network round trip, ms, between any two members and between a client and a member, as
   * if each member stood on a host of its own: every route and client connection then passes
   * a delay proxy (`startDelayProxy` of `@pinrank/service-kit`, in this process) holding each
   * byte `rttMs / 2` each way. Default 0: members and clients talk directly over loopback.
   */
  rttMs?: number;
}

/**
 * Starts `size` clustered nats-servers with JetStream (default 3) and resolves once the
 * cluster has elected its meta leader and can place a stream on all of them.
 */
export async function startNatsCluster(size = 3, o: NatsTestClusterOptions = {}): Promise<NatsTestCluster> {
  const rttMs = o.rttMs ?? 0;
  if (!(rttMs >= 0) || !Number.isFinite(rttMs)) throw new RangeError(`startNatsCluster: rttMs must be a finite number >= 0, got ${rttMs}`);
  const [clientPorts, routePorts] = [await freePorts(size), await freePorts(size)] as [number[], number[]];
  const proxies: DelayProxy[] = [];
  const servers: NatsTestServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    // With a round trip: a proxy in front of each member's client and route port; members dial
    // one another's route proxies and tell clients and each other only of proxies.
    const proxied = async (port: number): Promise<number> => {
      const p = await startDelayProxy({ targetPort: port, oneWayMs: rttMs / 2 });
      proxies.push(p);
      return p.port;
    };
    const clientProxies = rttMs > 0 ? await Promise.all(clientPorts.map(proxied)) : undefined;
    const routeProxies = rttMs > 0 ? await Promise.all(routePorts.map(proxied)) : undefined;
    for (const [i, routePort] of routePorts.entries()) {
      const own = (ports: number[] | undefined): string | undefined => (ports ? `127.0.0.1:${ports[i] as number}` : undefined);
      const cluster = { serverName: `n${i + 1}`, routePort, routePorts: routeProxies ?? routePorts, advertise: own(routeProxies) };
      servers.push(await startNatsServer({ cluster, port: clientPorts[i] as number, clientAdvertise: own(clientProxies) }));
    }
    const urls = (clientProxies ? clientProxies.map((p) => `nats://127.0.0.1:${p}`) : servers.map((s) => s.url)).join(',');
    const nc = await connect({ servers: urls.split(',') });
    try {
      const jsm = await nc.jetstreamManager({ checkAPI: false });
      const until = Date.now() + READY_MS;
      // Ready once a stream of `size` copies can be placed: the meta leader is elected and knows every server.
      for (;;) {
        try {
          await jsm.streams.add({ name: 'CLUSTER_READY_PROBE', subjects: ['cluster.ready.probe'], num_replicas: size });
          await jsm.streams.delete('CLUSTER_READY_PROBE');
          break;
        } catch (err) {
          if (Date.now() > until) throw new Error(`nats test cluster: JetStream not ready after ${READY_MS / 1000} s: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      await nc.close();
    }
    return { servers, urls, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
