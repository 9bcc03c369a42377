// A throwaway NATS cluster with JetStream on loopback, for tests and benches that need streams
// replicated over several servers (num_replicas up to the cluster's size): each member is a
// throwaway server of startNatsServer, with a route port, all routed to one another.
import { freePorts } from '@pinrank/service-kit';
import { connect } from 'nats';
import { startNatsServer, type NatsTestServer } from './nats-server';

/** A running throwaway NATS cluster. */
export interface NatsTestCluster {
  readonly servers: readonly NatsTestServer[];
  /** Every member's client URL, comma separated (what a `*_NATS_URL` variable takes). */
  readonly urls: string;
  /** Stops every member and removes their directories. */
  stop(): Promise<void>;
}

/** How long the members may take to elect the JetStream meta leader and find one another. */
const READY_MS = 30_000;

/**
 * Starts `size` clustered nats-servers with JetStream (default 3) and resolves once the
 * cluster has elected its meta leader and can place a stream on all of them.
 */
export async function startNatsCluster(size = 3): Promise<NatsTestCluster> {
  const routePorts = await freePorts(size);
  const servers: NatsTestServer[] = [];
  const stop = async (): Promise<void> => void (await Promise.all(servers.map((s) => s.stop())));
  try {
    for (const [i, routePort] of routePorts.entries()) servers.push(await startNatsServer({ cluster: { serverName: `n${i + 1}`, routePort, routePorts } }));
    const urls = servers.map((s) => s.url).join(',');
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
