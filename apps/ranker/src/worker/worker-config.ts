import { resolve } from 'node:path';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '@pinrank/contracts';
import { type InferenceWorkerOptions, type VersionPolicy, type WatchMode } from '@pinrank/inference';
import { readConfig, vars, type ConfigOf, type ConfigVar } from '@pinrank/service-kit';

/** The two worker roles. */
export type WorkerRole = 'gpu' | 'cpu';

/**
 * Per-role defaults. A gpu worker serves gpu-placement models and keeps few
 * host threads (the device does the work); a cpu worker also serves the
 * gpu-placement models as the router's declared fallback and gives ONNX
 * Runtime every core (intra-op 0 = one thread per core). A gpu worker tries
 * each model config's execution providers in order; a cpu worker runs on the
 * CPU provider only, so it never probes for devices it is not meant to use
 * (each failed probe costs start-up time and logs native warnings).
 */
export const WORKER_ROLE_DEFAULTS: Readonly<
  Record<WorkerRole, { placements: string[]; intraOpThreads: number; interOpThreads: number; executionProviders: ExecutionProvider[] | undefined }>
> = {
  gpu: { placements: ['gpu'], intraOpThreads: 2, interOpThreads: 1, executionProviders: undefined },
  cpu: { placements: ['cpu', 'gpu'], intraOpThreads: 0, interOpThreads: 1, executionProviders: ['cpu'] },
};

/** Parses RANKER_VERSION_POLICY: "latest:N" or "versions:v1,v2". */
export function parseVersionPolicy(raw: string): VersionPolicy {
  const latest = /^latest:(\d+)$/.exec(raw);
  if (latest) {
    const n = Number(latest[1]);
    if (n >= 1 && n <= 100) return { latest: n };
  }
  const named = /^versions:(.+)$/.exec(raw);
  if (named?.[1]) {
    const versions = named[1].split(',').map((v) => v.trim()).filter(Boolean);
    if (versions.length > 0) return { versions };
  }
  throw new Error('expected latest:N (1..100) or versions:v1,v2');
}

const versionPolicyVar: ConfigVar<VersionPolicy> = {
  variable: 'RANKER_VERSION_POLICY',
  allowed: 'latest:N or versions:v1,v2',
  parse: (raw) => (raw === undefined || raw.trim() === '' ? { latest: 1 } : parseVersionPolicy(raw.trim())),
};

function subsetVar<V extends string>(variable: string, values: readonly V[], fallback: readonly V[] | undefined): ConfigVar<V[] | undefined> {
  return {
    variable,
    allowed: `a comma-separated list of ${values.join(', ')}`,
    parse: (raw) => {
      if (raw === undefined || raw.trim() === '') return fallback ? [...fallback] : undefined;
      const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = items.filter((i) => !values.includes(i as V));
      if (bad.length > 0 || items.length === 0) throw new Error(`expected a comma-separated list of ${values.join(', ')}`);
      return items as V[];
    },
  };
}

const warmupSizesVar: ConfigVar<number[] | undefined> = {
  variable: 'RANKER_WARMUP_BATCH_SIZES',
  allowed: 'a comma-separated list of batch sizes (integers >= 1), e.g. 1,128',
  parse: (raw) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    const sizes = raw.split(',').map((x) => Number(x.trim()));
    if (sizes.length > 16 || sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('expected up to 16 comma-separated integers >= 1');
    return sizes;
  },
};

/** The worker's configuration variables for a role (each also a --kebab-case flag). */
export function workerVars(role: WorkerRole) {
  const d = WORKER_ROLE_DEFAULTS[role];
  return {
    repository: vars.string('RANKER_MODEL_REPOSITORY', 'models'),
    models: vars.list('RANKER_MODELS', []),
    placements: subsetVar('RANKER_PLACEMENTS', ['gpu', 'cpu'] as const, d.placements as Array<'gpu' | 'cpu'>),
    versionPolicy: versionPolicyVar,
    executionProviders: subsetVar('RANKER_EXECUTION_PROVIDERS', EXECUTION_PROVIDERS, d.executionProviders),
    intraOpThreads: vars.int('RANKER_INTRA_OP_THREADS', d.intraOpThreads, { min: 0, max: 256 }),
    interOpThreads: vars.int('RANKER_INTER_OP_THREADS', d.interOpThreads, { min: 0, max: 256 }),
    spinning: vars.bool('RANKER_INTRA_OP_SPINNING', false),
    memoryArena: vars.bool('RANKER_MEMORY_ARENA', true),
    sessionThreads: vars.bool('RANKER_SESSION_THREADS', false),
    batching: vars.bool('RANKER_BATCHING', true),
    maxConcurrentBatches: vars.int('RANKER_MAX_CONCURRENT_BATCHES', 1, { min: 1, max: 64 }),
    dispatchWhenIdle: vars.bool('RANKER_DISPATCH_WHEN_IDLE', true),
    newestFirstWhenStanding: vars.bool('RANKER_NEWEST_FIRST_WHEN_STANDING', true),
    maxBatchSize: vars.optional(vars.int('RANKER_MAX_BATCH_SIZE', undefined, { min: 1 })),
    warmup: vars.bool('RANKER_WARMUP', true),
    warmupBatchSizes: warmupSizesVar,
    watch: vars.oneOf('RANKER_WATCH', ['poll', 'fs', 'off'] as const, 'poll'),
    watchIntervalMs: vars.int('RANKER_WATCH_INTERVAL_MS', 2000, { min: 10, max: 3_600_000 }),
    watchDebounceMs: vars.int('RANKER_WATCH_DEBOUNCE_MS', 500, { min: 0, max: 600_000 }),
  };
}

/** The worker's validated configuration. */
export type WorkerConfig = ConfigOf<ReturnType<typeof workerVars>>;

/** Reads the worker variables; throws ConfigError naming each bad one. */
export function readWorkerConfig(role: WorkerRole, env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): WorkerConfig {
  return readConfig(workerVars(role), env, argv);
}

/** Maps the worker configuration onto the inference library's options (address and server options come from the caller). */
export function workerModelOptions(c: WorkerConfig, cwd: string): Pick<InferenceWorkerOptions, 'repositoryRoot' | 'models' | 'watch'> {
  return {
    repositoryRoot: resolve(cwd, c.repository),
    models: {
      ...(c.models.length > 0 ? { models: c.models } : {}),
      ...(c.placements ? { placements: c.placements } : {}),
      ...(c.executionProviders ? { executionProviders: c.executionProviders as ExecutionProvider[] } : {}),
      versionPolicy: c.versionPolicy,
      intraOpThreads: c.intraOpThreads,
      interOpThreads: c.interOpThreads,
      spinning: c.spinning,
      memoryArena: c.memoryArena,
      sessionThreads: c.sessionThreads,
      batching: c.batching,
      maxConcurrentBatches: c.maxConcurrentBatches,
      dispatchWhenIdle: c.dispatchWhenIdle,
      newestFirstWhenStanding: c.newestFirstWhenStanding,
      ...(c.maxBatchSize !== undefined ? { maxBatchSizeCap: c.maxBatchSize } : {}),
      warmup: c.warmup,
      ...(c.warmupBatchSizes ? { warmupBatchSizes: c.warmupBatchSizes } : {}),
    },
    watch: { mode: c.watch as WatchMode, pollIntervalMs: c.watchIntervalMs, debounceMs: c.watchDebounceMs },
  };
}
