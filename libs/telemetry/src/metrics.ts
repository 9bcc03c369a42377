import { InterceptingCall, type Interceptor, status as GrpcStatus } from '@grpc/grpc-js';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { RpcSeries } from './rpc-series';

/** Latency buckets (seconds) for RPC histograms: 0.5 ms .. 10 s. */
export const RPC_LATENCY_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * prom-client's default collectors that break the exposition-format lint
 * (`promtool check metrics`: gauges must not end in `_total`). Each has a
 * by-type gauge without the suffix (`nodejs_active_handles{type}`...) whose
 * sum is the same number, so they are dropped rather than renamed.
 */
export const OMITTED_DEFAULT_METRICS: readonly string[] = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** Options of {@link RpcMetrics}. */
export interface RpcMetricsOptions {
  /** The registry to register in; default a new one. */
  registry?: Registry;
  /** Also collect Node.js process metrics (heap, event-loop lag...); default true. */
  processMetrics?: boolean;
}

/** Joins label values into a series key (no label value holds it). */
const SEP = '\u0000';

/**
 * RPC counters and latency histograms by service, method and status code,
 * for servers (`rpc_server_*`, with a `model` label on calls that served a
 * model) and clients (`rpc_client_*`). Recorded by {@link RpcSeries}: the
 * same exposition as prom-client's Counter and Histogram, without their
 * per-call label checks and hashing.
 */
export class RpcMetrics {
  /** The registry holding these metrics (serve it with {@link startMetricsServer}). */
  readonly registry: Registry;
  private readonly server: RpcSeries;
  private readonly client: RpcSeries;

  constructor(options: RpcMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of OMITTED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
    this.server = new RpcSeries(
      this.registry,
      {
        counter: 'rpc_server_requests_total',
        counterHelp: 'RPCs handled, by service, method, gRPC status code name and (when one was served) model.',
        histogram: 'rpc_server_duration_seconds',
        histogramHelp: 'Time from call start to status, by service, method, gRPC status code name and (when one was served) model.',
      },
      RPC_LATENCY_BUCKETS,
    );
    this.client = new RpcSeries(
      this.registry,
      {
        counter: 'rpc_client_requests_total',
        counterHelp: 'Outgoing RPCs, by service, method and gRPC status code name.',
        histogram: 'rpc_client_duration_seconds',
        histogramHelp: 'Outgoing RPC latency, by service, method and gRPC status code name.',
      },
      RPC_LATENCY_BUCKETS,
    );
  }

  /**
   * Records one handled call. `code` is the gRPC status name (e.g. "OK",
   * "INVALID_ARGUMENT"); `model` labels calls that served a model the server
   * knows (never a client-chosen string: each value is a new series).
   */
  observeServer(service: string, method: string, code: string, seconds: number, model?: string): void {
    if (model) this.server.observe(service + SEP + method + SEP + code + SEP + model, () => ({ service, method, code, model }), seconds);
    else this.server.observe(service + SEP + method + SEP + code, () => ({ service, method, code }), seconds);
  }

  /** Records one outgoing call. */
  observeClient(service: string, method: string, code: string, seconds: number): void {
    this.client.observe(service + SEP + method + SEP + code, () => ({ service, method, code }), seconds);
  }
}

/** A running /metrics HTTP endpoint. */
export interface MetricsServer {
  /** The bound port (useful when started on port 0). */
  readonly port: number;
  /** Stops accepting connections and closes the server. */
  close(): Promise<void>;
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** The registry to expose. */
  registry: Registry;
  /** Interface to bind; default "0.0.0.0". */
  host?: string;
  /** Port; 0 picks a free one. */
  port: number;
}

/** Serves `GET /metrics` in the Prometheus text format (and 404 for any other path). */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
      return;
    }
    options.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** A grpc-js client interceptor that records each outgoing call in `metrics` (`rpc_client_*`). */
export function createMetricsClientInterceptor(metrics: RpcMetrics): Interceptor {
  return (callOptions, nextCall) => {
    const [service = '', method = ''] = callOptions.method_definition.path.replace(/^\//, '').split('/');
    const started = process.hrtime.bigint();
    return new InterceptingCall(nextCall(callOptions), {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            metrics.observeClient(service, method, GrpcStatus[status.code], Number(process.hrtime.bigint() - started) / 1e9);
            nextStatus(status);
          },
        });
      },
    });
  };
}
