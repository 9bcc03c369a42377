import { natsSecurityFromConfig, natsSecurityVars } from '@pinrank/nats';
import { ConfigError, readConfig, vars, type ConfigOf, type ConfigVar } from '@pinrank/service-kit';
import { type RequestLogOptions, type RouterOptions } from './router-options';

function custom<T>(variable: string, allowed: string, parse: (raw: string) => T): ConfigVar<T | undefined> {
  return {
    variable,
    allowed,
    parse: (raw) => (raw === undefined || raw.trim() === '' ? undefined : parse(raw.trim())),
  };
}

/** "a=1,b=2" → { a: "1", b: "2" }. */
function parsePairs(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^=\s]+)\s*=\s*(\S+)$/.exec(part);
    if (!m?.[1] || !m[2]) throw new Error(`"${part}" is not name=value`);
    out[m[1]] = m[2];
  }
  return out;
}

const weightsVar = custom('RANKER_HEAD_WEIGHTS', 'head=weight pairs, e.g. save=1,click=0.3,hide=-2', (raw) => {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsePairs(raw))) {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`weight of "${k}" must be a number, got "${v}"`);
    out[k] = n;
  }
  return out;
});

const placementVar = custom('RANKER_PLACEMENT', 'model=gpu|cpu pairs, e.g. ranking_heads=gpu', (raw) => {
  const p = parsePairs(raw);
  for (const [k, v] of Object.entries(p)) if (v !== 'gpu' && v !== 'cpu') throw new Error(`placement of "${k}" must be gpu or cpu, got "${v}"`);
  return p as Record<string, 'gpu' | 'cpu'>;
});

const requestLogVar = custom<Omit<Extract<RequestLogOptions, { kind: 'file' }>, 'maxBytes' | 'maxFiles'> | Extract<RequestLogOptions, { kind: 'nats' }>>(
  'RANKER_REQUEST_LOG',
  'file:<path>, or nats://<host:port>/<subject> (tls://… with RANKER_NATS_TLS)',
  (raw) => {
    if (raw.startsWith('file:')) {
      const path = raw.slice('file:'.length);
      if (!path) throw new Error('file: needs a path');
      return { kind: 'file', path };
    }
    const m = /^((?:nats|tls):\/\/[^/]+)\/([A-Za-z0-9_.>*-]+)$/.exec(raw);
    if (!m?.[1] || !m[2]) throw new Error('expected file:<path>, or nats://<host:port>/<subject> (tls://… with RANKER_NATS_TLS)');
    return { kind: 'nats', servers: m[1], subject: m[2] };
  },
);

function parseJsonVar(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new Error(`not valid JSON: ${(err as Error).message}`);
  }
}

const experimentsInlineVar = custom('RANKER_EXPERIMENTS', 'JSON experiment configuration (docs/online-experiments.md); not reloaded', parseJsonVar);
const experimentLegacyVar = custom('RANKER_EXPERIMENT', 'JSON {"name":"...","arms":[{"name":"...","share":0.5,"headWeights":{...}}]} (one experiment; older form of RANKER_EXPERIMENTS)', parseJsonVar);

/** The router's configuration variables (each also a --kebab-case flag); the server's own address and TLS come from the app's server variables. */
export function routerVars() {
  const optInt = (variable: string, min: number, max?: number) => vars.optional(vars.int(variable, undefined, { min, ...(max !== undefined ? { max } : {}) }));
  return {
    featureServer: vars.string('RANKER_FEATURE_SERVER'),
    embeddingStore: vars.string('RANKER_EMBEDDING_STORE'),
    gpuWorkers: vars.list('RANKER_GPU_WORKERS', []),
    cpuWorkers: vars.list('RANKER_CPU_WORKERS', []),
    modelRepository: vars.optional(vars.string('RANKER_MODEL_REPOSITORY')),
    modelVersions: custom('RANKER_MODEL_VERSIONS', 'model=version pairs, e.g. transact_encoder=3', parsePairs),
    placementOverrides: placementVar,
    gpuFallback: vars.optional(vars.oneOf('RANKER_GPU_FALLBACK', ['cpu_encoder', 'lite', 'none'] as const)),
    chainModels: vars.optional(vars.bool('RANKER_CHAIN_MODELS')),
    autoChain: vars.optional(vars.bool('RANKER_AUTO_CHAIN')),
    snapshotMismatch: vars.optional(vars.oneOf('RANKER_SNAPSHOT_MISMATCH', ['flag', 'refuse'] as const)),
    unknownCandidates: vars.optional(vars.oneOf('RANKER_UNKNOWN_CANDIDATES', ['drop', 'refuse'] as const)),
    maxCandidates: optInt('RANKER_MAX_CANDIDATES', 1, 10_000),
    chunkSize: optInt('RANKER_CHUNK_SIZE', 1, 10_000),
    sequenceLength: optInt('RANKER_SEQUENCE_LENGTH', 1, 1000),
    headWeights: weightsVar,
    defaultDeadlineMs: optInt('RANKER_DEFAULT_DEADLINE_MS', 1),
    deadlineMarginMs: optInt('RANKER_DEADLINE_MARGIN_MS', 0),
    sequenceTimeoutMs: optInt('RANKER_SEQUENCE_TIMEOUT_MS', 1),
    embeddingsTimeoutMs: optInt('RANKER_EMBEDDINGS_TIMEOUT_MS', 1),
    lookupStreams: vars.optional(vars.bool('RANKER_LOOKUP_STREAMS')),
    inferStreams: vars.optional(vars.bool('RANKER_INFER_STREAMS')),
    vectorCacheItems: optInt('RANKER_VECTOR_CACHE_ITEMS', 0, 10_000_000),
    vectorCacheUsers: optInt('RANKER_VECTOR_CACHE_USERS', 0, 10_000_000),
    maxInferAttempts: optInt('RANKER_MAX_INFER_ATTEMPTS', 1, 10),
    recommendCandidates: optInt('RANKER_RECOMMEND_CANDIDATES', 1, 10_000),
    catalogPath: vars.optional(vars.file('RANKER_CATALOG_PATH')),
    popularityListSize: optInt('RANKER_POPULARITY_LIST_SIZE', 1, 100_000),
    sequenceMode: vars.optional(vars.oneOf('RANKER_SEQUENCE_MODE', ['dedup', 'per_candidate'] as const)),
    requestLog: requestLogVar,
    requestLogMaxBytes: optInt('RANKER_REQUEST_LOG_MAX_BYTES', 1024),
    requestLogMaxFiles: optInt('RANKER_REQUEST_LOG_MAX_FILES', 1, 1000),
    experimentsFile: vars.optional(vars.file('RANKER_EXPERIMENTS_FILE')),
    experimentsInline: experimentsInlineVar,
    experimentLegacy: experimentLegacyVar,
    experimentsReloadMs: optInt('RANKER_EXPERIMENTS_RELOAD_MS', 0, 3_600_000),
    startupHealthWaitMs: optInt('RANKER_STARTUP_HEALTH_WAIT_MS', 0, 600_000),
    admissionEnabled: vars.optional(vars.bool('RANKER_ADMISSION')),
    admissionInitialLimit: optInt('RANKER_ADMISSION_INITIAL_LIMIT', 1, 100_000),
    admissionMinLimit: optInt('RANKER_ADMISSION_MIN_LIMIT', 1, 100_000),
    admissionMaxLimit: optInt('RANKER_ADMISSION_MAX_LIMIT', 1, 100_000),
    admissionTolerance: vars.optional(vars.number('RANKER_ADMISSION_TOLERANCE', undefined, { min: 1, max: 100 })),
    admissionDeadlineFactor: vars.optional(vars.number('RANKER_ADMISSION_DEADLINE_FACTOR', undefined, { min: 0, max: 100 })),
    admissionQueueFactor: vars.optional(vars.number('RANKER_ADMISSION_QUEUE_FACTOR', undefined, { min: 0, max: 100 })),
    admissionGrowWhenSlow: vars.optional(vars.bool('RANKER_ADMISSION_GROW_WHEN_SLOW')),
    fallbackChunksPerWorker: optInt('RANKER_FALLBACK_CHUNKS_PER_WORKER', 1, 1000),
    // The request log's NATS connection; with RANKER_NATS_TLS it presents the router's own certificate.
    ...natsSecurityVars('RANKER'),
  } satisfies Record<string, ConfigVar<unknown>>;
}

/** The parsed router variables. */
export type RouterVarsConfig = ConfigOf<ReturnType<typeof routerVars>>;

/**
 * Router options from environment variables and flags (listed in the app
 * README, section Router), without the server's address and TLS (the app's
 * server variables). Thrown by: missing or malformed variables — a
 * ConfigError naming each one with its value and what is allowed.
 */
export function routerOptionsFromEnv(env: Readonly<Record<string, string | undefined>>, argv: readonly string[] = []): RouterOptions {
  const c = readConfig(routerVars(), env, argv);
  if (c.gpuWorkers.length === 0 && c.cpuWorkers.length === 0) {
    throw new ConfigError(['RANKER_GPU_WORKERS, RANKER_CPU_WORKERS: both empty; name at least one worker (host:port list or one dns:///name:port)']);
  }
  const {
    requestLog,
    requestLogMaxBytes,
    requestLogMaxFiles,
    experimentsFile,
    experimentsInline,
    experimentLegacy,
    experimentsReloadMs,
    admissionEnabled,
    admissionInitialLimit,
    admissionMinLimit,
    admissionMaxLimit,
    admissionTolerance,
    admissionDeadlineFactor,
    admissionQueueFactor,
    admissionGrowWhenSlow,
    natsTls,
    natsCaFile,
    natsCredsFile,
    natsUser,
    natsPasswordFile,
    ...rest
  } = c;
  // The router's own certificate and CA are its server variables (read by the app); here only their paths.
  const own = { tlsCertFile: env.PINRANK_TLS_CERT_FILE, tlsKeyFile: env.PINRANK_TLS_KEY_FILE, tlsCaFile: env.PINRANK_TLS_CA_FILE };
  const natsSecurity = natsSecurityFromConfig('RANKER', { natsTls, natsCaFile, natsCredsFile, natsUser, natsPasswordFile }, own);
  const o: RouterOptions = { featureServer: c.featureServer, embeddingStore: c.embeddingStore, gpuWorkers: c.gpuWorkers, cpuWorkers: c.cpuWorkers };
  for (const [key, value] of Object.entries(rest)) {
    if (value !== undefined) (o as unknown as Record<string, unknown>)[key] = value;
  }
  if (admissionEnabled === false) o.admission = false;
  else {
    const a = { initialLimit: admissionInitialLimit, minLimit: admissionMinLimit, maxLimit: admissionMaxLimit, tolerance: admissionTolerance, deadlineFactor: admissionDeadlineFactor, queueFactor: admissionQueueFactor, growWhenSlow: admissionGrowWhenSlow };
    const set = Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined));
    if (Object.keys(set).length > 0) o.admission = set;
  }
  if (requestLog?.kind === 'file') {
    o.requestLog = {
      ...requestLog,
      ...(requestLogMaxBytes !== undefined ? { maxBytes: requestLogMaxBytes } : {}),
      ...(requestLogMaxFiles !== undefined ? { maxFiles: requestLogMaxFiles } : {}),
    };
  } else if (requestLog) {
    o.requestLog = { ...requestLog, ...(Object.keys(natsSecurity).length > 0 ? { security: natsSecurity } : {}) };
  }
  const sources = [experimentsFile && 'RANKER_EXPERIMENTS_FILE', experimentsInline !== undefined && 'RANKER_EXPERIMENTS', experimentLegacy !== undefined && 'RANKER_EXPERIMENT'].filter(Boolean);
  if (sources.length > 1) throw new ConfigError([`${sources.join(', ')}: set only one source of experiments`]);
  if (experimentsFile) o.experiments = { kind: 'file', path: experimentsFile, ...(experimentsReloadMs !== undefined ? { reloadIntervalMs: experimentsReloadMs } : {}) };
  else if (experimentsInline !== undefined) o.experiments = { kind: 'inline', config: experimentsInline, label: 'RANKER_EXPERIMENTS' };
  else if (experimentLegacy !== undefined) o.experiments = { kind: 'inline', config: experimentLegacy, label: 'RANKER_EXPERIMENT' };
  return o;
}
