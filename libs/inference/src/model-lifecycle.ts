import { type Logger } from 'pino';
import { PinrankError } from '@pinrank/service-kit';
import { type ExecutionProvider, type ModelConfig } from '@pinrank/contracts';
import { checkInputsAgainstConfig, resolveRequestedOutputs } from './contract-check';
import { type ScheduleOptions } from './dynamic-batcher';
import { type HostTensor, type TensorMap } from './host-tensor';
import { type InferenceMetrics } from './inference-metrics';
import { loadInstance, unloadInstance, type InstanceOptions, type ModelInstance } from './model-instance';
import { compareVersions, selectVersions, type ModelRepository, type VersionOnDisk, type VersionPolicy } from './model-repository';

/** Default of `ModelManagerOptions.cpuUserRowChunk`: transact_encoder's cost per candidate is lowest at about 50–130 rows per call on a CPU (docs/benchmarks.md). */
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

/** Options of {@link ModelManager}; defaults are filled by the constructor. */
export interface ModelManagerOptions {
  repository: ModelRepository;
  /** Versions served per model; default the newest one. */
  versionPolicy?: VersionPolicy;
  /** Per-model overrides of `versionPolicy`. */
  versionPolicies?: Readonly<Record<string, VersionPolicy>>;
  /** Models to serve; default every model in the repository. */
  models?: readonly string[];
  /** Placements served (the config's `placement`); default both. */
  placements?: ReadonlyArray<ModelConfig['placement']>;
  /** Replaces every config's executionProviders list (e.g. ['cpu']); default use the config's. */
  executionProviders?: readonly ExecutionProvider[];
  /** ONNX Runtime intra-op threads per session; default 0 (runtime default). */
  intraOpThreads?: number;
  /** ONNX Runtime inter-op threads per session; default 0 (runtime default). */
  interOpThreads?: number;
  /** Dynamic batching as the configs say; false runs every request alone; default true. */
  batching?: boolean;
  /** Batches one version computes at once; default 1. */
  maxConcurrentBatches?: number;
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
  metrics?: InferenceMetrics;
  logger?: Logger;
  /** Clock for queues and deadlines; default Date.now. */
  now?: () => number;
}

interface Slot {
  version: string;
  state: ModelState;
  reason: string;
  instance: ModelInstance | undefined;
  /** Signature of files that failed to load, so they are not retried until they change. */
  failed: string | undefined;
}

/** The result of one inference: the version that served it and the requested outputs in order. */
export interface InferResult {
  version: string;
  outputs: Array<[string, HostTensor]>;
}

/**
 * Owns the served model versions: loads them from the repository following
 * the version policy, tracks their lifecycle states, swaps versions by
 * loading the new one before unloading the old, and routes inference.
 */
export class ModelManager {
  private readonly o: ModelManagerOptions & { versionPolicy: VersionPolicy };
  private readonly instanceOptions: InstanceOptions;
  private readonly models = new Map<string, Map<string, Slot>>();
  private readonly locks = new Map<string, Promise<void>>();
  /** Models unloaded by request; the watcher leaves them alone until loaded again. */
  private readonly unloaded = new Set<string>();
  private closed = false;

  constructor(options: ModelManagerOptions) {
    const policy = options.versionPolicy ?? { latest: 1 };
    if ('latest' in policy && (!Number.isInteger(policy.latest) || policy.latest < 1)) {
      throw new TypeError(`ModelManager: versionPolicy.latest must be an integer >= 1, got ${policy.latest}`);
    }
    if (options.maxBatchSizeCap !== undefined && !(Number.isInteger(options.maxBatchSizeCap) && options.maxBatchSizeCap >= 1)) {
      throw new TypeError(`ModelManager: maxBatchSizeCap must be an integer >= 1, got ${options.maxBatchSizeCap}`);
    }
    if (options.cpuUserRowChunk !== undefined && !(Number.isInteger(options.cpuUserRowChunk) && options.cpuUserRowChunk >= 0)) {
      throw new TypeError(`ModelManager: cpuUserRowChunk must be an integer >= 0, got ${options.cpuUserRowChunk}`);
    }
    this.o = { ...options, versionPolicy: policy };
    this.instanceOptions = {
      executionProviders: options.executionProviders,
      intraOpThreads: options.intraOpThreads ?? 0,
      interOpThreads: options.interOpThreads ?? 0,
      batching: options.batching ?? true,
      maxConcurrentBatches: options.maxConcurrentBatches ?? 1,
      maxBatchSizeCap: options.maxBatchSizeCap ?? Infinity,
      cpuUserRowChunk: options.cpuUserRowChunk ?? DEFAULT_CPU_USER_ROW_CHUNK,
      warmup: options.warmup ?? true,
      now: options.now ?? Date.now,
      observer: () => undefined, // set per version in loadSlot
      logger: options.logger,
    };
  }

  /** Loads (or reloads) every model in the repository; failures are recorded, not thrown. */
  async loadAll(): Promise<void> {
    const names = await this.o.repository.listModels();
    const known = [...this.models.keys()];
    const all = [...new Set([...names, ...known])].filter((n) => this.serves(n) && !this.unloaded.has(n));
    await Promise.all(all.map((n) => this.reconcile(n, false)));
  }

  /** Reconciles the named models with the disk (what the directory watcher calls). */
  async refresh(names: readonly string[]): Promise<void> {
    await Promise.all(names.filter((n) => this.serves(n) && !this.unloaded.has(n)).map((n) => this.reconcile(n, false)));
  }

  /**
   * Loads or reloads one model (RepositoryModelLoad), retrying versions that failed before.
   * Thrown by: an unknown model (NOT_FOUND) or no selected version becoming ready (FAILED_PRECONDITION).
   */
  async load(name: string): Promise<void> {
    if (!this.serves(name)) throw new PinrankError('NOT_FOUND', `model "${name}" is not served by this worker`);
    this.unloaded.delete(name);
    await this.reconcile(name, true);
    const slots = [...(this.models.get(name)?.values() ?? [])];
    if (slots.length === 0) throw new PinrankError('NOT_FOUND', `model "${name}" has no complete version in the repository`);
    if (!slots.some((s) => s.state === 'READY')) {
      throw new PinrankError('FAILED_PRECONDITION', `model "${name}" failed to load: ${slots.map((s) => `${s.version}: ${s.reason}`).join('; ')}`);
    }
  }

  /** Unloads every version of a model (RepositoryModelUnload), draining in-flight requests; `reason` shows in the index. */
  async unload(name: string, reason = 'unloaded by request'): Promise<void> {
    const slots = this.models.get(name);
    if (!slots) throw new PinrankError('NOT_FOUND', `model "${name}" is not loaded`);
    this.unloaded.add(name);
    await this.withLock(name, async () => {
      await Promise.all([...slots.values()].map((s) => this.unloadSlot(name, s, reason)));
    });
  }

  /** The index of every version known, with its state. */
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
      names = resolveRequestedOutputs(requested, config);
    } catch (err) {
      this.o.metrics?.rejected(name, chosen.version, 'invalid');
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

  /** Unloads everything, draining in-flight requests. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.models.keys()].map((n) => this.unload(n, 'worker shutting down').catch(() => undefined)));
  }

  private serves(name: string): boolean {
    return !this.o.models || this.o.models.includes(name);
  }

  private withLock(name: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return next;
  }

  private reconcile(name: string, retryFailed: boolean): Promise<void> {
    return this.withLock(name, async () => {
      if (this.closed) return;
      const onDisk = await this.o.repository.listVersions(name);
      let slots = this.models.get(name);
      if (!slots) this.models.set(name, (slots = new Map()));
      const policy = this.o.versionPolicies?.[name] ?? this.o.versionPolicy;
      const selected = new Set(selectVersions(onDisk.map((v) => v.version), policy));
      for (const entry of onDisk.filter((v) => selected.has(v.version)).reverse()) {
        await this.loadSlot(name, slots, entry, retryFailed);
      }
      const anySelectedReady = [...selected].some((v) => slots.get(v)?.state === 'READY');
      for (const s of [...slots.values()]) {
        if (selected.has(s.version)) continue;
        const gone = !onDisk.some((v) => v.version === s.version);
        if (s.instance && (anySelectedReady || onDisk.length === 0)) {
          await this.unloadSlot(name, s, gone ? 'removed from the repository' : 'not selected by the version policy');
        } else if (s.instance) {
          this.o.logger?.warn({ model: name, version: s.version }, 'keeping the serving version: no newer selected version is ready');
        }
        if (!s.instance && (gone || s.state === 'UNAVAILABLE')) slots.delete(s.version);
      }
      if (slots.size === 0) this.models.delete(name);
    });
  }

  private async loadSlot(name: string, slots: Map<string, Slot>, entry: VersionOnDisk, retryFailed: boolean): Promise<void> {
    let slot = slots.get(entry.version);
    if (slot?.instance && slot.instance.signature === entry.signature) return;
    if (slot && !retryFailed && slot.failed === entry.signature) return;
    if (!slot) slots.set(entry.version, (slot = { version: entry.version, state: 'LOADING', reason: '', instance: undefined, failed: undefined }));
    if (!slot.instance) slot.state = 'LOADING';
    const log = this.o.logger?.child({ model: name, version: entry.version });
    let instance: ModelInstance;
    try {
      const config = await this.o.repository.readConfig(entry);
      if (!this.o.placements || this.o.placements.includes(config.placement)) log?.info('loading model version');
      if (this.o.placements && !this.o.placements.includes(config.placement)) {
        // Not an error: another pool serves it. Listed as UNAVAILABLE with the reason in RepositoryIndex.
        slot.state = 'UNAVAILABLE';
        slot.reason = `placement ${config.placement} is not served by this worker (serves ${this.o.placements.join(', ')})`;
        slot.failed = entry.signature;
        log?.info({ reason: slot.reason }, 'model version skipped');
        return;
      }
      const metrics = this.o.metrics;
      instance = await loadInstance(entry, config, {
        ...this.instanceOptions,
        observer: (provider) => metrics?.observer(name, entry.version, provider),
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
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
    this.o.metrics?.track(name, entry.version, instance.provider, () => instance.scheduler.inflightCount());
    log?.info({ provider: instance.provider, passedOver: instance.fallbacks }, 'model version ready');
    if (previous) {
      if (previous.provider !== instance.provider) this.o.metrics?.untrack(name, entry.version, previous.provider);
      await unloadInstance(previous);
    }
  }

  private async unloadSlot(name: string, slot: Slot, reason: string): Promise<void> {
    const instance = slot.instance;
    if (!instance) return;
    slot.state = 'UNLOADING';
    slot.reason = reason;
    this.o.logger?.info({ model: name, version: slot.version, reason }, 'unloading model version');
    await unloadInstance(instance);
    slot.instance = undefined;
    slot.state = 'UNAVAILABLE';
    this.o.metrics?.untrack(name, slot.version, instance.provider);
  }
}
