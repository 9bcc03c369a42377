import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Ports for the services a test stack or a benchmark starts: chosen outside
// the range the kernel hands out by itself, so a concurrent test's bind(0)
// or outgoing connection cannot take one between the choice and the bind;
// and reserved for a few minutes in a directory every process of this
// machine shares, so that two test processes choosing at once do not pick
// the same port before either has bound it.

/** A free port on `host`, held while chosen and then released (see {@link freePorts}). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port as number;
}

/**
 * `n` distinct free ports: all are held at once while choosing, then released,
 * and reserved for a few minutes against other processes choosing (see
 * {@link reservePorts}).
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
      if (!server) continue;
      if (reserve(port)) servers.push(server);
      else await close(server);
    }
    while (servers.length < n) {
      const server = await listening(host, 0);
      if (reserve((server.address() as { port: number }).port)) servers.push(server);
      else await close(server);
    }
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error(`no TCP port bound on ${host}`);
      return address.port;
    });
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** Where ports chosen by any process of this machine are reserved: one empty file a port. */
const RESERVATIONS = join(tmpdir(), 'pinrank-port-reservations');
/** How long a reservation holds: long enough for a service to start and bind its port. */
const RESERVED_MS = 5 * 60_000;

/**
 * Reserves `port` for this process unless another process reserved it less
 * than {@link RESERVED_MS} ago. Where reservations cannot be written at all, every
 * port counts as reservable (the choice is then as good as the bind check).
 */
function reserve(port: number): boolean {
  const file = join(RESERVATIONS, String(port));
  try {
    mkdirSync(RESERVATIONS, { recursive: true });
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true;
  }
  try {
    if (readFileSync(file, 'utf8') === String(process.pid)) return true; // ours already
    if (Date.now() - statSync(file).mtimeMs < RESERVED_MS) return false;
    // A stale reservation: take it over.
    const now = new Date();
    utimesSync(file, now, now);
    return true;
  } catch {
    return true;
  }
}

/**
 * Reserves every port of `ports` (e.g. the block of a stack started with a
 * base port), or none when another process has reserved one of them in the
 * last few minutes; says which.
 */
export function reservePorts(ports: readonly number[]): boolean {
  const taken: number[] = [];
  for (const port of ports) {
    if (reserve(port)) {
      taken.push(port);
      continue;
    }
    for (const t of taken) rmSync(join(RESERVATIONS, String(t)), { force: true });
    return false;
  }
  return true;
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

/** Stops a server of {@link listening}. */
function close(server: Server): Promise<void> {
  return new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
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
