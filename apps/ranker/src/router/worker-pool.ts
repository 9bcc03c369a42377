import { GRPCInferenceServiceClient, HealthCheckResponse_ServingStatus as ServingStatus } from '@pinrank/proto';
import { EndpointPool, type ClientConnectOptions, type EndpointSource } from '@pinrank/service-kit';
import { type Logger } from 'pino';
import { EJECTION, ejectionMs, type EjectionKind } from './fallback-policy';

/** One worker of a pool and its Open Inference Protocol client. */
export interface WorkerEndpoint {
  /** The worker's address. */
  readonly address: string;
  readonly client: GRPCInferenceServiceClient;
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
   * A call to this worker failed (unavailable, or it did not answer within its
   * attempt's share of the deadline): skip it for a while even if its health
   * still says SERVING; repeated failures and timeouts skip it longer
   * (fallback-policy.ts, EJECTION).
   */
  reportFailure(address: string, kind?: EjectionKind): void;
  /** A call to this worker succeeded: its failure count starts again. */
  reportSuccess(address: string): void;
  /** Closes watches and channels. */
  close(): void;
}

/** Options of {@link createWorkerPool}. */
export interface WorkerPoolOptions extends ClientConnectOptions {
  /** How long a worker reported as failed is first skipped; default EJECTION.baseMs (1000 ms). */
  ejectMs?: number;
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

/** A pool over the service kit's health-following endpoint pool. */
class KitWorkerPool implements WorkerPool {
  private readonly ejected = new Map<string, number>();
  private readonly strikes = new Map<string, number>();

  constructor(
    readonly name: string,
    private readonly pool: EndpointPool<GRPCInferenceServiceClient> | undefined,
    private readonly ejectMs: number,
  ) {}

  pick(exclude?: ReadonlySet<string>, options: { includeSkipped?: boolean } = {}): WorkerEndpoint | undefined {
    if (!this.pool) return undefined;
    const now = Date.now();
    const serving = this.pool.endpoints().filter((e) => e.status === ServingStatus.SERVING).length;
    let skipped: { endpoint: WorkerEndpoint; until: number } | undefined;
    for (let i = 0; i < serving; i++) {
      let picked: { address: string; client: GRPCInferenceServiceClient };
      try {
        picked = this.pool.pick();
      } catch {
        return undefined;
      }
      if (exclude?.has(picked.address)) continue;
      const until = this.ejected.get(picked.address) ?? 0;
      if (until > now) {
        if (!skipped || until < skipped.until) skipped = { endpoint: picked, until };
        continue;
      }
      return picked;
    }
    return options.includeSkipped ? skipped?.endpoint : undefined;
  }

  reportFailure(address: string, kind: EjectionKind = 'unavailable'): void {
    const strikes = (this.strikes.get(address) ?? 0) + EJECTION.strikes[kind];
    this.strikes.set(address, strikes);
    this.ejected.set(address, Date.now() + ejectionMs(strikes, this.ejectMs));
  }

  reportSuccess(address: string): void {
    if (this.strikes.has(address)) this.strikes.delete(address);
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
    this.pool?.close();
  }
}

/**
 * Creates a worker pool that follows each worker's grpc.health.v1 status (an
 * empty target list gives a pool that never has a worker), and waits up to
 * `startupWaitMs` for a first SERVING worker so early requests are not degraded.
 */
export async function createWorkerPool(name: string, targets: readonly string[], startupWaitMs: number, options: WorkerPoolOptions = {}): Promise<WorkerPool> {
  const { ejectMs, logger, ...connect } = options;
  const pool =
    targets.length === 0
      ? undefined
      : await EndpointPool.create({
          ...connect,
          client: GRPCInferenceServiceClient,
          healthService: '',
          source: poolSource(targets),
          ...(logger ? { logger: logger.child({ pool: name }) } : {}),
        });
  const p = new KitWorkerPool(name, pool, ejectMs ?? EJECTION.baseMs);
  await p.waitForServing(startupWaitMs);
  return p;
}
