import { type NatsSecurity } from '@pinrank/nats';
import { type ClientConnectOptions, type ServerOptions } from '@pinrank/service-kit';
import { type Logger } from 'pino';
import { DEFAULT_FALLBACK_CHUNKS_PER_WORKER } from './fallback-policy';

/** What the router does when the pool named by the encoder's placement has no usable worker. */
export type GpuFallback = 'cpu_encoder' | 'lite' | 'none';
/** What the router does with a snapshot produced by a PinnerFormer version other than the one the models name. */
export type SnapshotMismatchPolicy = 'flag' | 'refuse';
/** What the router does with candidates that have no vector. */
export type UnknownCandidatePolicy = 'drop' | 'refuse';
/** How the realtime sequence travels to the encoder: once per chunk ([1,S]) or copied per candidate ([n,S]). */
export type SequenceMode = 'dedup' | 'per_candidate';

/** Where the experiment configuration comes from. */
export type ExperimentsSource =
  | {
      kind: 'file';
      /** A JSON file (docs/online-experiments.md); re-read when it changes. */
      path: string;
      /** How often the file is checked for changes; default 2000 ms (0 = only on ReloadExperiments). */
      reloadIntervalMs?: number;
    }
  | {
      kind: 'inline';
      /** The configuration object (parsed JSON); never reloaded. */
      config: unknown;
      /** How it is reported (default "inline"). */
      label?: string;
    };

/** Where the compact request log goes. */
export type RequestLogOptions =
  | {
      kind: 'file';
      /** JSON-lines file; rotated to `<path>.1`, `<path>.2`, ... */
      path: string;
      /** Rotate once the file reaches this size; default 64 MiB. */
      maxBytes?: number;
      /** Rotated files kept; default 5. */
      maxFiles?: number;
    }
  | {
      kind: 'nats';
      /** NATS server(s), e.g. "nats://127.0.0.1:4222" (or "tls://…"). */
      servers: string;
      /** Subject each entry is published on, e.g. "pinrank.ranker.requests". */
      subject: string;
      /** TLS and credentials of the connection (default: plaintext, none). */
      security?: NatsSecurity;
    };

/** Admission control at the router (admission.ts): `false` turns it off. */
export type AdmissionSettings =
  | false
  | {
      /** Limit before any latency is known; default 8. */
      initialLimit?: number;
      /** Lowest limit; default 2. */
      minLimit?: number;
      /** Highest limit; default 64. */
      maxLimit?: number;
      /** Latency over the no-load latency tolerated before the limit shrinks; default 1.5. */
      tolerance?: number;
      /** Refuse a request whose remaining deadline is below this multiple of the expected latency (0: never); default 1. */
      deadlineFactor?: number;
      /** Requests that may wait for a slot, as a multiple of the limit (0: none wait); default 0. */
      queueFactor?: number;
      /** Keep adding headroom while latency is above tolerance (holds the limit at 2 or more); false: above tolerance it only shrinks; default true. */
      growWhenSlow?: boolean;
    };

/** Model names the router uses; versions are pinned per name in `modelVersions` (default: the highest version on disk). */
export interface RouterModelNames {
  /** Default "transact_encoder". */
  encoder?: string;
  /** Default "ranking_heads". */
  heads?: string;
  /** Default "ranking_heads_lite". */
  lite?: string;
}

/** Options of {@link startRouter}; defaults are filled in one place, {@link withRouterDefaults}. */
export interface RouterOptions {
  /** host:port the Ranker API binds; default "127.0.0.1:50050" (port 0 picks a free one). */
  address?: string;
  /** feature-server target (host:port or dns:///name:port). Required. */
  featureServer: string;
  /** embedding-store target. Required. */
  embeddingStore: string;
  /** Workers of the GPU pool (targets); may be empty. */
  gpuWorkers: readonly string[];
  /** Workers of the CPU pool (targets); may be empty. */
  cpuWorkers: readonly string[];
  /** Model repository holding `<model>/<version>/config.json`; default "models". */
  modelRepository?: string;
  /** Model names; defaults in {@link RouterModelNames}. */
  models?: RouterModelNames;
  /** Pinned model versions by name; default the highest version directory of each model. */
  modelVersions?: Record<string, string>;
  /** Placement per model name, overriding the config's `placement` (e.g. run heads on the GPU pool). */
  placementOverrides?: Record<string, 'gpu' | 'cpu'>;
  /** Fallback when the encoder's pool is gone; default "cpu_encoder". */
  gpuFallback?: GpuFallback;
  /** When the encoder and the heads are placed in one pool, run them as one chained ModelInfer on one worker; default true. */
  chainModels?: boolean;
  /**
   * Also chain them on the GPU pool when its workers compute on a CPU (no GPU found; ModelMetadata's
   * platform ends in "/cpu") and have the heads loaded, although the heads are placed on the CPU pool;
   * default true. A GPU pool without the heads, or on a GPU, keeps the split.
   */
  autoChain?: boolean;
  /** Snapshot from another PinnerFormer version: flag it (default) or refuse with FAILED_PRECONDITION. */
  snapshotMismatch?: SnapshotMismatchPolicy;
  /** Unknown candidates: drop and list them (default) or refuse with INVALID_ARGUMENT. */
  unknownCandidates?: UnknownCandidatePolicy;
  /** Most candidates per Rank request; default 1000. */
  maxCandidates?: number;
  /** Candidates per ModelInfer call; default {@link DEFAULT_CHUNK_SIZE}. */
  chunkSize?: number;
  /** Sequence length S asked of the feature-server; default 100. */
  sequenceLength?: number;
  /** Default utility weights per head; default { save: 1, click: 0.3, hide: -2 }. */
  headWeights?: Record<string, number>;
  /** Deadline of a request whose caller set none; default 1000 ms. */
  defaultDeadlineMs?: number;
  /** Time kept back from every outgoing call's deadline for the router's own work; default 5 ms. */
  deadlineMarginMs?: number;
  /** Longest wait for the realtime sequence (then an empty one is used, flagged); default 100 ms. */
  sequenceTimeoutMs?: number;
  /** Longest wait for each embedding lookup; default 200 ms. */
  embeddingsTimeoutMs?: number;
  /**
   * Send the sequence and embedding lookups as messages on one open stream per
   * upstream (StreamRealtimeSequences, StreamEmbeddings) rather than a unary call
   * each; a lookup the stream cannot carry goes as the unary call. Default true.
   */
  lookupStreams?: boolean;
  /**
   * Send each ModelInfer as a message on one open ModelStreamInfer call per
   * worker rather than a unary call; a call the stream cannot carry (down, or
   * 16 in flight on it) goes as the unary call. Default true.
   */
  inferStreams?: boolean;
  /** Items whose content and tower vectors the router keeps to answer from while the embedding-store is down (vector-cache.ts); default 50 000, 0 turns the cache off. */
  vectorCacheItems?: number;
  /** Users' vectors kept per snapshot for the same purpose; default 50 000. */
  vectorCacheUsers?: number;
  /** Calls tried on different workers of a pool before it counts as gone; default 2. */
  maxInferAttempts?: number;
  /** Adaptive concurrency limit and deadline check on incoming requests; default on with the defaults of admission.ts. */
  admission?: AdmissionSettings;
  /** Encoder chunks the fallback (CPU) pool runs at once per healthy worker; more wait briefly, then are refused RESOURCE_EXHAUSTED; default 4. */
  fallbackChunksPerWorker?: number;
  /** Candidates retrieved for Recommend when the request says 0; default 200 (at most maxCandidates). */
  recommendCandidates?: number;
  /** Item catalog file (kind item_content, extra field "popularity"): item popularity and the popularity list. */
  catalogPath?: string;
  /** Length of the popularity fallback list; default 1000. */
  popularityListSize?: number;
  /** Sequence transport; default "dedup". "per_candidate" exists to measure what de-duplication saves. */
  sequenceMode?: SequenceMode;
  /** The compact request log; default none. */
  requestLog?: RequestLogOptions;
  /** Online experiments (arms over model versions, scorer, head weights, snapshot); default none. */
  experiments?: ExperimentsSource;
  /** How long start-up waits for each worker pool to report a SERVING worker; default 2000 ms. */
  startupHealthWaitMs?: number;
  /** TLS and channel options of the router's outgoing clients (workers, feature-server, embedding-store). */
  clients?: Pick<ClientConnectOptions, 'tls' | 'channelOptions'>;
  /** Logger; default the server's. */
  logger?: Logger;
  /** Passed through to the service kit's `startServer` (TLS, admin, metrics address, drain, tracer, reflection...). */
  server?: Omit<ServerOptions, 'name' | 'services' | 'address' | 'logger' | 'metrics' | 'onShutdown'>;
  /** Runs after the router has stopped and closed its clients (flush telemetry). */
  onShutdown?: () => Promise<void> | void;
}

/** RouterOptions with every default filled in. */
export interface ResolvedRouterOptions {
  address: string;
  featureServer: string;
  embeddingStore: string;
  gpuWorkers: readonly string[];
  cpuWorkers: readonly string[];
  modelRepository: string;
  models: Required<RouterModelNames>;
  modelVersions: Record<string, string>;
  placementOverrides: Record<string, 'gpu' | 'cpu'>;
  gpuFallback: GpuFallback;
  chainModels: boolean;
  autoChain: boolean;
  snapshotMismatch: SnapshotMismatchPolicy;
  unknownCandidates: UnknownCandidatePolicy;
  maxCandidates: number;
  chunkSize: number;
  sequenceLength: number;
  headWeights: Record<string, number>;
  defaultDeadlineMs: number;
  deadlineMarginMs: number;
  sequenceTimeoutMs: number;
  embeddingsTimeoutMs: number;
  lookupStreams: boolean;
  inferStreams: boolean;
  vectorCacheItems: number;
  vectorCacheUsers: number;
  maxInferAttempts: number;
  admission: AdmissionSettings;
  fallbackChunksPerWorker: number;
  recommendCandidates: number;
  catalogPath: string | undefined;
  popularityListSize: number;
  sequenceMode: SequenceMode;
  requestLog: RequestLogOptions | undefined;
  experiments: ExperimentsSource | undefined;
  startupHealthWaitMs: number;
  clients: NonNullable<RouterOptions['clients']>;
  logger: Logger | undefined;
  server: NonNullable<RouterOptions['server']>;
  onShutdown: RouterOptions['onShutdown'];
}

/**
 * Candidates per ModelInfer call by default. One call per 512 candidates: at
 * 500 candidates the workers spend a quarter less CPU than with chunks of 128
 * (the user's per-call work runs once, not four times; a CPU worker cuts a
 * large call into cache-sized runs itself), at the price of spreading one
 * request over fewer workers of an idle pool (docs/benchmarks.md, router).
 */
export const DEFAULT_CHUNK_SIZE = 512;

/** Default utility weights: saves count, clicks a little, hides strongly against. */
export const DEFAULT_HEAD_WEIGHTS: Readonly<Record<string, number>> = Object.freeze({ save: 1, click: 0.3, hide: -2 });

function intIn(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`router: ${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

function oneOf<T extends string>(name: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) throw new TypeError(`router: ${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value;
}

function finiteWeights(name: string, weights: Record<string, number>): Record<string, number> {
  for (const [head, w] of Object.entries(weights)) {
    if (!head) throw new TypeError(`router: ${name} has an empty head name`);
    if (!Number.isFinite(w)) throw new TypeError(`router: ${name}.${head} must be a finite number, got ${w}`);
  }
  return { ...weights };
}

function checkExperimentsSource(e: ExperimentsSource | undefined): ExperimentsSource | undefined {
  if (e?.kind === 'file') {
    if (!e.path) throw new TypeError('router: experiments.path is required');
    intIn('experiments.reloadIntervalMs', e.reloadIntervalMs ?? 2000, 0, 3_600_000);
  }
  return e;
}

/** Fills the defaults of RouterOptions and validates them; throws TypeError naming the bad option. */
export function withRouterDefaults(o: RouterOptions): ResolvedRouterOptions {
  if (!o.featureServer) throw new TypeError('router: featureServer is required');
  if (!o.embeddingStore) throw new TypeError('router: embeddingStore is required');
  if (o.gpuWorkers.length === 0 && o.cpuWorkers.length === 0) throw new TypeError('router: gpuWorkers and cpuWorkers are both empty; name at least one worker');
  const requestLog = o.requestLog;
  if (requestLog?.kind === 'file') {
    if (!requestLog.path) throw new TypeError('router: requestLog.path is required');
    intIn('requestLog.maxBytes', requestLog.maxBytes ?? 64 * 1024 * 1024, 1024);
    intIn('requestLog.maxFiles', requestLog.maxFiles ?? 5, 1, 1000);
  } else if (requestLog?.kind === 'nats') {
    if (!requestLog.servers || !requestLog.subject) throw new TypeError('router: requestLog needs servers and subject for kind "nats"');
  }
  const maxCandidates = intIn('maxCandidates', o.maxCandidates ?? 1000, 1, 10_000);
  return {
    address: o.address ?? '127.0.0.1:50050',
    featureServer: o.featureServer,
    embeddingStore: o.embeddingStore,
    gpuWorkers: [...o.gpuWorkers],
    cpuWorkers: [...o.cpuWorkers],
    modelRepository: o.modelRepository ?? 'models',
    models: {
      encoder: o.models?.encoder ?? 'transact_encoder',
      heads: o.models?.heads ?? 'ranking_heads',
      lite: o.models?.lite ?? 'ranking_heads_lite',
    },
    modelVersions: { ...(o.modelVersions ?? {}) },
    placementOverrides: { ...(o.placementOverrides ?? {}) },
    gpuFallback: oneOf('gpuFallback', o.gpuFallback ?? 'cpu_encoder', ['cpu_encoder', 'lite', 'none']),
    chainModels: o.chainModels ?? true,
    autoChain: o.autoChain ?? true,
    snapshotMismatch: oneOf('snapshotMismatch', o.snapshotMismatch ?? 'flag', ['flag', 'refuse']),
    unknownCandidates: oneOf('unknownCandidates', o.unknownCandidates ?? 'drop', ['drop', 'refuse']),
    maxCandidates,
    chunkSize: intIn('chunkSize', o.chunkSize ?? DEFAULT_CHUNK_SIZE, 1, 10_000),
    sequenceLength: intIn('sequenceLength', o.sequenceLength ?? 100, 1, 1000),
    headWeights: finiteWeights('headWeights', o.headWeights ?? DEFAULT_HEAD_WEIGHTS),
    defaultDeadlineMs: intIn('defaultDeadlineMs', o.defaultDeadlineMs ?? 1000, 1),
    deadlineMarginMs: intIn('deadlineMarginMs', o.deadlineMarginMs ?? 5, 0),
    sequenceTimeoutMs: intIn('sequenceTimeoutMs', o.sequenceTimeoutMs ?? 100, 1),
    embeddingsTimeoutMs: intIn('embeddingsTimeoutMs', o.embeddingsTimeoutMs ?? 200, 1),
    lookupStreams: o.lookupStreams ?? true,
    inferStreams: o.inferStreams ?? true,
    vectorCacheItems: intIn('vectorCacheItems', o.vectorCacheItems ?? 50_000, 0, 10_000_000),
    vectorCacheUsers: intIn('vectorCacheUsers', o.vectorCacheUsers ?? 50_000, 0, 10_000_000),
    maxInferAttempts: intIn('maxInferAttempts', o.maxInferAttempts ?? 2, 1, 10),
    admission: o.admission === false ? false : { ...(o.admission ?? {}) },
    fallbackChunksPerWorker: intIn('fallbackChunksPerWorker', o.fallbackChunksPerWorker ?? DEFAULT_FALLBACK_CHUNKS_PER_WORKER, 1, 1000),
    recommendCandidates: intIn('recommendCandidates', o.recommendCandidates ?? Math.min(200, maxCandidates), 1, maxCandidates),
    catalogPath: o.catalogPath,
    popularityListSize: intIn('popularityListSize', o.popularityListSize ?? 1000, 1, 100_000),
    sequenceMode: oneOf('sequenceMode', o.sequenceMode ?? 'dedup', ['dedup', 'per_candidate']),
    requestLog,
    experiments: checkExperimentsSource(o.experiments),
    startupHealthWaitMs: intIn('startupHealthWaitMs', o.startupHealthWaitMs ?? 2000, 0, 600_000),
    clients: { ...(o.clients ?? {}) },
    logger: o.logger,
    server: { ...(o.server ?? {}) },
    onShutdown: o.onShutdown,
  };
}
