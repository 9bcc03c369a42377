import { PinrankError } from '@pinrank/service-kit';
import { ModelLifecycle, type ModelLifecycleOptions } from './model-lifecycle';
import { selectVersions, type ModelRepository, type VersionPolicy } from './model-repository';

/** Options of {@link ModelRepositoryManager}: what to serve from the repository, and how versions are loaded (see {@link ModelLifecycleOptions}). */
export interface ModelRepositoryManagerOptions extends Omit<ModelLifecycleOptions, 'readConfig'> {
  /** The repository on disk. Required. */
  repository: ModelRepository;
  /** Versions served per model; default the newest one. */
  versionPolicy?: VersionPolicy;
  /** Per-model overrides of `versionPolicy`. */
  versionPolicies?: Readonly<Record<string, VersionPolicy>>;
  /** Models to serve; default every model in the repository. */
  models?: readonly string[];
}

/**
 * Decides what this worker serves from the model repository: which models,
 * which versions (the version policy), and when to look again (start-up, the
 * directory watcher, RepositoryModelLoad/Unload requests). Each decision is
 * handed to its {@link ModelLifecycle}, which holds the versions' states and
 * routes inference; requests for one model run one at a time.
 */
export class ModelRepositoryManager {
  /** The served versions' states, ready instances and inference routing. */
  readonly lifecycle: ModelLifecycle;
  private readonly repository: ModelRepository;
  private readonly versionPolicy: VersionPolicy;
  private readonly versionPolicies: Readonly<Record<string, VersionPolicy>>;
  private readonly served: readonly string[] | undefined;
  private readonly locks = new Map<string, Promise<void>>();
  /** Models unloaded by request; the watcher leaves them alone until loaded again. */
  private readonly unloaded = new Set<string>();
  private closed = false;

  constructor(options: ModelRepositoryManagerOptions) {
    const { repository, versionPolicy, versionPolicies, models, ...lifecycle } = options;
    if (!repository) throw new TypeError('ModelRepositoryManager: options.repository is required');
    const policy = versionPolicy ?? { latest: 1 };
    if ('latest' in policy && (!Number.isInteger(policy.latest) || policy.latest < 1)) {
      throw new TypeError(`ModelRepositoryManager: versionPolicy.latest must be an integer >= 1, got ${policy.latest}`);
    }
    this.repository = repository;
    this.versionPolicy = policy;
    this.versionPolicies = versionPolicies ?? {};
    this.served = models;
    this.lifecycle = new ModelLifecycle({ ...lifecycle, readConfig: (entry) => repository.readConfig(entry) });
  }

  /** Loads (or reloads) every model in the repository; failures are recorded, not thrown. */
  async loadAll(): Promise<void> {
    const names = await this.repository.listModels();
    const all = [...new Set([...names, ...this.lifecycle.modelNames()])].filter((n) => this.serves(n) && !this.unloaded.has(n));
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
    const versions = this.lifecycle.index().filter((r) => r.name === name);
    if (versions.length === 0) throw new PinrankError('NOT_FOUND', `model "${name}" has no complete version in the repository`);
    if (!versions.some((r) => r.state === 'READY')) {
      throw new PinrankError('FAILED_PRECONDITION', `model "${name}" failed to load: ${versions.map((r) => `${r.version}: ${r.reason}`).join('; ')}`);
    }
  }

  /** Unloads every version of a model (RepositoryModelUnload), draining in-flight requests; `reason` shows in the index. */
  async unload(name: string, reason = 'unloaded by request'): Promise<void> {
    if (!this.lifecycle.has(name)) throw new PinrankError('NOT_FOUND', `model "${name}" is not loaded`);
    this.unloaded.add(name);
    await this.withLock(name, () => this.lifecycle.unloadModel(name, reason));
  }

  /** Unloads everything, draining in-flight requests; later reconciles do nothing. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.lifecycle.modelNames().map((n) => this.unload(n, 'worker shutting down').catch(() => undefined)));
  }

  private serves(name: string): boolean {
    return !this.served || this.served.includes(name);
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
      const onDisk = await this.repository.listVersions(name);
      const policy = this.versionPolicies[name] ?? this.versionPolicy;
      const selected = new Set(selectVersions(onDisk.map((v) => v.version), policy));
      await this.lifecycle.apply(name, {
        selected: onDisk.filter((v) => selected.has(v.version)),
        onDisk: onDisk.map((v) => v.version),
        retryFailed,
      });
    });
  }
}
