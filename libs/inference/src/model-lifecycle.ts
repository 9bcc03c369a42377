import { type Logger } from 'pino';
import { PinrankError } from '@pinrank/service-kit';
import { type ExecutionProvider, type ModelConfig } from '@pinrank/contracts';
import { checkInputsAgainstConfig, resolveRequestedOutputs } from './contract-check';
import { type ScheduleOptions } from './dynamic-batcher';
import { type HostTensor, type TensorMap } from './host-tensor';
import { resolveIntraOpThreads } from './cpu-budget';
import { type InferenceMetrics } from './inference-metrics';
import { loadInstance, unloadInstance, type InstanceOptions, type ModelInstance } from './model-instance';
import { compareVersions, type VersionOnDisk } from './model-repository';

/** Default of `ModelLifecycleOptions.cpuUserRowChunk`: transact_encoder's cost per candidate is lowest at about 50–130 rows per call on a CPU (docs/benchmarks.md). */
export const DEFAULT_CPU_USER_ROW_CHUNK = 128;

/** Lifecycle state of one model version (the names RepositoryIndex reports). */
export type ModelState = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

/** One row of the repository index. */
export interface ModelStatus {
  name: string;
  version: string;
  state: ModelState;
  reason: string;
  /** The execution provider in use, when loaded. */
  provider?: ExecutionProvider;
}

/** The result of one inference: the version that served it and the requested outputs in order. */
export interface InferResult {
  version: string;
  outputs: Array<[string, HostTensor]>;
}

/** How versions are loaded and served; defaults are filled by the {@link ModelLifecycle} constructor. */
export interface ModelLifecycleOptions {
  /** Reads and validates a version's config (the repository's `readConfig`). Required. */
  readConfig: (entry: VersionOnDisk) => Promise<ModelConfig>;
  /** Placements served (the config's `placement`); a version of another placement is UNAVAILABLE here. Default both. */
  placements?: ReadonlyArray<ModelConfig['placement']>;
  /** Replaces every config's executionProviders list (e.g. ['cpu']); default use the config's. */
  executionProviders?: readonly ExecutionProvider[];
  /**
   * ONNX Runtime intra-op threads per session; default 0: the process's cgroup
   * CPU limit (a container's CPU limit) when it is below the CPUs it may run
   * on, else ONNX Runtime's default (one per physical core). See cpu-budget.ts.
   */
  intraOpThreads?: number;
  /** ONNX Runtime inter-op threads per session; default 0 (runtime default). */
  interOpThreads?: number;
  /** Let the sessions' pool threads spin-wait for work (ONNX Runtime's default); default false (OrtSessionOptions.spinning). */
  spinning?: boolean;
  /** Keep ONNX Runtime's CPU memory arena (faster; the largest batch's memory stays); default true. */
  memoryArena?: boolean;
  /** Dynamic batching as the configs say; false runs every request alone; default true. */
  batching?: boolean;
  /** Batches one version computes at once; default 1. */
  maxConcurrentBatches?: number;
  /** An idle model runs what is queued at once instead of waiting out maxQueueDelayMs (DynamicBatcherOptions.dispatchWhenIdle); default true. */
  dispatchWhenIdle?: boolean;
  /** Every session computes in its own worker thread (OrtSessionOptions.thread); default false. */
  sessionThreads?: boolean;
  /** A standing queue runs its newest requests first (DynamicBatcherOptions.newestFirstWhenStanding); default true. */
  newestFirstWhenStanding?: boolean;
  /** Caps every config's batching.maxBatchSize (e.g. smaller batches for a GPU model on a CPU worker); default no cap. */
  maxBatchSizeCap?: number;
  /**
   * On the cpu provider, a user_rows batch (stacked users) runs as one call per
   * user row of at most this many candidate rows (`perUserCompute`); 0 turns
   * it off. Default 128.
   */
  cpuUserRowChunk?: number;
  /** Warm up before ready; default true. */
  warmup?: boolean;
  /** Batch sizes every version is warmed at (each capped at its maxBatchSize), replacing the configs' `warmup.batchSizes`/`batchSize`; default the config's. */
  warmupBatchSizes?: readonly number[];
  metrics?: InferenceMetrics;
  logger?: Logger;
  /** Clock for queues and deadlines; default Date.now. */
  now?: () => number;
}

/** The versions of one model the repository manager wants served (see {@link ModelLifecycle.apply}). */
export interface VersionPlan {
  /** The versions the policy selects, oldest first. */
  selected: readonly VersionOnDisk[];
  /** Every version complete on disk, selected or not. */
  onDisk: readonly string[];
  /** Retry files that failed to load before (RepositoryModelLoad); otherwise they wait until they change. */
  retryFailed: boolean;
}

interface Slot {
  version: string;
  state: ModelState;
  reason: string;
  instance: ModelInstance | undefined;
  /** Signature of files that failed to load, so they are not retried until they change. */
  failed: string | undefined;
}

/**
 * The state of every model version this worker knows (LOADING, READY,
 * UNLOADING, UNAVAILABLE with the reason) and the loaded instances behind
 * them. It swaps versions by loading the new one before unloading the old,
 * finds the ready instance for a request and routes inference into that
 * version's batcher. What to serve is decided by the repository manager;
 * calls that change one model ({@link ModelLifecycle.apply},
 * {@link ModelLifecycle.unloadModel}) must not overlap for that model.
 */
export class ModelLifecycle {
  private readonly readConfig: ModelLifecycleOptions['readConfig'];
  private readonly placements: ModelLifecycleOptions['placements'];
  private readonly metrics: InferenceMetrics | undefined;
  private readonly logger: Logger | undefined;
  private readonly instanceOptions: InstanceOptions;
  private readonly models = new Map<string, Map<string, Slot>>();

  constructor(options: ModelLifecycleOptions) {
    if (typeof options.readConfig !== 'function') throw new TypeError('ModelLifecycle: options.readConfig is required');
    if (options.maxBatchSizeCap !== undefined && !(Number.isInteger(options.maxBatchSizeCap) && options.maxBatchSizeCap >= 1)) {
      throw new TypeError(`ModelLifecycle: maxBatchSizeCap must be an integer >= 1, got ${options.maxBatchSizeCap}`);
    }
    this.readConfig = options.readConfig;
    this.placements = options.placements;
    this.metrics = options.metrics;
    this.logger = options.logger;
    if (options.cpuUserRowChunk !== undefined && !(Number.isInteger(options.cpuUserRowChunk) && options.cpuUserRowChunk >= 0)) {
      throw new TypeError(`ModelLifecycle: cpuUserRowChunk must be an integer >= 0, got ${options.cpuUserRowChunk}`);
    }
    const intraOp = resolveIntraOpThreads(options.intraOpThreads ?? 0);
    if (intraOp.source === 'cgroup cpu limit') this.logger?.info({ intraOpThreads: intraOp.threads }, 'ONNX Runtime intra-op threads per session: the cgroup CPU limit');
    this.instanceOptions = {
      executionProviders: options.executionProviders,
      intraOpThreads: intraOp.threads,
      interOpThreads: options.interOpThreads ?? 0,
      spinning: options.spinning ?? false,
      memoryArena: options.memoryArena ?? true,
      sessionThreads: options.sessionThreads ?? false,
      batching: options.batching ?? true,
      maxConcurrentBatches: options.maxConcurrentBatches ?? 1,
      dispatchWhenIdle: options.dispatchWhenIdle ?? true,
      newestFirstWhenStanding: options.newestFirstWhenStanding ?? true,
      maxBatchSizeCap: options.maxBatchSizeCap ?? Infinity,
      cpuUserRowChunk: options.cpuUserRowChunk ?? DEFAULT_CPU_USER_ROW_CHUNK,
      warmup: options.warmup ?? true,
      warmupBatchSizes: options.warmupBatchSizes,
      now: options.now ?? Date.now,
      observer: () => undefined, // set per version in loadVersion
      logger: options.logger,
    };
  }

  /** True when any version of the model is known (in any state). */
  has(name: string): boolean {
    return this.models.has(name);
  }

  /** The models with a known version, sorted. */
  modelNames(): string[] {
    return [...this.models.keys()].sort();
  }

  /**
   * Serves the planned versions of a model: loads each selected version
   * (newest first; one already loaded from the same files is kept), then
   * unloads the versions no longer selected, but only once a selected version
   * is READY (or nothing is left on disk), so a model never goes dark because
   * its new version is broken. Failures are recorded in the states, not thrown.
   */
  async apply(name: string, plan: VersionPlan): Promise<void> {
    let slots = this.models.get(name);
    if (!slots) this.models.set(name, (slots = new Map()));
    for (const entry of [...plan.selected].reverse()) await this.loadVersion(name, slots, entry, plan.retryFailed);
    const selected = new Set(plan.selected.map((v) => v.version));
    const anySelectedReady = [...selected].some((v) => slots.get(v)?.state === 'READY');
    for (const s of [...slots.values()]) {
      if (selected.has(s.version)) continue;
      const gone = !plan.onDisk.includes(s.version);
      if (s.instance && (anySelectedReady || plan.onDisk.length === 0)) {
        await this.unloadVersion(name, s, gone ? 'removed from the repository' : 'not selected by the version policy');
      } else if (s.instance) {
        this.logger?.warn({ model: name, version: s.version }, 'keeping the serving version: no newer selected version is ready');
      }
      if (!s.instance && (gone || s.state === 'UNAVAILABLE')) slots.delete(s.version);
    }
    if (slots.size === 0) this.models.delete(name);
  }

  /** Unloads every version of a model, draining in-flight requests; `reason` shows in the index. */
  async unloadModel(name: string, reason: string): Promise<void> {
    const slots = this.models.get(name);
    if (!slots) return;
    await Promise.all([...slots.values()].map((s) => this.unloadVersion(name, s, reason)));
  }

  /** The index of every version known, with its state, by model then version. */
  index(): ModelStatus[] {
    const rows: ModelStatus[] = [];
    for (const [name, slots] of [...this.models.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      for (const s of [...slots.values()].sort((a, b) => compareVersions(a.version, b.version))) {
        rows.push({ name, version: s.version, state: s.state, reason: s.reason, ...(s.instance ? { provider: s.instance.provider } : {}) });
      }
    }
    return rows;
  }

  /** The ready instance for a request: a named version, or the newest ready one when `version` is empty. */
  ready(name: string, version = ''): { version: string; instance: ModelInstance } {
    const slots = this.models.get(name);
    if (!slots) throw new PinrankError('NOT_FOUND', `model "${name}" is not served here`);
    if (version) {
      const s = slots.get(version);
      if (!s) throw new PinrankError('NOT_FOUND', `model "${name}" has no version "${version}"`);
      if (s.state !== 'READY' || !s.instance) throw new PinrankError('UNAVAILABLE', `model ${name}:${version} is ${s.state}${s.reason ? `: ${s.reason}` : ''}`);
      return { version, instance: s.instance };
    }
    const ready = [...slots.values()].filter((s) => s.state === 'READY' && s.instance).sort((a, b) => compareVersions(b.version, a.version));
    const best = ready[0];
    if (!best?.instance) throw new PinrankError('UNAVAILABLE', `model "${name}" has no ready version`);
    return { version: best.version, instance: best.instance };
  }

  /** Versions of a model that are ready, newest first. */
  readyVersions(name: string): string[] {
    return [...(this.models.get(name)?.values() ?? [])]
      .filter((s) => s.state === 'READY')
      .map((s) => s.version)
      .sort((a, b) => compareVersions(b, a));
  }

  /**
   * Runs one request through the model's batcher. The version is chosen and
   * the request queued in the same tick, so a concurrent swap never drops it.
   * Thrown by: contract violations (INVALID_ARGUMENT), no ready version, a
   * full queue, an expired deadline — as PinrankError.
   */
  async infer(name: string, version: string, inputs: TensorMap, requested: readonly string[], options: ScheduleOptions = {}): Promise<InferResult> {
    const chosen = this.ready(name, version);
    const config = chosen.instance.config;
    let names: string[];
    try {
      checkInputsAgainstConfig(inputs, config);
      chosen.instance.limits.check(inputs);
      names = resolveRequestedOutputs(requested, config);
    } catch (err) {
      this.metrics?.rejected(name, chosen.version, 'invalid');
      throw err;
    }
    const outputs = await chosen.instance.scheduler.enqueue(inputs, options);
    return { version: chosen.version, outputs: names.map((n) => [n, outputs[n]!] as [string, HostTensor]) };
  }

  /** Requests queued or computing across all versions. */
  inflightCount(): number {
    let n = 0;
    for (const slots of this.models.values()) for (const s of slots.values()) n += s.instance?.scheduler.inflightCount() ?? 0;
    return n;
  }

  private async loadVersion(name: string, slots: Map<string, Slot>, entry: VersionOnDisk, retryFailed: boolean): Promise<void> {
    let slot = slots.get(entry.version);
    if (slot?.instance && slot.instance.signature === entry.signature) return;
    if (slot && !retryFailed && slot.failed === entry.signature) return;
    if (!slot) slots.set(entry.version, (slot = { version: entry.version, state: 'LOADING', reason: '', instance: undefined, failed: undefined }));
    if (!slot.instance) slot.state = 'LOADING';
    const log = this.logger?.child({ model: name, version: entry.version });
    let instance: ModelInstance;
    try {
      const config = await this.readConfig(entry);
      if (this.placements && !this.placements.includes(config.placement)) {
        // Not an error: another pool serves it. Listed as UNAVAILABLE with the reason in RepositoryIndex.
        slot.state = 'UNAVAILABLE';
        slot.reason = `placement ${config.placement} is not served by this worker (serves ${this.placements.join(', ')})`;
        slot.failed = entry.signature;
        log?.info({ reason: slot.reason }, 'model version skipped');
        return;
      }
      log?.info('loading model version');
      const metrics = this.metrics;
      instance = await loadInstance(entry, config, {
        ...this.instanceOptions,
        observer: (provider) => metrics?.observer(name, entry.version, provider),
      });
    } catch (err) {
      const reason = PinrankError.from(err).message;
      slot.failed = entry.signature;
      if (slot.instance) {
        slot.reason = `reload failed, previous files keep serving: ${reason}`;
      } else {
        slot.state = 'UNAVAILABLE';
        slot.reason = reason;
      }
      log?.error({ reason }, 'model version failed to load');
      return;
    }
    const previous = slot.instance;
    slot.instance = instance;
    slot.state = 'READY';
    slot.reason = '';
    slot.failed = undefined;
    this.metrics?.track(name, entry.version, instance.provider, () => instance.scheduler.inflightCount());
    log?.info({ provider: instance.provider, passedOver: instance.fallbacks }, 'model version ready');
    if (previous) {
      if (previous.provider !== instance.provider) this.metrics?.untrack(name, entry.version, previous.provider);
      await unloadInstance(previous);
    }
  }

  private async unloadVersion(name: string, slot: Slot, reason: string): Promise<void> {
    const instance = slot.instance;
    if (!instance) return;
    slot.state = 'UNLOADING';
    slot.reason = reason;
    this.logger?.info({ model: name, version: slot.version, reason }, 'unloading model version');
    await unloadInstance(instance);
    slot.instance = undefined;
    slot.state = 'UNAVAILABLE';
    this.metrics?.untrack(name, slot.version, instance.provider);
  }
}
