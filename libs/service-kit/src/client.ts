import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import {
  credentials as grpcCredentials,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientOptions,
  type ClientUnaryCall,
  type Interceptor,
  type ServiceError,
} from '@grpc/grpc-js';
import { context as otelContext } from '@opentelemetry/api';
import { type RpcMetrics } from '@pinrank/telemetry';
import { createTraceClientInterceptor } from '@pinrank/telemetry/internal';
import { type CallContext } from './context';
import { PinrankError } from './errors';
import { withRetry, type RetryEnvironment, type RetryPolicy } from './retry';

/** TLS for a client, from PEM files; `certFile`+`keyFile` present a client certificate (mTLS). */
export interface ClientTlsOptions {
  /** CA bundle that the server certificate must chain to; default the system roots. */
  caFile?: string;
  /** Client certificate chain (for mutual TLS). */
  certFile?: string;
  /** Client private key (for mutual TLS). */
  keyFile?: string;
  /** Expected server name when it differs from the address host (e.g. connecting by IP). */
  serverNameOverride?: string;
}

/** Options of {@link createClient} and endpoint pools. */
export interface ClientConnectOptions {
  /** TLS; default plaintext. */
  tls?: ClientTlsOptions;
  /** Extra grpc-js channel options (merged over the defaults: 64 MiB messages, 30 s keepalive, an 8 MiB HTTP/2 window). */
  channelOptions?: ChannelOptions;
  /** Records `rpc_client_*` metrics when given. */
  metrics?: RpcMetrics;
  /** Extra interceptors, run after the tracing one. */
  interceptors?: Interceptor[];
}

/** A ts-proto generated client class (e.g. `FeatureServerClient`). */
export type ClientConstructor<C> = new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>) => C;

/**
 * The loopback IP literal a client address names (`127.0.0.1:50051`,
 * `[::1]:50051`, with or without an `ipv4:`/`ipv6:`/`dns:` scheme); undefined
 * for anything else.
 */
export function loopbackIpOf(address: string): string | undefined {
  const m = /^(?:(?:ipv4|ipv6|dns):(?:\/\/[^/]*\/)?)?(\[[^\]]+\]|[^:/[\]]+)(?::\d+)?$/.exec(address);
  if (!m?.[1]) return undefined;
  const host = m[1].replace(/^\[|\]$/g, '');
  const family = isIP(host);
  if (family === 4) return host.startsWith('127.') ? host : undefined;
  if (family === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1' ? host : undefined;
  return undefined;
}

/**
 * The loopback IP a TLS client to `address` verifies as "localhost": grpc-js
 * would otherwise send the IP as the TLS server name, which Node warns against
 * (RFC 6066 allows host names only). Undefined with an explicit
 * `serverNameOverride`, or for any other address.
 */
function renamedLoopbackIp(tls: ClientTlsOptions | undefined, address: string | undefined): string | undefined {
  return tls && !tls.serverNameOverride && address !== undefined ? loopbackIpOf(address) : undefined;
}

/**
 * Channel credentials for `tls` (insecure when undefined). Given the
 * `address` they will connect to, a loopback IP literal with no
 * `serverNameOverride` is verified as "localhost" (see
 * {@link clientChannelOptions}) and a certificate for the IP itself is
 * accepted too, as it would be without the rename.
 */
export function channelCredentials(tls?: ClientTlsOptions, address?: string): ChannelCredentials {
  if (!tls) return grpcCredentials.createInsecure();
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) throw new TypeError('client tls: certFile and keyFile go together');
  const ip = renamedLoopbackIp(tls, address);
  return grpcCredentials.createSsl(
    tls.caFile ? readFileSync(tls.caFile) : null,
    tls.keyFile ? readFileSync(tls.keyFile) : null,
    tls.certFile ? readFileSync(tls.certFile) : null,
    ip === undefined ? {} : { checkServerIdentity: (name: string, cert: PeerCertificate) => (checkServerIdentity(name, cert) === undefined ? undefined : checkServerIdentity(ip, cert)) },
  );
}

/** The client's HTTP/2 receive window (stream and connection), 8 MiB. */
export const CLIENT_FLOW_CONTROL_WINDOW_BYTES = 8 * 1024 * 1024;

/**
 * Channel options for a client: defaults merged with `options.channelOptions`.
 * With TLS, pass the `address` the channel connects to, and the same to
 * {@link channelCredentials}: a loopback IP literal is then verified as
 * "localhost".
 */
export function clientChannelOptions(options: ClientConnectOptions = {}, address?: string): ChannelOptions {
  const serverName = options.tls?.serverNameOverride || (renamedLoopbackIp(options.tls, address) === undefined ? undefined : 'localhost');
  return {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // HTTP/2 flow control: the default 64 KiB window makes a multi-megabyte response
    // (embeddings, encoder outputs) wait for a WINDOW_UPDATE round trip every 64 KiB.
    'grpc-node.flow_control_window': CLIENT_FLOW_CONTROL_WINDOW_BYTES,
    // Each client owns its connections. grpc-js otherwise shares subchannels process-wide by
    // address: a new client to an address another channel is backing off from (its server gone,
    // the port or pod IP since reused) would fail its first calls at once with UNAVAILABLE.
    'grpc.use_local_subchannel_pool': 1,
    ...(serverName ? { 'grpc.ssl_target_name_override': serverName } : {}),
    ...options.channelOptions,
  };
}

/**
 * The interceptors every pinrank client runs: one that traces (W3C
 * propagation; the CLIENT span names `target` as its server) and records
 * metrics, then extras. One interceptor, not one per concern: each costs a
 * layer of call objects on every call.
 */
export function clientInterceptors(options: ClientConnectOptions = {}, target?: string): Interceptor[] {
  return [
    createTraceClientInterceptor({ ...(target ? { target } : {}), ...(options.metrics ? { metrics: options.metrics } : {}) }),
    ...(options.interceptors ?? []),
  ];
}

/** Creates a generated client for one address with tracing, TLS and channel defaults. */
export function createClient<C>(Ctor: ClientConstructor<C>, address: string, options: ClientConnectOptions = {}): C {
  return new Ctor(address, channelCredentials(options.tls, address), {
    ...clientChannelOptions(options, address),
    interceptors: clientInterceptors(options, address),
  });
}

/** The callback-style unary method of a generated client (its last overload). */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Options of {@link callUnary}. */
export interface UnaryCallOptions extends RetryEnvironment {
  /** The incoming call this one serves: its deadline caps ours, its cancellation cancels ours, its span is our parent. */
  parent?: CallContext;
  /** Our own timeout; the effective deadline is the earlier of this and the parent's. */
  timeoutMs?: number;
  /** Cancels the call when aborted. */
  signal?: AbortSignal;
  /** Request metadata (e.g. an admin bearer token). */
  metadata?: Metadata;
  /** Retry policy; default retries UNAVAILABLE 3 times with jittered backoff; false for a single attempt. */
  retry?: RetryPolicy | false;
}

/** The deadline for an outgoing call: the earlier of now+timeoutMs and the parent's deadline. */
export function outgoingDeadline(parent: CallContext | undefined, timeoutMs: number | undefined): Date | undefined {
  const own = timeoutMs !== undefined ? Date.now() + timeoutMs : Infinity;
  const inherited = parent?.deadline ? parent.deadline.getTime() : Infinity;
  const ms = Math.min(own, inherited);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

function once<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options: UnaryCallOptions, deadline: Date | undefined): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const signals = [options.signal, options.parent?.signal].filter((s): s is AbortSignal => s !== undefined);
    if (signals.some((s) => s.aborted)) return reject(new PinrankError('CANCELLED', 'call cancelled before it started'));
    const start = (): ClientUnaryCall =>
      method(request, options.metadata ?? new Metadata(), deadline ? { deadline } : {}, (err, res) => {
        for (const s of signals) s.removeEventListener('abort', cancel);
        if (err) reject(PinrankError.from(err));
        else resolve(res);
      });
    // Interceptors run when the call is created: make the parent's span the active one then.
    const call = options.parent ? otelContext.with(options.parent.otel, start) : start();
    const cancel = (): void => call.cancel();
    for (const s of signals) s.addEventListener('abort', cancel, { once: true });
  });
}

/**
 * Calls a unary method and returns a promise. The deadline derives from the
 * parent call, UNAVAILABLE is retried with jittered backoff, and failures
 * reject with a PinrankError carrying the server's code and message.
 */
export async function callUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options: UnaryCallOptions = {}): Promise<Res> {
  const deadline = outgoingDeadline(options.parent, options.timeoutMs);
  if (deadline && deadline.getTime() <= Date.now()) {
    throw new PinrankError('DEADLINE_EXCEEDED', 'no time left for the call (the incoming deadline has passed)');
  }
  if (options.retry === false) return once(method, request, options, deadline);
  return withRetry(() => once(method, request, options, deadline), options.retry, {
    ...(deadline ? { deadline } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
}
