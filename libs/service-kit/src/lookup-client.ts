// The caller's side of a lookup stream (see lookup-stream.ts): requests of a
// unary method multiplexed on one long-lived bidirectional stream, each with a
// request id, its own deadline (sent along and enforced here by a timer), a
// CLIENT span whose context travels in the message, and its own status.
import { Metadata, status as GrpcStatus, type CallOptions, type ClientDuplexStream } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context as otelContext, trace, type Span } from '@opentelemetry/api';
import { type RpcMetrics } from '@pinrank/telemetry';
import { injectTraceContext, serverAttributes } from '@pinrank/telemetry/internal';
import { type UnaryCallOptions } from './client';
import { type CallContext } from './context';
import { ERROR_CODES, PinrankError, type ErrorCode } from './errors';
import { type LookupRequestLike, type LookupStatusLike } from './lookup-stream';

/**
 * A request the stream could not carry (it is down, or this client's cap on
 * requests in flight is reached): the server never saw it, so the caller may
 * send it another way (the unary method) at once.
 */
export class LookupStreamUnavailable extends PinrankError {}

/** One answer, as the client needs it. */
export interface LookupResultParts<Res> {
  requestId: number;
  status: LookupStatusLike | undefined;
  response: Res | undefined;
}

/** Options of {@link LookupStreamClient}. */
export interface LookupClientOptions<Req, Res, In, Out> {
  /** The unary method each request stands for (names spans, metrics and errors). */
  unary: { readonly path: string };
  /** Opens the stream, e.g. `(md, o) => client.streamRealtimeSequences(md, o)`. */
  open: (metadata: Metadata, options: Partial<CallOptions>) => ClientDuplexStream<In, Out>;
  /** The request message of one request; default `{ requestId, timeoutMs, traceparent, request }` (the shape of the generated envelopes). */
  envelope?: (requestId: number, timeoutMs: number, traceparent: string, request: Req) => In;
  /** The parts of one answer. */
  parts: (out: Out) => LookupResultParts<Res>;
  /**
   * The message that tells the server to stop working on request `requestId`,
   * sent on its stream when the request's parent is cancelled (the request
   * itself fails CANCELLED here at once). Without it the server only stops at
   * the request's own timeout.
   */
  cancelMessage?: (requestId: number) => In;
  /** Who the upstream is, for error messages, e.g. "feature-server". */
  upstream: string;
  /** The channel's target (e.g. "127.0.0.1:50051"), recorded on each CLIENT span as `server.address`/`server.port`. */
  target?: string;
  /** Most requests in flight; past it a request is refused here ({@link LookupStreamUnavailable}). Default 256. */
  maxInFlight?: number;
  /**
   * A stream is replaced by a new one after this long; default 20 000 ms. Keep it under the
   * server's connection-age grace (the service kit's `maxConnectionAgeGraceMs`, 30 s by default): a
   * stream on a connection the server drains then ends on its own, before the grace cuts it.
   */
  maxStreamAgeMs?: number;
  /** After a stream fails, requests are refused here for this long before one is opened again; default 1000 ms (5 minutes when the server does not implement the stream). */
  reopenAfterMs?: number;
  /** Metadata sent when a stream opens (e.g. a bearer token). */
  metadata?: () => Metadata;
  /** Records `rpc_client_*` metrics per request when given. */
  metrics?: RpcMetrics;
}

/** Options of one request. */
export interface LookupCallOptions {
  /** Longest wait (Infinity: none of its own, up to about 24.8 days); the parent's deadline caps it. */
  timeoutMs: number;
  /** The incoming call this serves: its deadline caps ours, its cancellation cancels ours, its span is our parent. */
  parent?: CallContext;
}

/** What a request in flight reports to its client. */
interface PendingOwner<In, Res> {
  readonly upstreamName: string;
  settled(code: string, startedNs: bigint): void;
  /** The caller cancelled request `id` of `stream`: tell the server, when it can be told. */
  cancelled(stream: OpenStream<In, Res>, id: number): void;
}

/**
 * One request in flight: its timer, its parent's cancellation and its span.
 * A class rather than closures per request: a lookup client sends many small
 * requests, and each closure is an allocation (and, under tsx, a `__name` call).
 */
class PendingLookup<In, Res> {
  private readonly timer: NodeJS.Timeout;
  private readonly startedNs = process.hrtime.bigint();
  private done = false;

  constructor(
    private readonly owner: PendingOwner<In, Res>,
    private readonly stream: OpenStream<In, Res>,
    private readonly id: number,
    private readonly span: Span,
    private readonly onResolve: (res: Res) => void,
    private readonly onReject: (err: Error) => void,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(PendingLookup.timedOut, timeoutMs, this as unknown as PendingLookup<unknown, unknown>);
    this.timer.unref();
    signal?.addEventListener('abort', this, { once: true });
  }

  private static timedOut(this: void, p: PendingLookup<unknown, unknown>): void {
    p.reject(new PinrankError('DEADLINE_EXCEEDED', `${p.owner.upstreamName} did not answer within ${p.timeoutMs} ms`));
  }

  /** The parent's abort (an EventListener object: no closure per request). */
  handleEvent(): void {
    if (this.done) return;
    this.reject(new PinrankError('CANCELLED', 'cancelled by the caller'));
    this.owner.cancelled(this.stream, this.id);
  }

  resolve(res: Res): void {
    if (!this.settle('OK')) return;
    this.onResolve(res);
  }

  reject(err: Error): void {
    const e = PinrankError.from(err);
    if (!this.settle(e.code, e)) return;
    this.onReject(e);
  }

  private settle(code: string, err?: PinrankError): boolean {
    if (this.done) return false;
    this.done = true;
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
    this.stream.pending.delete(this.id);
    this.span.setAttribute('rpc.grpc.status_code', GrpcStatus[code as keyof typeof GrpcStatus]);
    if (err) this.span.setStatus({ code: SpanStatusCode.ERROR, message: `${code}: ${err.message}` });
    this.span.end();
    this.owner.settled(code, this.startedNs);
    return true;
  }
}

interface OpenStream<In, Res> {
  call: ClientDuplexStream<In, unknown>;
  pending: Map<number, PendingLookup<In, Res>>;
  openedAt: number;
}

const MAX_ID = 0xffff_ffff;
/** The longest timeout a Node timer keeps (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** How long a client waits before asking again a server that answered UNIMPLEMENTED (it has no stream method). */
const UNIMPLEMENTED_RETRY_MS = 5 * 60_000;

function statusError(status: LookupStatusLike): PinrankError {
  const name = GrpcStatus[status.code] as ErrorCode | undefined;
  return name !== undefined && ERROR_CODES.includes(name)
    ? new PinrankError(name, status.message)
    : new PinrankError('INTERNAL', `unknown status code ${status.code}: ${status.message}`);
}

/**
 * Sends requests of a unary method over a lookup stream and resolves each
 * with its own answer. Rejects with the server's status for that request,
 * DEADLINE_EXCEEDED when no answer came in time, CANCELLED when the parent is
 * cancelled, and {@link LookupStreamUnavailable} when the stream cannot carry
 * the request (the caller then uses the unary method).
 */
export class LookupStreamClient<Req, Res, In, Out> {
  private stream: OpenStream<In, Res> | undefined;
  private nextId = 1;
  private inFlight = 0;
  private downUntil = 0;
  private downReason = '';
  private closed = false;
  private readonly maxInFlight: number;
  private readonly maxStreamAgeMs: number;
  private readonly reopenAfterMs: number;
  private readonly service: string;
  private readonly method: string;
  private readonly spanAttributes: Record<string, string | number | boolean>;
  /** What each request reports when it is settled: one object per client, not a closure per request. */
  private readonly owner: PendingOwner<In, Res>;

  constructor(private readonly o: LookupClientOptions<Req, Res, In, Out>) {
    this.maxInFlight = o.maxInFlight ?? 256;
    this.maxStreamAgeMs = o.maxStreamAgeMs ?? 20_000;
    this.reopenAfterMs = o.reopenAfterMs ?? 1000;
    [this.service = '', this.method = ''] = o.unary.path.replace(/^\//, '').split('/');
    this.owner = {
      upstreamName: o.upstream,
      settled: (code, startedNs) => {
        this.inFlight--;
        this.o.metrics?.observeClient(this.service, this.method, code, Number(process.hrtime.bigint() - startedNs) / 1e9);
      },
      cancelled: (stream, id) => {
        // Only on a stream still open for writing: one retired or ended takes no more messages.
        if (this.o.cancelMessage && this.stream === stream) stream.call.write(this.o.cancelMessage(id));
      },
    };
    this.spanAttributes = { 'rpc.system': 'grpc', 'rpc.service': this.service, 'rpc.method': this.method, 'pinrank.rpc.stream': true, ...(o.target ? serverAttributes(o.target) : {}) };
  }

  /** Requests sent and not yet answered. */
  get pending(): number {
    return this.inFlight;
  }

  /** One request; see the class comment for how it fails. */
  call(request: Req, options: LookupCallOptions): Promise<Res> {
    const parentLeft = options.parent?.deadline ? options.parent.deadline.getTime() - Date.now() : Infinity;
    // Capped where Node's timers stop (a longer or infinite timeout would fire at once) and the envelope's uint32 fits.
    const timeoutMs = Math.ceil(Math.min(options.timeoutMs, parentLeft, MAX_TIMEOUT_MS));
    if (timeoutMs <= 0) return Promise.reject(new PinrankError('DEADLINE_EXCEEDED', 'no time left for the call (the incoming deadline has passed)'));
    if (options.parent?.signal.aborted) return Promise.reject(new PinrankError('CANCELLED', 'call cancelled before it started'));
    const stream = this.streamFor();
    if (typeof stream === 'string') return Promise.reject(new LookupStreamUnavailable('UNAVAILABLE', `${this.o.upstream} lookup stream: ${stream}`));

    const parent = options.parent?.otel ?? otelContext.active();
    const span = trace.getTracer('pinrank-grpc-client').startSpan(
      `${this.service}/${this.method}`,
      { kind: SpanKind.CLIENT, attributes: this.spanAttributes },
      parent,
    );
    const carrier = new Metadata();
    injectTraceContext(trace.setSpan(parent, span), carrier);
    const traceparent = String(carrier.get('traceparent')[0] ?? '');
    const id = this.allocateId(stream);
    this.inFlight++;
    return new Promise<Res>((resolve, reject) => {
      const pending = new PendingLookup<In, Res>(this.owner, stream, id, span, resolve, reject, timeoutMs, options.parent?.signal);
      stream.pending.set(id, pending);
      stream.call.write(this.o.envelope ? this.o.envelope(id, timeoutMs, traceparent, request) : ({ requestId: id, timeoutMs, traceparent, request } as LookupRequestLike<Req> as In));
    });
  }

  /** Ends the stream; requests in flight fail with {@link LookupStreamUnavailable}. */
  close(): void {
    this.closed = true;
    if (this.stream) this.retire(this.stream, 'the client was closed', true);
  }

  /** The stream to send on, opening or replacing it as needed; or why none can be used. */
  private streamFor(): OpenStream<In, Res> | string {
    if (this.closed) return 'the client is closed';
    if (this.inFlight >= this.maxInFlight) return `${this.inFlight} requests in flight, at most ${this.maxInFlight}`;
    const now = Date.now();
    if (this.stream && now - this.stream.openedAt > this.maxStreamAgeMs) this.retire(this.stream, 'replaced', false);
    if (this.stream) return this.stream;
    if (now < this.downUntil) return `down (${this.downReason}); tried again in ${this.downUntil - now} ms`;
    // Opened outside the request that happens to need it first: the stream outlives that request's trace.
    const call = otelContext.with(ROOT_CONTEXT, () => this.o.open(this.o.metadata?.() ?? new Metadata(), {}));
    const opened: OpenStream<In, Res> = { call, pending: new Map(), openedAt: now };
    call.on('data', (out: Out) => {
      const { requestId, status, response } = this.o.parts(out);
      const p = opened.pending.get(requestId);
      if (!p) return; // timed out or cancelled here already
      if (status && status.code !== GrpcStatus.OK) p.reject(statusError(status));
      else if (response === undefined) p.reject(new PinrankError('INTERNAL', `${this.o.upstream} answered request ${requestId} OK without a response`));
      else p.resolve(response);
    });
    const ended = (err?: Error & { code?: number; details?: string }): void => {
      if (this.stream === opened) {
        this.stream = undefined;
        if (err) {
          // A server without the stream method (an older release) will not grow one soon: ask again rarely.
          const unimplemented = err.code === GrpcStatus.UNIMPLEMENTED;
          this.downUntil = Date.now() + (unimplemented ? Math.max(this.reopenAfterMs, UNIMPLEMENTED_RETRY_MS) : this.reopenAfterMs);
          this.downReason = err.details ?? err.message;
        }
      }
      this.failAll(opened, err ? `the stream failed: ${err.details ?? err.message}` : 'the stream ended');
    };
    call.on('error', ended);
    call.on('end', () => ended());
    this.stream = opened;
    return opened;
  }

  /** Stops sending on `s`; its requests in flight are answered (or failed with `reason` when `now`). */
  private retire(s: OpenStream<In, Res>, reason: string, now: boolean): void {
    if (this.stream === s) this.stream = undefined;
    if (now) {
      this.failAll(s, reason);
      s.call.cancel();
    } else {
      s.call.end();
    }
  }

  private failAll(s: OpenStream<In, Res>, reason: string): void {
    for (const p of [...s.pending.values()]) p.reject(new LookupStreamUnavailable('UNAVAILABLE', `${this.o.upstream} lookup stream: ${reason}`));
  }

  private allocateId(s: OpenStream<In, Res>): number {
    let id = this.nextId;
    while (s.pending.has(id)) id = id >= MAX_ID ? 1 : id + 1;
    this.nextId = id >= MAX_ID ? 1 : id + 1;
    return id;
  }
}

/**
 * One request on `stream` when there is one and it can carry the request,
 * else (or when it could not: {@link LookupStreamUnavailable}) the unary
 * call `unary`, with the time that is left. Every other failure is the
 * request's own and is thrown as it came.
 */
export async function callViaStream<Req, Res>(
  stream: Pick<LookupStreamClient<Req, Res, never, never>, 'call'> | undefined,
  request: Req,
  o: UnaryCallOptions,
  unary: (o: UnaryCallOptions) => Promise<Res>,
): Promise<Res> {
  if (!stream) return unary(o);
  const started = Date.now();
  const timeoutMs = o.timeoutMs ?? Infinity;
  try {
    return await stream.call(request, o.parent ? { timeoutMs, parent: o.parent } : { timeoutMs });
  } catch (err) {
    if (!(err instanceof LookupStreamUnavailable)) throw err;
    return unary(o.timeoutMs === undefined ? o : { ...o, timeoutMs: Math.max(1, o.timeoutMs - (Date.now() - started)) });
  }
}
