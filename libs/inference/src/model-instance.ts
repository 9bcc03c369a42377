import { readFile } from 'node:fs/promises';
import { type Logger } from 'pino';
import { type ExecutionProvider, type ModelConfig } from '@pinrank/contracts';
import { sessionContractProblems } from './contract-check';
import { DynamicBatcher, type BatchObserver } from './dynamic-batcher';
import { type TensorMap } from './host-tensor';
import { type VersionOnDisk } from './model-repository';
import { OrtModelSession, type ProviderFallback } from './ort-backend';
import { RequestLimits } from './request-limits';
import { gatherTables } from './value-domain';
import { perUserCompute } from './user-row-chunks';
import { warmupBatchSizes, warmupInputs } from './warmup';

/** How a version is loaded; filled by the model manager from its own options. */
export interface InstanceOptions {
  /** Overrides the config's executionProviders when set. */
  executionProviders: readonly ExecutionProvider[] | undefined;
  intraOpThreads: number;
  interOpThreads: number;
  /** Pool threads spin-wait between parallel sections (OrtSessionOptions.spinning). */
  spinning: boolean;
  /** ONNX Runtime's CPU memory arena (see OrtSessionOptions.memoryArena). */
  memoryArena: boolean;
  /** Each session in its own worker thread (OrtSessionOptions.thread). */
  sessionThreads: boolean;
  /** When false, every request runs alone (batching mode "none"). */
  batching: boolean;
  maxConcurrentBatches: number;
  /** See DynamicBatcherOptions.dispatchWhenIdle. */
  dispatchWhenIdle: boolean;
  /** See DynamicBatcherOptions.newestFirstWhenStanding. */
  newestFirstWhenStanding: boolean;
  /** Upper bound on the config's maxBatchSize (Infinity for none). */
  maxBatchSizeCap: number;
  /** On the cpu provider, user_rows batches run per user row in calls of at most this many candidate rows (0: off). */
  cpuUserRowChunk: number;
  /** Run the config's warm-up before the version reports ready. */
  warmup: boolean;
  /** Batch sizes to warm up at, replacing every config's (RANKER_WARMUP_BATCH_SIZES); undefined: the config's. */
  warmupBatchSizes: readonly number[] | undefined;
  now: () => number;
  observer: (provider: ExecutionProvider) => BatchObserver | undefined;
  logger: Logger | undefined;
}

/** A loaded, checked and warmed model version with its session and scheduler. */
export interface ModelInstance {
  readonly config: ModelConfig;
  readonly signature: string;
  readonly provider: ExecutionProvider;
  readonly fallbacks: readonly ProviderFallback[];
  readonly session: OrtModelSession;
  readonly scheduler: DynamicBatcher;
  /** Per-request bounds from the config and the graph, checked before a request joins a batch. */
  readonly limits: RequestLimits;
}

/**
 * Loads one version: reads its config, creates the session on the first
 * working provider, checks the session against the config, runs the warm-up
 * and checks its outputs too. Thrown by: any of those failing — the version
 * must then never become ready.
 */
export async function loadInstance(entry: VersionOnDisk, config: ModelConfig, o: InstanceOptions): Promise<ModelInstance> {
  const label = `${config.name}:${config.version}`;
  // Read the bytes first, so a file replaced mid-load cannot mix two versions.
  const bytes = await readFile(entry.modelPath);
  const session = await OrtModelSession.create(bytes, {
    label,
    executionProviders: o.executionProviders ?? config.executionProviders,
    intraOpThreads: o.intraOpThreads,
    interOpThreads: o.interOpThreads,
    spinning: o.spinning,
    memoryArena: o.memoryArena,
    thread: o.sessionThreads,
    logger: o.logger,
  });
  const maxBatchSize = Math.min(config.batching.maxBatchSize, o.maxBatchSizeCap);
  let limits: RequestLimits;
  try {
    const problems = sessionContractProblems(session.signature(), config);
    if (problems.length > 0) throw new Error(`contract check failed: ${problems.join('; ')}`);
    limits = RequestLimits.fromModel({ config, signature: session.signature(), tables: gatherTables(bytes), maxBatchSize });
    if (o.warmup) {
      // Ready means ready: every batch size the version will see first has run (kernels compiled, memory arena grown).
      const outputs = config.outputs.map((t) => t.name);
      const started = performance.now();
      const sizes = warmupBatchSizes(config, maxBatchSize, o.warmupBatchSizes);
      for (const size of sizes) {
        for (let run = 0; run < config.warmup.runs; run++) {
          const result = await session.run(warmupInputs(config, size), outputs);
          const wrong = outputProblems(result, config);
          if (wrong.length > 0) throw new Error(`warm-up outputs break the contract: ${wrong.join('; ')}`);
        }
      }
      o.logger?.info({ model: label, batchSizes: sizes, runs: config.warmup.runs, ms: Math.round(performance.now() - started) }, 'model version warmed up');
    }
  } catch (err) {
    await session.release();
    throw err;
  }
  // Batching off keeps the stacking layout (for row counts and index checks) but runs one request per batch.
  const batching = o.batching ? { ...config.batching, maxBatchSize } : { ...config.batching, maxBatchSize: 1, maxQueueDelayMs: 0 };
  const probeInputs = warmupInputs(config, 1);
  const layout = { mode: batching.mode, userInputs: batching.userInputs, indexInput: batching.indexInput };
  const run = (inputs: TensorMap): Promise<TensorMap> => session.run(inputs);
  // On a CPU a user_rows batch runs per user row anyway (perUserCompute): requests then run one by one, unstacked,
  // so none waits for the others' rows and nothing is copied twice.
  const perUser = session.provider === 'cpu' && o.cpuUserRowChunk > 0;
  const scheduler = new DynamicBatcher({
    label,
    compute: perUser ? perUserCompute(run, layout, o.cpuUserRowChunk) : run,
    stacking: !(perUser && layout.mode === 'user_rows'),
    layout,
    maxBatchSize: batching.maxBatchSize,
    maxQueueDelayMs: batching.maxQueueDelayMs,
    queueLimit: batching.queueLimit,
    maxConcurrentBatches: o.maxConcurrentBatches,
    dispatchWhenIdle: o.dispatchWhenIdle,
    newestFirstWhenStanding: o.newestFirstWhenStanding,
    now: o.now,
    observer: o.observer(session.provider),
    work: { of: (inputs) => limits.workOf(inputs), maxPerBatch: limits.maxWork },
    probe: async () => {
      await session.run(probeInputs);
      return true;
    },
  });
  return { config, signature: entry.signature, provider: session.provider, fallbacks: session.fallbacks, session, scheduler, limits };
}

function outputProblems(result: TensorMap, config: ModelConfig): string[] {
  const problems: string[] = [];
  for (const spec of config.outputs) {
    const t = result[spec.name];
    if (!t) problems.push(`output "${spec.name}" missing`);
    else if (t.dtype !== spec.dtype || t.dims.length !== spec.shape.length || spec.shape.some((d, k) => d !== -1 && t.dims[k] !== d)) {
      problems.push(`output "${spec.name}" is ${t.dtype} [${t.dims.join(',')}], config says ${spec.dtype} [${spec.shape.join(',')}]`);
    }
  }
  return problems;
}

/** Stops an instance: drains its queue and in-flight batches, then frees the session. */
export async function unloadInstance(instance: ModelInstance): Promise<void> {
  await instance.scheduler.stop();
  await instance.session.release();
}
