import { readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';

// Ports for the services a test stack or a benchmark starts: chosen outside
// the range the kernel hands out by itself, so a concurrent test's bind(0)
// or outgoing connection cannot take one between the choice and the bind.

/** A free port on `host`, held while chosen and then released (see {@link freePorts}). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port as number;
}

/**
 * `n` distinct free ports: all are held at once while choosing, then released.
 * Where the kernel's ephemeral range is known (Linux), they come from just
 * below it: a port the kernel hands out itself (to a `bind` on port 0 or an
 * outgoing connection) can be taken by another process between our release
 * and the service's bind, which on a busy test host happens; a port outside
 * that range is only ever taken by someone who names it.
 */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const below = ephemeralRangeStart();
    for (let tries = 0; below !== undefined && servers.length < n && tries < 50 * n; tries++) {
      const port = below - PORTS_BELOW_EPHEMERAL + Math.floor(Math.random() * PORTS_BELOW_EPHEMERAL);
      const server = await listening(host, port).catch(() => undefined);
      if (server) servers.push(server);
    }
    while (servers.length < n) servers.push(await listening(host, 0));
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error(`no TCP port bound on ${host}`);
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}

/** How many ports below the ephemeral range are drawn from. */
const PORTS_BELOW_EPHEMERAL = 10_000;

/** The first port of the kernel's ephemeral range, when it is known and leaves room below it. */
function ephemeralRangeStart(): number | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low - PORTS_BELOW_EPHEMERAL >= 1024 ? low : undefined;
  } catch {
    return undefined;
  }
}

/** A server listening on `host:port` (0: a port the system chooses); rejects when the port is taken. */
function listening(host: string, port: number): Promise<Server> {
  const server = createServer();
  return new Promise<Server>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Whether something accepts TCP connections on `host`:`port` now (a started server, say). */
export function portAnswers(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
