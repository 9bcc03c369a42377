import { setMaxListeners } from 'node:events';
import { experimental, Server, ServerCredentials, type ChannelOptions, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { HealthCheckResponse_ServingStatus as ServingStatus, HealthService } from '@pinrank/proto';
import { RpcMetrics, createLogger } from '@pinrank/telemetry';
import { startMetricsServer, type MetricsServer } from '@pinrank/telemetry/internal';
import { type Logger } from 'pino';
import { Authorizer } from './authorizer';
import { wrapHandler, type AnyHandler, type CallRuntime } from './call-handler';
import { HealthStatus } from './health';
import { addReflection } from './reflection';
import { tolerantDefinition, tolerantServer } from './request-decoding';
import { parseHostPort, withServerDefaults, type ResolvedServerOptions, type ServerOptions } from './server-options';

/** A running gRPC server. */
export interface RunningServer {
  /** The bound port (the real one when started on port 0). */
  readonly port: number;
  /** The bound /metrics port, when `metricsAddress` was given. */
  readonly metricsPort: number | undefined;
  /** The bound plaintext health port, when `healthAddress` was given. */
  readonly healthPort: number | undefined;
  /** The service's logger. */
  readonly logger: Logger;
  /** The metrics this server records (register your own metrics in `metrics.registry`). */
  readonly metrics: RpcMetrics;
  /** Resolves once the server has shut down (by `shutdown()` or a signal). */
  readonly closed: Promise<void>;
  /** Sets the health of one registered service, or of all of them and the server ("" ) when `service` is omitted. */
  setServing(serving: boolean, service?: string): void;
  /**
   * Graceful stop: health NOT_SERVING → (drainDelayMs) → refuse new calls and
   * let in-flight calls finish → force-stop after shutdownTimeoutMs. Idempotent.
   */
  shutdown(): Promise<void>;
}

/** How often certificate files are re-read, so a renewed certificate (e.g. by cert-manager) is served without a restart. */
const CERTIFICATE_REFRESH_MS = 60_000;

/**
 * Server credentials from the TLS files, re-read every CERTIFICATE_REFRESH_MS.
 * Resolves once the files have been read (so the first handshake has them);
 * `release` stops the start-up watch once the server holds its own.
 * Rejects naming the files when they cannot be read.
 */
async function credentials(o: ResolvedServerOptions): Promise<{ creds: ServerCredentials; release: () => void }> {
  if (!o.tls) return { creds: ServerCredentials.createInsecure(), release: () => undefined };
  const tls = o.tls;
  // One provider holds the server's certificate, its key and the client CA; passing it for
  // both roles requests client certificates (mutual TLS) only when a client CA is configured.
  const files = new experimental.FileWatcherCertificateProvider({
    certificateFile: tls.certFile,
    privateKeyFile: tls.keyFile,
    ...(tls.clientCaFile ? { caCertificateFile: tls.clientCaFile } : {}),
    refreshIntervalMs: CERTIFICATE_REFRESH_MS,
  });
  const mutual = tls.clientCaFile !== undefined;
  const listeners: Array<() => void> = [];
  const first = (kind: 'identity' | 'ca'): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const listener = (update: unknown): void => {
        if (update) resolve();
        else reject(new TypeError(`TLS: cannot read ${kind === 'identity' ? `${tls.certFile} and ${tls.keyFile}` : tls.clientCaFile}`));
      };
      if (kind === 'identity') {
        files.addIdentityCertificateListener(listener);
        listeners.push(() => files.removeIdentityCertificateListener(listener));
      } else {
        files.addCaCertificateListener(listener);
        listeners.push(() => files.removeCaCertificateListener(listener));
      }
    });
  const release = (): void => listeners.forEach((remove) => remove());
  try {
    await Promise.all([first('identity'), ...(mutual ? [first('ca')] : [])]);
  } catch (err) {
    release();
    throw err;
  }
  return { creds: experimental.createCertificateProviderServerCredentials(files, mutual ? files : null, mutual && (tls.requireClientCert ?? true)), release };
}

function channelOptions(o: ResolvedServerOptions): ChannelOptions {
  return {
    'grpc.max_receive_message_length': o.maxReceiveMessageBytes,
    'grpc.max_send_message_length': o.maxSendMessageBytes,
    'grpc.keepalive_time_ms': o.keepalive.timeMs,
    'grpc.keepalive_timeout_ms': o.keepalive.timeoutMs,
    'grpc.max_connection_age_ms': o.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms': o.maxConnectionAgeGraceMs,
  };
}

function bind(server: Server, address: string, creds: ServerCredentials): Promise<number> {
  return new Promise<number>((resolve, reject) => server.bindAsync(address, creds, (err, p) => (err ? reject(err) : resolve(p))));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a gRPC server: the given services (wrapped with tracing, metrics,
 * authorization and error mapping), grpc.health.v1, optional reflection and
 * /metrics, and graceful shutdown on signals. Resolves once bound and SERVING.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const o = withServerDefaults(options);
  const logger = options.logger ?? createLogger({ name: o.name });
  const metrics = options.metrics ?? new RpcMetrics();
  const drain = new AbortController();
  // Every open long-lived stream listens for the drain: one listener per stream is expected, not a leak.
  setMaxListeners(0, drain.signal);
  const runtime: CallRuntime = {
    logger,
    tracer: options.tracer ?? trace.getTracer(o.name),
    metrics,
    authorizer: Authorizer.create({
      registrations: o.services,
      authz: o.authz,
      admin: o.admin,
      mutualTls: Boolean(o.tls?.clientCaFile) && o.tls?.requireClientCert !== false,
      registry: metrics.registry,
    }),
    inflight: new Set(),
    draining: drain.signal,
  };
  const server = new Server(channelOptions(o));
  for (const reg of o.services) {
    const impl: UntypedServiceImplementation = {};
    for (const [key, def] of Object.entries(reg.definition)) {
      impl[key] = wrapHandler(
        {
          definition: def,
          handler: reg.handlers[key] as AnyHandler | undefined,
          unimplementedMessage: reg.unimplementedMessage(def.path),
        },
        runtime,
      );
    }
    server.addService(tolerantDefinition(reg.definition), impl);
  }
  const health = new HealthStatus();
  tolerantServer(server).addService(HealthService, health.handlers());
  const serviceNames = o.services.map((s) => s.serviceName);
  if (o.reflection) addReflection(tolerantServer(server), o.reflection, [...serviceNames, 'grpc.health.v1.Health']);

  const tls = await credentials(o);
  const port = await bind(server, o.address, tls.creds).finally(tls.release);
  let metricsServer: MetricsServer | undefined;
  // Kubelet gRPC probes speak plaintext only: a separate listener serves health and nothing else.
  const healthServer = o.healthAddress !== undefined ? new Server() : undefined;
  let healthPort: number | undefined;
  try {
    if (healthServer && o.healthAddress !== undefined) {
      healthServer.addService(HealthService, health.handlers());
      healthPort = await bind(healthServer, o.healthAddress, ServerCredentials.createInsecure());
    }
    if (o.metricsAddress !== undefined) {
      const { host, port: mport } = parseHostPort(o.metricsAddress);
      metricsServer = await startMetricsServer({ registry: metrics.registry, host, port: mport });
    }
  } catch (err) {
    server.forceShutdown();
    healthServer?.forceShutdown();
    throw err;
  }
  for (const name of ['', ...serviceNames]) health.set(name, ServingStatus.SERVING);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let shuttingDown: Promise<void> | undefined;

  const doShutdown = async (): Promise<void> => {
    logger.info({ inflight: runtime.inflight.size }, 'draining: health NOT_SERVING');
    health.setAll(ServingStatus.NOT_SERVING);
    // Let the NOT_SERVING update reach watchers before their streams end.
    await sleep(0);
    health.endWatches();
    if (o.drainDelayMs > 0) await sleep(o.drainDelayMs);
    // Open streams finish what they hold and end: tryShutdown waits for every call.
    drain.abort();
    let timer: NodeJS.Timeout | undefined;
    const graceful = new Promise<boolean>((resolve) => server.tryShutdown(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), o.shutdownTimeoutMs)));
    const clean = await Promise.race([graceful, timeout]);
    if (timer) clearTimeout(timer);
    if (!clean) {
      logger.warn({ inflight: runtime.inflight.size }, 'shutdown timeout: cancelling calls still in flight');
      for (const c of runtime.inflight) c.abort(new Error('server is shutting down'));
      server.forceShutdown();
    }
    healthServer?.forceShutdown();
    await metricsServer?.close();
    try {
      await o.onShutdown?.();
    } finally {
      logger.info({ graceful: clean }, 'server stopped');
      for (const sig of o.signals) process.off(sig, onSignal);
      resolveClosed();
    }
  };
  const shutdown = (): Promise<void> => (shuttingDown ??= doShutdown());
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'signal received; shutting down');
    shutdown().then(
      () => {
        if (o.exitOnSignal) process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        if (o.exitOnSignal) process.exit(1);
      },
    );
  };
  for (const sig of o.signals) process.on(sig, onSignal);
  logger.info({ port, metricsPort: metricsServer?.port, healthPort, services: serviceNames, tls: Boolean(o.tls), authz: runtime.authorizer.mode }, 'serving');

  return {
    port,
    metricsPort: metricsServer?.port,
    healthPort,
    logger,
    metrics,
    closed,
    setServing(serving, service) {
      const status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
      if (service === undefined) {
        for (const name of ['', ...serviceNames]) health.set(name, status);
        return;
      }
      if (service !== '' && !serviceNames.includes(service)) {
        throw new TypeError(`setServing: unknown service "${service}"; registered: ${serviceNames.join(', ')}`);
      }
      health.set(service, status);
    },
    shutdown,
  };
}
