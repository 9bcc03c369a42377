// How pinrank's processes connect to NATS (the feature-server's action-stream consumer, the
// router's request log, the CLI's producers): the server list, TLS with the component's own
// certificate (mutual TLS, which a NATS server can map to a user with `verify_and_map`), a
// NATS credentials file or a user and password, and a connection that keeps reconnecting
// through an outage rather than giving up after NATS's default ten attempts.
import { readFileSync } from 'node:fs';
import { checkClientCertificate, readSecretLine, tlsMode, type DataClientSecurity } from '@pinrank/service-kit';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';

/** How a client proves who it is to NATS and checks the server: TLS, a user, or a credentials file. Every field is optional. */
export interface NatsSecurity extends DataClientSecurity {
  /** A NATS credentials file (user JWT and NKey seed), for servers in operator mode. */
  credsFile?: string;
}

/** Where to connect, as whom. */
export interface NatsConnectOptions extends NatsSecurity {
  /** NATS server URLs, comma separated (`nats://host:4222`, `tls://host:4222` or `host:port`). */
  servers: string;
  /** Connection name the server shows in its monitoring (`connz`). */
  name: string;
  /**
   * Reconnect attempts after a lost connection before the client gives up and closes; -1
   * (the default) never gives up. NATS's own default, 10 attempts 2 s apart, ends a
   * long-lived consumer for good after a 20-second outage.
   */
  maxReconnectAttempts?: number;
  /** Wait between reconnect attempts to one server, ms (default 2000, NATS's own). */
  reconnectTimeWaitMs?: number;
  /** How long the first connection may take, TLS handshake included, ms (default 10000). */
  connectTimeoutMs?: number;
  /**
   * How often the client pings its server, ms (default 5000). With a third ping due and two
   * still unanswered, the connection counts as lost and the client moves to another server:
   * about three intervals after a server went silent (a partition, a host that vanished
   * without closing its connections). With NATS's own 2 minutes a client stayed on a silent
   * server for 6 minutes (measured).
   */
  pingIntervalMs?: number;
}

/** Default ping interval of every NATS connection, ms: a silent server is left within about 15 s. */
export const DEFAULT_PING_INTERVAL_MS = 5000;

/** Splits a comma-separated server list; throws TypeError when it names none. */
export function natsServers(servers: string): string[] {
  const list = servers
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0) throw new TypeError(`nats: no server in "${servers}"`);
  return list;
}

function readFile(what: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TypeError(`nats: cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
}

function secretLine(what: string, file: string): string {
  try {
    return readSecretLine(what, file);
  } catch (err) {
    throw new TypeError(`nats: ${(err as Error).message}`);
  }
}

/**
 * The nats.js connection options for `o`. Reads the credentials and password files now, so a
 * missing or malformed file fails here with its path. Throws TypeError on a combination that
 * cannot work: a certificate without its key, a user without a password file (or the
 * reverse), or both a credentials file and a user.
 */
export function natsConnectionOptions(o: NatsConnectOptions): ConnectionOptions {
  const servers = natsServers(o.servers);
  const options: ConnectionOptions = {
    servers,
    name: o.name,
    maxReconnectAttempts: o.maxReconnectAttempts ?? -1,
    reconnectTimeWait: o.reconnectTimeWaitMs ?? 2000,
    timeout: o.connectTimeoutMs ?? 10_000,
    pingInterval: o.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    maxPingOut: 2,
  };
  if (o.tls) {
    const { caFile, certFile, keyFile } = o.tls;
    checkClientCertificate('nats', o.tls);
    options.tls = { ...(caFile ? { caFile } : {}), ...(certFile && keyFile ? { certFile, keyFile } : {}) };
  }
  if (o.credsFile && o.user) throw new TypeError('nats: give either a credentials file or a user and password, not both');
  if (o.credsFile) {
    const creds = readFile('credentials file', o.credsFile);
    if (!creds.includes('NATS USER JWT') || !creds.includes('USER NKEY SEED')) {
      throw new TypeError(`nats: ${o.credsFile} is not a NATS credentials file (no user JWT and NKey seed blocks)`);
    }
    options.authenticator = credsAuthenticator(new TextEncoder().encode(creds));
  }
  if (Boolean(o.user) !== Boolean(o.passwordFile)) throw new TypeError('nats: a user needs a password file, and a password file a user');
  if (o.user && o.passwordFile) {
    options.user = o.user;
    options.pass = secretLine('password file', o.passwordFile);
  }
  return options;
}

/** What a connection uses, for a log line: never a secret. */
export function describeNatsSecurity(o: NatsSecurity): { tls: 'off' | 'server-verified' | 'mutual'; auth: 'none' | 'credentials' | 'user' } {
  return {
    tls: tlsMode(o),
    auth: o.credsFile ? 'credentials' : o.user ? 'user' : 'none',
  };
}

/**
 * Connects to NATS. A refusal names the servers and what the client presented, so
 * "Authorization Violation" says which credentials were refused. A TLS server that refuses
 * the client's certificate closes the handshake without a reason the client can read: the
 * client then sees a timeout, and the message says where to look.
 */
export async function connectNats(o: NatsConnectOptions): Promise<NatsConnection> {
  const options = natsConnectionOptions(o);
  try {
    return await connect(options);
  } catch (err) {
    const sec = describeNatsSecurity(o);
    let cause = err instanceof Error ? err.message : String(err);
    if (o.tls && /TIMEOUT/i.test(cause)) {
      cause += sec.tls === 'mutual'
        ? ' (with TLS, a timeout usually means the server refused the client certificate: not signed by a CA it trusts, or expired; its log says which)'
        : ' (with TLS, a timeout usually means the server wants a client certificate and none was presented; its log says so)';
    } else if (!o.tls && /certificate|self.signed/i.test(cause)) {
      // A tls:// URL alone makes the client speak TLS, trusting only the system's roots.
      cause += " (the server speaks TLS with a certificate the system's roots do not vouch for: turn the service's NATS TLS setting on, with the CA that signed it)";
    }
    throw new Error(`nats: cannot connect to ${(options.servers as string[]).join(',')} (TLS ${sec.tls}, auth ${sec.auth}): ${cause}`, { cause: err });
  }
}

/** What {@link watchOutages} tells: the connection was lost, it is back, or the server reported an error. */
export interface OutageHandlers {
  down(server: string): void;
  up(server: string): void;
  error?(err: unknown): void;
}

/**
 * Calls `down` when `nc` loses its server and `up` when it has one again, once per outage
 * whatever the client reports in between. Ends with the connection.
 */
export function watchOutages(nc: NatsConnection, handlers: OutageHandlers): void {
  let down = false;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' && !down) {
        down = true;
        handlers.down(String(s.data));
      } else if (s.type === 'reconnect' && down) {
        down = false;
        handlers.up(String(s.data));
      } else if (s.type === 'error') handlers.error?.(s.data);
    }
  })();
}
