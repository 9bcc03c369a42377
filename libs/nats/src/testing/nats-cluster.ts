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
  /**
   * Cuts member `i` (0-based) off the network, silently, as a partition or a vanished host
   * does: its routes and its clients' connections carry nothing more, new ones are never
   * answered, and nobody is told. Needs `rttMs` > 0.
   */
  partition(i: number): void;
  /** Ends member `i`'s partition: the connections it held are closed, new ones get through. */
  heal(i: number): void;
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
  // Each proxy with the member that dials through it (-1: clients) and the member it reaches.
  const proxies: { proxy: DelayProxy; from: number; to: number }[] = [];
  const servers: NatsTestServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(proxies.map((p) => p.proxy.close()));
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    // With a round trip: a proxy in front of each member's client port, and one for each
    // member's route to each other member (so that a member's links can be cut by
    // `partition`); members tell clients and one another only of proxies.
    const proxied = async (port: number, from: number, to: number): Promise<number> => {
      const p = await startDelayProxy({ targetPort: port, oneWayMs: rttMs / 2 });
      proxies.push({ proxy: p, from, to });
      return p.port;
    };
    const clientProxies = rttMs > 0 ? await Promise.all(clientPorts.map((p, i) => proxied(p, -1, i))) : undefined;
    // routeProxies[i][j]: member i's route to member j (none to itself).
    const routeProxies =
      rttMs > 0 ? await Promise.all(clientPorts.map((_, i) => Promise.all(routePorts.map((p, j) => (i === j ? Promise.resolve(0) : proxied(p, i, j)))))) : undefined;
    for (const [i, routePort] of routePorts.entries()) {
      const dial = routeProxies ? (routeProxies[i] as number[]).filter((_, j) => j !== i) : routePorts;
      // What the others are told to dial for member i (when they learn of it from one another).
      const advertise = routeProxies ? `127.0.0.1:${(routeProxies[(i + 1) % size] as number[])[i] as number}` : undefined;
      const cluster = { serverName: `n${i + 1}`, routePort, routePorts: dial, advertise };
      servers.push(await startNatsServer({ cluster, port: clientPorts[i] as number, clientAdvertise: clientProxies ? `127.0.0.1:${clientProxies[i] as number}` : undefined }));
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
    const links = (member: number): DelayProxy[] => {
      if (rttMs === 0) throw new Error('nats test cluster: partitions need a cluster started with rttMs > 0');
      if (!Number.isInteger(member) || member < 0 || member >= size) throw new RangeError(`nats test cluster: no member ${member}`);
      return proxies.filter((p) => p.from === member || p.to === member).map((p) => p.proxy);
    };
    return {
      servers,
      urls,
      stop,
      partition: (member) => links(member).forEach((p) => p.partition()),
      heal: (member) => links(member).forEach((p) => p.heal()),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
