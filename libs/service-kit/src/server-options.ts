import { type Tracer } from '@opentelemetry/api';
import { type RpcMetrics } from '@pinrank/telemetry';
import { type Logger } from 'pino';
import { type AuthzOptions } from './authorizer';
import { type AdminAuthOptions } from './identity';
import { type ReflectionSource } from './reflection';
import { type ServiceRegistration } from './service';

/** TLS for a server, from PEM files. With `clientCaFile`, clients must present a certificate it signed (mTLS). */
export interface ServerTlsOptions {
  /** PEM certificate chain of the server. */
  certFile: string;
  /** PEM private key of the server. */
  keyFile: string;
  /** PEM CA bundle that client certificates must chain to; setting it turns on mutual TLS. */
  clientCaFile?: string;
  /** With `clientCaFile`: refuse connections without a client certificate; default true. */
  requireClientCert?: boolean;
}

/** HTTP/2 keepalive pings sent by the server. */
export interface KeepaliveOptions {
  /** Interval between pings; default 30 000 ms. */
  timeMs?: number;
  /** How long to wait for a ping ack before closing; default 10 000 ms. */
  timeoutMs?: number;
}

/** Options of `startServer`. Defaults are filled in one place, {@link withServerDefaults}. */
export interface ServerOptions {
  /** Service name used in logs, spans and metrics (e.g. "feature-server"). */
  name: string;
  /** host:port to bind; port 0 picks a free port (read it back from `server.port`). */
  address: string;
  /** Services to serve (from `defineService`). */
  services: readonly ServiceRegistration[];
  /** TLS or mutual TLS; default plaintext. */
  tls?: ServerTlsOptions;
  /** Who the admins are (admin tokens, admin certificate identities); default nobody. */
  admin?: AdminAuthOptions;
  /** Who may call what: per-service policies, identity tokens, mode; default `auto` without policies (data methods open, admin methods guarded). */
  authz?: AuthzOptions;
  /** Serve grpc.reflection for the registered services from this schema source; default off. */
  reflection?: ReflectionSource;
  /** Largest request message accepted; default 64 MiB. */
  maxReceiveMessageBytes?: number;
  /** Largest response message sent; default 64 MiB. */
  maxSendMessageBytes?: number;
  /** Keepalive pings; defaults in {@link KeepaliveOptions}. */
  keepalive?: KeepaliveOptions;
  /** Close each connection after this age so clients re-resolve and rebalance; default 300 000 ms. */
  maxConnectionAgeMs?: number;
  /** Time in-flight calls get after the max-age GOAWAY; default 30 000 ms. */
  maxConnectionAgeGraceMs?: number;
  /** After NOT_SERVING is published, wait this long before refusing new calls (lets balancers notice); default 0. */
  drainDelayMs?: number;
  /** How long in-flight calls may take to finish during shutdown before they are cut; default 15 000 ms. */
  shutdownTimeoutMs?: number;
  /** Signals that start a graceful shutdown; default ["SIGTERM", "SIGINT"]; [] for none (tests). */
  signals?: readonly NodeJS.Signals[];
  /** Exit the process after a signal-triggered shutdown; default true. */
  exitOnSignal?: boolean;
  /** Runs after the gRPC server has stopped (close stores, flush telemetry). */
  onShutdown?: () => Promise<void> | void;
  /** Logger; default a pino JSON logger named after the service. */
  logger?: Logger;
  /** Tracer for SERVER spans; default the global tracer named after the service. */
  tracer?: Tracer;
  /** RPC metrics; default a new RpcMetrics with its own registry. */
  metrics?: RpcMetrics;
  /** host:port of the Prometheus /metrics endpoint; default none. Port 0 picks a free port. */
  metricsAddress?: string;
  /**
   * host:port of a plaintext gRPC listener serving grpc.health.v1 only (for
   * kubelet gRPC probes, which cannot speak TLS); default none.
   */
  healthAddress?: string;
}

/** ServerOptions with every default filled in. */
export type ResolvedServerOptions = Required<
  Omit<ServerOptions, 'tls' | 'reflection' | 'onShutdown' | 'logger' | 'tracer' | 'metrics' | 'metricsAddress' | 'healthAddress' | 'keepalive' | 'admin' | 'authz'>
> &
  Pick<ServerOptions, 'tls' | 'reflection' | 'onShutdown' | 'metricsAddress' | 'healthAddress'> & {
    keepalive: Required<KeepaliveOptions>;
    admin: AdminAuthOptions;
    authz: AuthzOptions;
  };

/** Splits "host:port" ("[::1]:50051" for IPv6) and checks the port. Throws TypeError when malformed. */
export function parseHostPort(address: string, what = 'address'): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || port > 65535) throw new TypeError(`${what}: "${address}" is not host:port (e.g. 0.0.0.0:50051; port 0..65535)`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

function positive(name: string, value: number, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TypeError(`startServer: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`);
  }
  return value;
}

/** Fills the defaults of ServerOptions and validates them; throws TypeError on a bad or conflicting option. */
export function withServerDefaults(options: ServerOptions): ResolvedServerOptions {
  if (!options.name) throw new TypeError('startServer: name is required');
  parseHostPort(options.address, 'startServer: address');
  if (options.metricsAddress !== undefined) parseHostPort(options.metricsAddress, 'startServer: metricsAddress');
  if (options.healthAddress !== undefined) parseHostPort(options.healthAddress, 'startServer: healthAddress');
  const names = options.services.map((s) => s.serviceName);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new TypeError(`startServer: service ${dup} registered twice`);
  const admin = options.admin ?? {};
  if (admin.allowedIdentities?.length && !options.tls?.clientCaFile) {
    throw new TypeError('startServer: admin.allowedIdentities needs mutual TLS (tls.clientCaFile)');
  }
  if (options.tls?.requireClientCert !== undefined && !options.tls.clientCaFile) {
    throw new TypeError('startServer: tls.requireClientCert needs tls.clientCaFile');
  }
  return {
    name: options.name,
    address: options.address,
    services: options.services,
    tls: options.tls,
    admin,
    authz: options.authz ?? {},
    reflection: options.reflection,
    maxReceiveMessageBytes: positive('maxReceiveMessageBytes', options.maxReceiveMessageBytes ?? 64 * 1024 * 1024),
    maxSendMessageBytes: positive('maxSendMessageBytes', options.maxSendMessageBytes ?? 64 * 1024 * 1024),
    keepalive: {
      timeMs: positive('keepalive.timeMs', options.keepalive?.timeMs ?? 30_000),
      timeoutMs: positive('keepalive.timeoutMs', options.keepalive?.timeoutMs ?? 10_000),
    },
    maxConnectionAgeMs: positive('maxConnectionAgeMs', options.maxConnectionAgeMs ?? 300_000),
    maxConnectionAgeGraceMs: positive('maxConnectionAgeGraceMs', options.maxConnectionAgeGraceMs ?? 30_000),
    drainDelayMs: positive('drainDelayMs', options.drainDelayMs ?? 0, true),
    shutdownTimeoutMs: positive('shutdownTimeoutMs', options.shutdownTimeoutMs ?? 15_000),
    signals: options.signals ?? ['SIGTERM', 'SIGINT'],
    exitOnSignal: options.exitOnSignal ?? true,
    onShutdown: options.onShutdown,
    metricsAddress: options.metricsAddress,
    healthAddress: options.healthAddress,
  };
}
