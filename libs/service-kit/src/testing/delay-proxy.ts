// A TCP proxy on loopback that holds every byte for a fixed time in each direction, for tests
// and benches that need a network round trip between processes of one machine (a NATS
// cluster whose servers stand on separate hosts, a client a zone away from its server). The
// kernel's own delay (netem) is not available everywhere; this needs nothing but Node.
//
// Bytes keep their order; each chunk is forwarded `oneWayMs` after it arrived, so a round
// trip through the proxy costs 2 × `oneWayMs` plus the proxy's own work (timers fire at
// millisecond granularity: use `oneWayMs` >= 1). A side that closes closes the other once what it
// sent has been forwarded; one that fails closes the other at once. `partition()` makes the link
// silent, as a network partition or a host that vanished does, until `heal()`.
import { createServer, connect, type Server, type Socket } from 'node:net';

/** A running delay proxy. */
export interface DelayProxy {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /**
   * Cuts the link as a network partition does, silently: nothing more is forwarded either
   * way on the open connections, and a new connection is accepted but never answered. No
   * side is told: it finds out by its own timeouts.
   */
  partition(): void;
  /**
   * Ends the partition: every connection it held is closed (as TCP gives up on a link that
   * was silent too long), and new connections are forwarded again.
   */
  heal(): void;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

/** Options of {@link startDelayProxy}. */
export interface DelayProxyOptions {
  /** Where each accepted connection is forwarded (127.0.0.1). */
  targetPort: number;
  /** Milliseconds each chunk is held, in each direction (>= 0). */
  oneWayMs: number;
  /** The port to listen on (default: one the system chooses). */
  port?: number;
}

/** Bytes held in one direction past which the sender is paused until the queue drains. */
const HIGH_WATER = 4 * 1024 * 1024;

/** What one direction holds: a chunk, or the end of the sender's stream or its close. */
type Held = { due: number; item: Buffer | 'end' | 'close' };

/** One proxied connection; `stalled` while a partition holds it. */
interface Link {
  client: Socket;
  upstream: Socket | undefined;
  stalled: boolean;
}

/**
 * Forwards `from` to `to`, each chunk `delayMs` after it arrived. The sender's end, and its
 * close, reach `to` after the chunks before them. While `link` is stalled nothing is
 * forwarded and the sender is paused.
 */
function delayedPipe(link: Link, from: Socket, to: Socket, delayMs: number): void {
  const queue: Held[] = [];
  let held = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    if (link.stalled) {
      from.pause();
      return;
    }
    const now = performance.now();
    while (queue.length > 0 && (queue[0] as Held).due <= now) {
      const { item } = queue.shift() as Held;
      if (item === 'end') to.end();
      else if (item === 'close') to.destroy();
      else {
        held -= item.length;
        if (!to.destroyed) to.write(item);
      }
    }
    if (held < HIGH_WATER && from.isPaused()) from.resume();
    if (queue.length > 0) timer = setTimeout(flush, Math.max(0, (queue[0] as Held).due - performance.now()));
  };
  const enqueue = (item: Held['item']): void => {
    queue.push({ due: performance.now() + delayMs, item });
    if (typeof item !== 'string') held += item.length;
    if (held >= HIGH_WATER || link.stalled) from.pause();
    timer ??= setTimeout(flush, delayMs);
  };
  from.on('data', (chunk: Buffer) => enqueue(chunk));
  from.on('end', () => enqueue('end'));
  from.on('close', () => enqueue('close'));
}

/** Starts a proxy on 127.0.0.1 that forwards to 127.0.0.1:`targetPort` with `oneWayMs` added each way. */
export async function startDelayProxy(o: DelayProxyOptions): Promise<DelayProxy> {
  if (!Number.isInteger(o.targetPort) || o.targetPort < 1 || o.targetPort > 65_535) throw new RangeError(`startDelayProxy: targetPort must be a TCP port, got ${o.targetPort}`);
  if (!(o.oneWayMs >= 0) || !Number.isFinite(o.oneWayMs)) throw new RangeError(`startDelayProxy: oneWayMs must be a finite number >= 0, got ${o.oneWayMs}`);
  const links = new Set<Link>();
  let accepted = 0;
  let partitioned = false;
  const server: Server = createServer((client) => {
    accepted++;
    const link: Link = { client, upstream: undefined, stalled: partitioned };
    links.add(link);
    client.setNoDelay(true);
    client.on('close', () => {
      if (!link.upstream || link.upstream.destroyed) links.delete(link);
    });
    client.on('error', () => {
      client.destroy();
      link.upstream?.destroy();
    });
    // Accepted during a partition: held, never connected onwards, closed when it heals.
    if (link.stalled) {
      client.pause();
      return;
    }
    const upstream = connect(o.targetPort, '127.0.0.1');
    link.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('close', () => {
      if (client.destroyed) links.delete(link);
    });
    // A failure of either side (refused, reset) closes both at once, as a broken link would.
    upstream.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
    delayedPipe(link, client, upstream, o.oneWayMs);
    delayedPipe(link, upstream, client, o.oneWayMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('startDelayProxy: no TCP port bound');
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    partition: () => {
      partitioned = true;
      for (const link of links) link.stalled = true;
    },
    heal: () => {
      partitioned = false;
      for (const link of links) {
        if (!link.stalled) continue;
        link.client.destroy();
        link.upstream?.destroy();
        links.delete(link);
      }
    },
    close: async () => {
      for (const link of links) {
        link.client.destroy();
        link.upstream?.destroy();
      }
      links.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
