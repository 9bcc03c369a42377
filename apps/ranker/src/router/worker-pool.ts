import {
  GRPCInferenceServiceRawClient,
  type GRPCInferenceServiceClient,
  HealthCheckResponse_ServingStatus as ServingStatus,
  ModelMetadataRequest,
  ModelReadyRequest,
} from '@pinrank/proto';
import { inferStreamClient, type InferStream } from '@pinrank/inference';
import { callUnary, EndpointPool, type ClientConnectOptions, type EndpointSource } from '@pinrank/service-kit';
import { type RpcMetrics } from '@pinrank/telemetry';
import { type Logger } from 'pino';
import { EJECTION, ejectionMs, maxEjected, slowStartWeight, type EjectionKind } from './fallback-policy';

/** One worker of a pool and its Open Inference Protocol client. */
export interface WorkerEndpoint {
  /** The worker's address. */
  readonly address: string;
  readonly client: GRPCInferenceServiceClient;
  /** ModelInfer as messages of one open ModelStreamInfer call to this worker; absent when the pool sends unary calls only. */
  readonly stream?: InferStream;
}

/** The little the router needs of a pool: a healthy worker, and a way to report one that failed. */
export interface WorkerPool {
  /** Pool name ("gpu" or "cpu"), for logs and errors. */
  readonly name: string;
  /**
   * A SERVING worker whose address is not in `exclude` (round-robin); undefined when none is left.
   * With `includeSkipped`, a worker skipped after a failure is still picked
   * (the one whose skip ends first) when no other is left: for calls that have no fallback.
   */
  pick(exclude?: ReadonlySet<string>, options?: { includeSkipped?: boolean }): WorkerEndpoint | undefined;
  /**
   * A call to this worker failed in a way that counts against it (see
   * fallback-policy.ts, ATTEMPT_RULES and EJECTION): 'now' ejects it at once,
   * 'consecutive' after a few in a row; it is then skipped for a while even if
   * its health still says SERVING, unless half the pool is out already. A busy
   * worker is never reported.
   */
  reportFailure(address: string, kind?: EjectionKind): void;
  /** A call to this worker succeeded: its failure and ejection counts start again. */
  reportSuccess(address: string): void;
  /** Workers SERVING and not ejected now. */
  healthyCount(): number;
  /** Workers whose health says SERVING, ejected or not. */
  servingCount(): number;
  /**
   * Whether every SERVING worker runs `first` on a CPU execution provider and
   * has `then` ready: each worker is asked (ModelMetadata's platform,
   * ModelReady) once it turns SERVING, and again after a call to it fails or a
   * "no" is 30 s old. False while any answer is pending, and for an empty pool.
   */
  computesOnCpuWith(first: ModelRef, then: ModelRef): boolean;
  /** Closes watches and channels. */
  close(): void;
}

/** A model as a call names it: its version, or '' for whichever the worker serves. */
export interface ModelRef {
  name: string;
  version: string;
}

/** How long a worker's "no" to {@link WorkerPool.computesOnCpuWith} stands before it is asked again. */
const PROBE_NO_MS = 30_000;
/** Longest wait for a worker's ModelMetadata and ModelReady answers. */
const PROBE_TIMEOUT_MS = 2000;

/** A worker's answer to one computesOnCpuWith question: pending (undefined), yes or no, and when a "no" may be asked again. */
interface CpuProbe {
  yes: boolean | undefined;
  askAgainAt: number;
}

/** Options of {@link createWorkerPool}. */
export interface WorkerPoolOptions extends ClientConnectOptions {
  /** How long a worker reported as failed is first skipped; default EJECTION.baseMs (1000 ms). */
  ejectMs?: number;
  /**
   * Send ModelInfer as messages of one open ModelStreamInfer call per worker
   * (no call set-up per request); a request the stream cannot carry (down, or
   * 16 in flight) goes as the unary call. Default true.
   */
  inferStreams?: boolean;
  logger?: Logger;
}

/**
 * Parses pool targets: a list of host:port, or a single `dns:///name:port`
 * (re-resolved periodically, one endpoint per address, as for a headless Service).
 * Thrown by: a dns target mixed with others, or one without a port — TypeError.
 */
export function poolSource(targets: readonly string[]): EndpointSource {
  const dns = targets.filter((t) => t.startsWith('dns:'));
  if (dns.length === 0) return { kind: 'static', addresses: [...targets] };
  const m = /^dns:\/\/\/([^:/]+):(\d{1,5})$/.exec(dns[0] ?? '');
  if (targets.length !== 1 || !m?.[1] || !m[2]) {
    throw new TypeError(`worker pool targets: use either host:port entries or one dns:///name:port, got ${targets.join(', ')}`);
  }
  return { kind: 'dns', host: m[1], port: Number(m[2]) };
}

/** What the pool keeps per worker. */
interface WorkerState {
  /** Timeouts or worker errors in a row. */
  failures: number;
  /** Ejections in a row without a success between (each doubles the next one's length). */
  ejections: number;
  /** Epoch ms until which the worker is skipped (0: not ejected). */
  ejectedUntil: number;
  /** Epoch ms at which it turned SERVING again (slow start); undefined when not ramping. */
  servingSince: number | undefined;
  /** Health status last seen. */
  status: ServingStatus;
  /** Whether it has answered a health watch yet (a first SERVING is no comeback). */
  seen: boolean;
}

/** A pool over the service kit's health-following endpoint pool, with ejection and slow start (fallback-policy.ts, EJECTION). */
class KitWorkerPool implements WorkerPool {
  private readonly states = new Map<string, WorkerState>();
  /** Per worker address: computesOnCpuWith answers by question. */
  private readonly probes = new Map<string, Map<string, CpuProbe>>();
  /** Every computesOnCpuWith question asked so far: a worker that turns SERVING is asked them at once (followHealth). */
  private readonly questions = new Map<string, [ModelRef, ModelRef]>();
  /** Per worker address: its ModelStreamInfer client, opened on first use (inferStreams). */
  private readonly streams = new Map<string, InferStream>();
  private readonly offChange: () => void;

  constructor(
    readonly name: string,
    private readonly pool: EndpointPool<GRPCInferenceServiceClient> | undefined,
    private readonly ejectMs: number,
    private readonly logger: Logger | undefined,
    private readonly streamOptions: { metrics?: RpcMetrics } | undefined,
  ) {
    this.offChange = pool?.onChange(() => this.followHealth()) ?? (() => undefined);
    this.followHealth();
  }

  pick(exclude?: ReadonlySet<string>, options: { includeSkipped?: boolean } = {}): WorkerEndpoint | undefined {
    if (!this.pool) return undefined;
    const now = Date.now();
    const serving = this.pool.endpoints().filter((e) => e.status === ServingStatus.SERVING).length;
    let skipped: { endpoint: WorkerEndpoint; until: number } | undefined;
    let ramping: WorkerEndpoint | undefined;
    for (let i = 0; i < serving; i++) {
      let picked: { address: string; client: GRPCInferenceServiceClient };
      try {
        picked = this.pool.pick();
      } catch {
        return undefined;
      }
      if (exclude?.has(picked.address)) continue;
      const st = this.states.get(picked.address);
      const until = st?.ejectedUntil ?? 0;
      if (until > now) {
        if (!skipped || until < skipped.until) skipped = { endpoint: picked, until };
        continue;
      }
      // Slow start: a worker that just turned SERVING takes a growing share; it is still picked when no other is left.
      const weight = st?.servingSince !== undefined ? slowStartWeight(now - st.servingSince) : 1;
      if (weight < 1 && Math.random() >= weight) {
        ramping ??= picked;
        continue;
      }
      return this.withStream(picked);
    }
    if (ramping) return this.withStream(ramping);
    return options.includeSkipped && skipped ? this.withStream(skipped.endpoint) : undefined;
  }

  /** The endpoint with its stream client (opened here on first use) when the pool streams. */
  private withStream(e: WorkerEndpoint): WorkerEndpoint {
    if (!this.streamOptions) return e;
    let stream = this.streams.get(e.address);
    if (!stream) this.streams.set(e.address, (stream = inferStreamClient(e.client, { target: e.address, ...this.streamOptions })));
    return { address: e.address, client: e.client, stream };
  }

  reportFailure(address: string, kind: EjectionKind = 'now'): void {
    // A failed call may mean the worker changed (a model unloaded, a restart): ask it again.
    this.probes.delete(address);
    const st = this.stateOf(address);
    const now = Date.now();
    if (kind === 'consecutive') {
      st.failures++;
      if (st.failures < EJECTION.consecutiveFailures) return;
      // A worker ramping up after turning SERVING may be slow at first: it is not ejected for that.
      if (st.servingSince !== undefined && now - st.servingSince < EJECTION.slowStartMs) return;
    }
    if (st.ejectedUntil > now) return;
    const size = this.pool?.endpoints().length ?? 0;
    const out = [...this.states.values()].filter((s) => s !== st && s.ejectedUntil > now).length;
    if (out >= maxEjected(size)) {
      this.logger?.warn({ pool: this.name, address, ejected: out, size }, 'worker not ejected: the most of the pool that may be out at once already is');
      return;
    }
    st.ejections++;
    st.failures = 0;
    const ms = ejectionMs(st.ejections, this.ejectMs);
    st.ejectedUntil = now + ms;
    this.logger?.warn({ pool: this.name, address, kind, ms, ejections: st.ejections }, 'worker ejected');
  }

  reportSuccess(address: string): void {
    const st = this.states.get(address);
    if (st) {
      st.failures = 0;
      st.ejections = 0;
    }
  }

  healthyCount(): number {
    if (!this.pool) return 0;
    const now = Date.now();
    return this.pool.endpoints().filter((e) => e.status === ServingStatus.SERVING && (this.states.get(e.address)?.ejectedUntil ?? 0) <= now).length;
  }

  servingCount(): number {
    return this.pool ? this.pool.endpoints().filter((e) => e.status === ServingStatus.SERVING).length : 0;
  }

  computesOnCpuWith(first: ModelRef, then: ModelRef): boolean {
    if (!this.pool) return false;
    const question = `${first.name}/${first.version} > ${then.name}/${then.version}`;
    if (!this.questions.has(question) && this.questions.size < 16) this.questions.set(question, [first, then]);
    const now = Date.now();
    let all = true;
    let serving = 0;
    for (const e of this.pool.endpoints()) {
      if (e.status !== ServingStatus.SERVING) continue;
      serving++;
      let asked = this.probes.get(e.address);
      if (!asked) this.probes.set(e.address, (asked = new Map()));
      const probe = asked.get(question);
      const client = this.pool.clientOf(e.address);
      if (client && (!probe || (probe.yes === false && now >= probe.askAgainAt))) {
        this.ask({ address: e.address, client }, question, first, then, asked);
        all = false;
      } else if (probe?.yes !== true) all = false;
    }
    return all && serving > 0;
  }

  /** Asks worker `e` whether it runs `first` on CPU and has `then` ready; the answer lands in `asked`. */
  private ask(e: WorkerEndpoint, question: string, first: ModelRef, then: ModelRef, asked: Map<string, CpuProbe>): void {
    const probe: CpuProbe = { yes: undefined, askAgainAt: Infinity };
    asked.set(question, probe);
    const opts = { timeoutMs: PROBE_TIMEOUT_MS, retry: false as const };
    void Promise.all([
      callUnary(e.client.modelMetadata.bind(e.client), ModelMetadataRequest.fromPartial(first), opts),
      callUnary(e.client.modelReady.bind(e.client), ModelReadyRequest.fromPartial(then), opts),
    ]).then(
      ([meta, ready]) => {
        probe.yes = meta.platform.endsWith('/cpu') && ready.ready;
        probe.askAgainAt = Date.now() + PROBE_NO_MS;
        this.logger?.info({ pool: this.name, address: e.address, platform: meta.platform, [`${then.name}Ready`]: ready.ready, chainsOnCpu: probe.yes }, 'worker compute probed');
      },
      (err: unknown) => {
        probe.yes = false;
        probe.askAgainAt = Date.now() + PROBE_NO_MS;
        this.logger?.debug({ pool: this.name, address: e.address, err }, 'worker compute probe failed');
      },
    );
  }

  private stateOf(address: string): WorkerState {
    let st = this.states.get(address);
    if (!st) this.states.set(address, (st = { failures: 0, ejections: 0, ejectedUntil: 0, servingSince: undefined, status: ServingStatus.UNKNOWN, seen: false }));
    return st;
  }

  /**
   * A worker that turns SERVING returns at once (its ejection ends); one that
   * had answered before (NOT_SERVING while it loaded, or a restart) ramps up.
   */
  private followHealth(): void {
    if (!this.pool) return;
    const now = Date.now();
    const endpoints = this.pool.endpoints();
    // A worker that left the pool (a DNS answer without it): its stream goes with its channel.
    for (const [address, stream] of this.streams) {
      if (!endpoints.some((e) => e.address === address)) {
        stream.close();
        this.streams.delete(address);
      }
    }
    for (const e of endpoints) {
      const st = this.stateOf(e.address);
      if (e.status === ServingStatus.SERVING && st.status !== ServingStatus.SERVING) {
        // Turned SERVING (first time, or after a restart or a reload): what it computes on may have changed.
        this.probes.delete(e.address);
        st.ejectedUntil = 0;
        st.failures = 0;
        st.servingSince = st.seen ? now : undefined;
      } else if (e.status !== ServingStatus.SERVING) {
        st.servingSince = undefined;
      }
      if (e.status !== ServingStatus.UNKNOWN) st.seen = true;
      st.status = e.status;
    }
    // Ask every question asked so far of the workers that have no answer (those that just turned SERVING).
    for (const [first, then] of this.questions.values()) this.computesOnCpuWith(first, then);
  }

  /** Resolves once some worker is SERVING (or the pool is empty), or after `ms`. */
  async waitForServing(ms: number): Promise<void> {
    const pool = this.pool;
    if (!pool) return;
    const serving = (): boolean => pool.endpoints().some((e) => e.status === ServingStatus.SERVING);
    if (serving()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const off = pool.onChange(() => {
        if (serving()) done();
      });
      function done(): void {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  }

  close(): void {
    this.offChange();
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
    this.pool?.close();
  }
}

/**
 * Creates a worker pool that follows each worker's grpc.health.v1 status (an
 * empty target list gives a pool that never has a worker), and waits up to
 * `startupWaitMs` for a first SERVING worker so early requests are not degraded.
 */
export async function createWorkerPool(name: string, targets: readonly string[], startupWaitMs: number, options: WorkerPoolOptions = {}): Promise<WorkerPool> {
  const { ejectMs, logger, inferStreams, ...connect } = options;
  const pool =
    targets.length === 0
      ? undefined
      : await EndpointPool.create({
          ...connect,
          client: GRPCInferenceServiceRawClient,
          healthService: '',
          source: poolSource(targets),
          ...(logger ? { logger: logger.child({ pool: name }) } : {}),
        });
  const streams = (inferStreams ?? true) ? (connect.metrics ? { metrics: connect.metrics } : {}) : undefined;
  const p = new KitWorkerPool(name, pool, ejectMs ?? EJECTION.baseMs, logger, streams);
  await p.waitForServing(startupWaitMs);
  return p;
}
