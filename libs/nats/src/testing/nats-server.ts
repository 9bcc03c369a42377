// A throwaway nats-server on loopback for tests and benches: its own configuration file,
// JetStream store and port in a temporary directory, optionally with TLS (server
// certificate, client certificates verified, or verified and mapped to users) and users with
// subject permissions. It can be stopped and started again on the same port and store, to
// play an outage.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portProcess } from '@pinrank/service-kit';

/** A user of the server, with what it may publish and subscribe to (default: everything). */
export interface NatsTestUser {
  /** The user name; with `verify_and_map`, what the certificate maps to (e.g. a URI SAN or "CN=name"). */
  user: string;
  password?: string;
  publish?: readonly string[];
  subscribe?: readonly string[];
}

/** Options of {@link startNatsServer}. */
export interface NatsTestServerOptions {
  /** Enable JetStream (default true). */
  jetstream?: boolean;
  /** Serve TLS with this certificate; `clients` says what is asked of a client's certificate (default 'none'). */
  tls?: { certFile: string; keyFile: string; caFile: string; clients?: 'none' | 'verify' | 'verify_and_map' };
  /** Users (none: no authorization). */
  users?: readonly NatsTestUser[];
  /**
   * Member of a cluster: its name among the servers, its route port, and the route ports
   * every member dials (its own included). `advertise` is the route address (`host:port`) the
   * others are told to dial for it, where a proxy stands in front of its route port.
   */
  cluster?: { serverName: string; routePort: number; routePorts: readonly number[]; advertise?: string };
  /** The client port (default: a free one). */
  port?: number;
  /**
   * The client address (`host:port`) the server gives instead of its own (a proxy's); a
   * cluster member then tells clients of no other member, so they keep to the URLs they were given.
   */
  clientAdvertise?: string;
}

/** A running throwaway NATS server. */
export interface NatsTestServer {
  readonly port: number;
  /** `nats://127.0.0.1:<port>` (or `tls://…` with TLS). */
  readonly url: string;
  /** Kills the server (as a crash would); the store and port are kept for `start`. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store. */
  start(): Promise<void>;
  /** The server process's id while it runs (for benches that read its CPU time). */
  readonly pid: number | undefined;
  /** Kills it and removes its directory. */
  stop(): Promise<void>;
}



const quoted = (s: string): string => JSON.stringify(s);
const list = (xs: readonly string[]): string => `[${xs.map(quoted).join(', ')}]`;

function configText(port: number, dir: string, o: NatsTestServerOptions): string {
  const lines = [`listen: "127.0.0.1:${port}"`];
  if (o.jetstream ?? true) lines.push(`jetstream { store_dir: ${quoted(join(dir, 'js'))} }`);
  if (o.cluster) {
    lines.push(
      `server_name: ${quoted(o.cluster.serverName)}`,
      'cluster {',
      '  name: "pinrank-test"',
      `  listen: "127.0.0.1:${o.cluster.routePort}"`,
      `  routes: ${list(o.cluster.routePorts.map((p) => `nats-route://127.0.0.1:${p}`))}`,
      ...(o.cluster.advertise ? [`  advertise: ${quoted(o.cluster.advertise)}`] : []),
      // Clients are told of no other member: they keep to the (proxy) URLs they were given.
      ...(o.clientAdvertise ? ['  no_advertise: true'] : []),
      '}',
    );
  }
  if (o.clientAdvertise) lines.push(`client_advertise: ${quoted(o.clientAdvertise)}`);
  if (o.tls) {
    const clients = o.tls.clients ?? 'none';
    lines.push(
      'tls {',
      `  cert_file: ${quoted(o.tls.certFile)}`,
      `  key_file: ${quoted(o.tls.keyFile)}`,
      `  ca_file: ${quoted(o.tls.caFile)}`,
      ...(clients === 'verify' ? ['  verify: true'] : clients === 'verify_and_map' ? ['  verify_and_map: true'] : []),
      '}',
    );
  }
  if (o.users && o.users.length > 0) {
    lines.push('authorization {', '  users: [');
    for (const u of o.users) {
      const perms = [...(u.publish ? [`publish: ${list(u.publish)}`] : []), ...(u.subscribe ? [`subscribe: ${list(u.subscribe)}`] : [])];
      lines.push(`    { user: ${quoted(u.user)}${u.password ? `, password: ${quoted(u.password)}` : ''}${perms.length ? `, permissions: { ${perms.join(', ')} }` : ''} }`);
    }
    lines.push('  ]', '}');
  }
  return `${lines.join('\n')}\n`;
}

/** Starts a nats-server (the binary must be on the PATH or in /usr/sbin) and waits until it accepts connections. */
export async function startNatsServer(o: NatsTestServerOptions = {}): Promise<NatsTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nats-test-'));
  const port = o.port ?? (await freePort());
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, configText(port, dir, o));
  const server = portProcess(
    'nats test server',
    port,
    () => spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin` } }),
    'install the nats-server package',
  );
  const { kill, start } = server;
  try {
    await start();
  } catch (err) {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url: `${o.tls ? 'tls' : 'nats'}://127.0.0.1:${port}`,
    kill,
    start,
    get pid() {
      return server.pid;
    },
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
