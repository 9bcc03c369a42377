import { lookup } from 'node:dns/promises';
import { Channel, type ClientReadableStream, status as GrpcStatus } from '@grpc/grpc-js';
import { HealthCheckRequest, HealthClient, HealthCheckResponse_ServingStatus as ServingStatus, type HealthCheckResponse } from '@pinrank/proto';
import { type Logger } from 'pino';
import {
  channelCredentials,
  clientChannelOptions,
  clientInterceptors,
  type ClientConnectOptions,
  type ClientConstructor,
} from './client';
import { PinrankError } from './errors';
import { withRetry, type RetryPolicy } from './retry';

/** Where a pool's endpoints come from: a fixed list, or periodic DNS resolution of a (headless Service) name. */
export type EndpointSource =
  | { kind: 'static'; addresses: readonly string[] }
  | {
      kind: 'dns';
      /** Name to resolve (e.g. "ranker-gpu.pinrank.svc.cluster.local"). */
      host: string;
      /** Port of every resolved address. */
      port: number;
      /** Re-resolution interval; default 10 000 ms. */
      intervalMs?: number;
      /** Resolver (tests); default all A/AAAA records via the system resolver. */
      resolve?: (host: string) => Promise<string[]>;
    };

/** Options of {@link EndpointPool}. */
export interface EndpointPoolOptions<C> extends ClientConnectOptions {
  /** Generated client class for the service. */
  client: ClientConstructor<C>;
  /** Service name whose health is watched on each endpoint (e.g. "inference.GRPCInferenceService"); "" for the server. */
  healthService: string;
  /** Endpoints. */
  source: EndpointSource;
  /** Watch each endpoint's grpc.health.v1 status; default true. When false, every endpoint counts as serving. */
  healthCheck?: boolean;
  /** Delay before re-opening a failed Watch; default 1 000 ms. */
  rewatchDelayMs?: number;
  /**
   * How long a SERVING endpoint whose Watch broke keeps its status while the re-opened Watch
   * has not answered; default 10 000 ms. A server recycling its connection answers at once; one
   * whose host went silent (a partition, a host that vanished) never does, and would
   * otherwise stay SERVING for as long as it is silent.
   */
  reconnectGraceMs?: number;
  /** Logger for endpoint changes; default none. */
  logger?: Logger;
}

/** One endpoint's state, as reported by {@link EndpointPool.endpoints}. */
export interface EndpointState {
  readonly address: string;
  /** Last health status; UNKNOWN until the first Watch message. */
  readonly status: ServingStatus;
}

interface Endpoint<C> {
  address: string;
  channel: Channel;
  client: C;
  status: ServingStatus;
  watch?: ClientReadableStream<HealthCheckResponse>;
  rewatch?: NodeJS.Timeout;
  /** The Watch of a SERVING endpoint broke and is being re-opened at once; its status stands until that one answers or fails, for the grace at most. */
  reconnecting?: boolean;
  /** Ends the grace of `reconnecting`: the endpoint's status becomes UNKNOWN. */
  grace?: NodeJS.Timeout;
}

/**
 * Keeps one channel and client per endpoint, follows each endpoint's health
 * with grpc.health.v1 Watch, and hands out clients round-robin among the
 * SERVING ones (grpc-js's own round_robin does no health checking).
 */
export class EndpointPool<C> {
  private readonly endpoints_ = new Map<string, Endpoint<C>>();
  private readonly options: EndpointPoolOptions<C>;
  private next = 0;
  private closed = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly changeListeners = new Set<() => void>();

  private constructor(options: EndpointPoolOptions<C>) {
    this.options = options;
  }

  /** Creates the pool and waits for the first resolution (not for health). */
  static async create<C>(options: EndpointPoolOptions<C>): Promise<EndpointPool<C>> {
    if (options.source.kind === 'static' && options.source.addresses.length === 0) {
      throw new TypeError('EndpointPool: a static source needs at least one address');
    }
    const pool = new EndpointPool(options);
    await pool.refresh();
    const src = options.source;
    if (src.kind === 'dns') {
      const interval = src.intervalMs ?? 10_000;
      if (!(interval > 0)) throw new TypeError('EndpointPool: dns intervalMs must be > 0');
      pool.refreshTimer = setInterval(() => {
        pool.refresh().catch((err: unknown) => options.logger?.warn({ err, host: src.host }, 'endpoint re-resolution failed'));
      }, interval);
      pool.refreshTimer.unref();
    }
    return pool;
  }

  /** Current endpoints and their health. */
  endpoints(): EndpointState[] {
    return [...this.endpoints_.values()].map((e) => ({ address: e.address, status: e.status }));
  }

  /** The client of the endpoint at `address`, whatever its health; undefined when there is none. */
  clientOf(address: string): C | undefined {
    return this.endpoints_.get(address)?.client;
  }

  /** Calls `listener` whenever an endpoint is added, removed or changes health; returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** The next SERVING endpoint's client (round-robin); throws UNAVAILABLE when none is serving. */
  pick(): { address: string; client: C } {
    const serving = [...this.endpoints_.values()].filter((e) => e.status === ServingStatus.SERVING);
    if (serving.length === 0) {
      const states = this.endpoints().map((e) => `${e.address}=${ServingStatus[e.status]}`).join(', ');
      throw new PinrankError('UNAVAILABLE', `no serving endpoint for ${this.options.healthService || 'the service'} (${states || 'no endpoints'})`);
    }
    const e = serving[this.next++ % serving.length] as Endpoint<C>;
    return { address: e.address, client: e.client };
  }

  /** Runs `fn` on a picked client, retrying UNAVAILABLE on the next serving endpoint with jittered backoff. */
  call<T>(fn: (client: C, address: string) => Promise<T>, retry?: RetryPolicy, deadline?: Date): Promise<T> {
    return withRetry(
      () => {
        const { client, address } = this.pick();
        return fn(client, address);
      },
      retry,
      deadline ? { deadline } : {},
    );
  }

  /** Re-reads the source now: adds new endpoints, closes removed ones. */
  async refresh(): Promise<void> {
    const src = this.options.source;
    let addresses: string[];
    if (src.kind === 'static') addresses = [...src.addresses];
    else {
      const ips = await (src.resolve ?? defaultResolve)(src.host);
      addresses = ips.map((ip) => (ip.includes(':') ? `[${ip}]:${src.port}` : `${ip}:${src.port}`));
    }
    if (this.closed) return;
    const wanted = new Set(addresses);
    for (const [address, e] of this.endpoints_) {
      if (!wanted.has(address)) {
        this.drop(e);
        this.endpoints_.delete(address);
        this.options.logger?.info({ address }, 'endpoint removed');
        this.emit();
      }
    }
    for (const address of wanted) {
      if (!this.endpoints_.has(address)) {
        this.add(address);
        this.options.logger?.info({ address }, 'endpoint added');
        this.emit();
      }
    }
  }

  /** Closes every channel and stops watching and re-resolving. */
  close(): void {
    this.closed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    for (const e of this.endpoints_.values()) this.drop(e);
    this.endpoints_.clear();
  }

  private add(address: string): void {
    const src = this.options.source;
    // Endpoints resolved from a DNS name are pod addresses: verify their certificates against the name, not the IP.
    const tls = this.options.tls && src.kind === 'dns' && !this.options.tls.serverNameOverride ? { ...this.options.tls, serverNameOverride: src.host } : this.options.tls;
    const creds = channelCredentials(tls, address);
    const channel = new Channel(address, creds, clientChannelOptions({ ...this.options, ...(tls ? { tls } : {}) }, address));
    const client = new this.options.client(address, creds, { channelOverride: channel, interceptors: clientInterceptors(this.options, address) });
    const e: Endpoint<C> = {
      address,
      channel,
      client,
      status: this.options.healthCheck === false ? ServingStatus.SERVING : ServingStatus.UNKNOWN,
    };
    this.endpoints_.set(address, e);
    if (this.options.healthCheck !== false) this.watch(e);
  }

  private setStatus(e: Endpoint<C>, status: ServingStatus): void {
    if (e.status === status) return;
    this.options.logger?.info({ address: e.address, status: ServingStatus[status] }, 'endpoint health changed');
    e.status = status;
    this.emit();
  }

  private watch(e: Endpoint<C>): void {
    // The health client rides the endpoint's own channel (and its TLS); grpc-js ignores the credentials given here.
    const health = new HealthClient(e.address, channelCredentials(), { channelOverride: e.channel });
    const stream = health.watch(HealthCheckRequest.fromPartial({ service: this.options.healthService }));
    e.watch = stream;
    stream.on('data', (msg: HealthCheckResponse) => {
      this.endGrace(e);
      this.setStatus(e, msg.status);
    });
    stream.on('error', (err: { code?: number }) => {
      if (e.watch !== stream || this.closed) return;
      // A server without health checking counts as serving (as in gRPC client-side health checking).
      if (err.code === GrpcStatus.UNIMPLEMENTED) {
        this.setStatus(e, ServingStatus.SERVING);
        return;
      }
      // A SERVING server that recycles its connection (max connection age) breaks the Watch: re-open it at
      // once and keep the status, so a healthy pool never looks empty. A second failure in a row counts.
      if (e.status === ServingStatus.SERVING && !e.reconnecting) {
        e.reconnecting = true;
        e.grace = setTimeout(() => {
          if (!e.reconnecting || this.closed) return;
          this.options.logger?.warn({ address: e.address }, 'endpoint: its health Watch broke and the re-opened one has not answered; not serving until it does');
          this.endGrace(e);
          this.setStatus(e, ServingStatus.UNKNOWN);
        }, this.options.reconnectGraceMs ?? 10_000);
        e.grace.unref();
        this.watch(e);
        return;
      }
      this.endGrace(e);
      this.setStatus(e, ServingStatus.UNKNOWN);
      this.scheduleRewatch(e);
    });
    stream.on('end', () => {
      if (e.watch !== stream || this.closed) return;
      this.endGrace(e);
      // The server ended the stream (it is shutting down): stop sending until it says SERVING again.
      this.setStatus(e, ServingStatus.NOT_SERVING);
      this.scheduleRewatch(e);
    });
  }

  private endGrace(e: Endpoint<C>): void {
    e.reconnecting = false;
    if (e.grace) clearTimeout(e.grace);
    e.grace = undefined;
  }

  private scheduleRewatch(e: Endpoint<C>): void {
    e.watch = undefined;
    if (e.rewatch) return;
    e.rewatch = setTimeout(() => {
      e.rewatch = undefined;
      if (!this.closed && this.endpoints_.get(e.address) === e) this.watch(e);
    }, this.options.rewatchDelayMs ?? 1_000);
    e.rewatch.unref();
  }

  private drop(e: Endpoint<C>): void {
    if (e.rewatch) clearTimeout(e.rewatch);
    this.endGrace(e);
    const w = e.watch;
    e.watch = undefined;
    w?.cancel();
    e.channel.close();
  }

  private emit(): void {
    for (const l of this.changeListeners) l();
  }
}

async function defaultResolve(host: string): Promise<string[]> {
  const records = await lookup(host, { all: true });
  return records.map((r) => r.address);
}
