import { PinrankError } from '@pinrank/service-kit';
import { type Logger } from 'pino';
import { annIndexDefaults, type AnnIndex, type AnnIndexOptions } from '../ann/ann-index';
import { SnapshotIndexes } from '../ann/snapshot-indexes';
import { userKey, versionPrefix } from '../store/keys';
import { type VectorStore } from '../store/vector-store';
import { ReaderLeases, type SnapshotLease } from './reader-leases';
import { readSnapshotHeaders, type SnapshotFiles } from './snapshot-files';
import { runStagedLoad } from './snapshot-loader';
import { SnapshotRegistry } from './snapshot-registry';
import { type SnapshotRecord } from './snapshot-record';

/** Options of {@link SnapshotManager}. */
export interface SnapshotManagerOptions {
  /** Where vectors and records live. Required. */
  store: VectorStore;
  /** Dimension every snapshot must have; 0 accepts any. Default 64 (PinnerFormer). */
  dimension?: number;
  /** Ready versions kept readable (the active one is always kept on top). Default 3. */
  retain?: number;
  /** Records per store write while loading. Default 2000. */
  batchSize?: number;
  /** Build a version's ANN index before it becomes READY (else on first Retrieve). Default true. */
  buildIndexOnLoad?: boolean;
  /** ANN tuning. Defaults: see {@link annIndexDefaults}. */
  ann?: AnnIndexOptions;
  /** Local folder where each version's ANN graph is saved and reopened after a restart; default none (rebuilt from the store). */
  indexDir?: string;
  /** Log sink; default silent. */
  logger?: Logger;
  /** Clock (epoch ms); default Date.now. */
  now?: () => number;
}

type Filled = Required<Omit<SnapshotManagerOptions, 'logger' | 'ann' | 'indexDir'>> & { logger: Logger | undefined; ann: AnnIndexOptions };

function withDefaults(o: SnapshotManagerOptions): Filled {
  const filled: Filled = {
    store: o.store,
    dimension: o.dimension ?? 64,
    retain: o.retain ?? 3,
    batchSize: o.batchSize ?? 2000,
    buildIndexOnLoad: o.buildIndexOnLoad ?? true,
    ann: o.ann ?? {},
    logger: o.logger,
    now: o.now ?? Date.now,
  };
  if (!filled.store) throw new TypeError('SnapshotManager: options.store is required');
  if (!Number.isInteger(filled.dimension) || filled.dimension < 0) throw new TypeError('SnapshotManager: dimension must be an integer >= 0');
  if (!Number.isInteger(filled.retain) || filled.retain < 1) throw new TypeError('SnapshotManager: retain must be an integer >= 1');
  if (!Number.isInteger(filled.batchSize) || filled.batchSize < 1) throw new TypeError('SnapshotManager: batchSize must be an integer >= 1');
  annIndexDefaults(filled.ann);
  return filled;
}

/** Result of {@link SnapshotManager.activate}. */
export interface Activation {
  /** The version now active. */
  active: string;
  /** The version active before, or null. */
  previous: string | null;
}

/** A background load in progress. */
interface Load {
  task: Promise<void>;
  /** Users deleted while it runs: not written, and removed again at the end. */
  deletedUsers: Set<string>;
}

/**
 * Owns the snapshot versions: background loading with validation, atomic
 * activation and rollback, retention, and user deletion across every retained
 * version. It composes the {@link SnapshotRegistry} (records, active pointer,
 * retention), the {@link ReaderLeases} (readers per version; removal waits for
 * them) and the {@link SnapshotIndexes} (one ANN index per version), and runs
 * every registry change one at a time.
 */
export class SnapshotManager {
  private readonly o: Filled;
  private readonly registry: SnapshotRegistry;
  private readonly leases = new ReaderLeases();
  private readonly indexes: SnapshotIndexes;
  private readonly loads = new Map<string, Load>();
  private readonly abort = new AbortController();
  private serial: Promise<unknown> = Promise.resolve();

  private constructor(options: SnapshotManagerOptions) {
    this.o = withDefaults(options);
    this.registry = new SnapshotRegistry({ store: this.o.store, retain: this.o.retain });
    this.indexes = new SnapshotIndexes({
      store: this.o.store,
      batchSize: this.o.batchSize,
      ann: this.o.ann,
      now: this.o.now,
      ...(options.indexDir ? { indexDir: options.indexDir } : {}),
      ...(this.o.logger ? { logger: this.o.logger } : {}),
    });
  }

  /**
   * Opens the manager over a store, restoring versions and the active pointer
   * persisted there. Versions left LOADING by a crash are marked FAILED and removed.
   */
  static async open(options: SnapshotManagerOptions): Promise<SnapshotManager> {
    const manager = new SnapshotManager(options);
    await manager.restore(true);
    return manager;
  }

  /** Expected dimension of snapshot vectors (0 = any). */
  get dimension(): number {
    return this.o.dimension;
  }

  /** The active version's record, or undefined when none is active. */
  activeRecord(): SnapshotRecord | undefined {
    const active = this.registry.active;
    return active === null ? undefined : this.registry.get(active);
  }

  /** Retained versions, newest first, and the active version. */
  list(): { records: SnapshotRecord[]; active: string | null } {
    return { records: this.registry.list(), active: this.registry.active };
  }

  /**
   * Validates both files' headers and starts loading them in the background
   * (see {@link SnapshotManager.whenLoaded}). Thrown by: bad or mismatched
   * headers, an existing version label, a missing or unusable base version, a
   * load already running (PinrankError).
   */
  async startLoad(userFile: string, itemFile: string, activate: boolean): Promise<SnapshotRecord> {
    const files = await readSnapshotHeaders(userFile, itemFile, this.o.dimension);
    const { version } = files.user;
    return this.exclusive(async () => {
      if (this.loads.size > 0) {
        throw new PinrankError('FAILED_PRECONDITION', `snapshot ${[...this.loads.keys()].join(', ')} is still loading; wait for it (ListSnapshots) before loading another`);
      }
      const { base, replacesFailed } = this.registry.checkNewVersion(files.user);
      if (replacesFailed) await this.o.store.removePrefix(versionPrefix(version));
      const record: SnapshotRecord = {
        version,
        status: 'loading',
        progress: 0,
        error: '',
        producerModel: files.user.producerModel,
        producerModelVersion: files.user.producerModelVersion,
        asOfDate: files.user.asOfDate,
        userCount: 0,
        itemCount: 0,
        dimension: files.user.dimension,
        baseVersion: files.user.baseVersion,
        createdAtMs: files.user.createdAtMs,
        startedAtMs: this.o.now(),
        loadedAtMs: 0,
        seq: this.registry.nextSeq(),
      };
      const baseInfo = base ? { version: base.version, userCount: base.userCount, itemCount: base.itemCount } : null;
      // Registered before the first await, so a user deleted meanwhile is never written.
      const deletedUsers = new Set<string>();
      const added = this.registry.add(record);
      const task = added
        .then(
          () => this.runLoad(record, files, baseInfo, deletedUsers, activate),
          () => undefined, // never started: the caller gets the error below
        )
        .finally(() => this.loads.delete(version));
      this.loads.set(version, { task, deletedUsers });
      await added;
      return { ...record };
    });
  }

  /** Resolves when the background load of `version` has ended (READY or FAILED). */
  async whenLoaded(version: string): Promise<SnapshotRecord | undefined> {
    await this.loads.get(version)?.task;
    const record = this.registry.get(version);
    return record && { ...record };
  }

  /**
   * Makes a READY version the active one; used for rollback too. Atomic for
   * readers: a request resolves its version once, so it sees the old or the
   * new version, never both. Thrown by: an unknown, loading or failed version.
   */
  async activate(version: string): Promise<Activation> {
    return this.exclusive(async () => {
      this.registry.activatable(version);
      const previous = this.registry.active;
      await this.registry.setActive(version);
      this.o.logger?.info({ version, previous }, 'snapshot activated');
      return { active: version, previous };
    });
  }

  /**
   * Takes a lease on the pinned version, or on the active one when `pinned` is
   * empty. Synchronous, so the version is resolved exactly once per request.
   * Thrown by: an unknown, unready or missing version (PinrankError).
   */
  acquire(pinned?: string): SnapshotLease {
    return this.leases.acquire(this.registry.readable(pinned));
  }

  /** The ANN index of a READY version, built from the store on first use when not built at load. */
  index(version: string): Promise<AnnIndex> {
    const record = this.registry.get(version);
    if (!record) return Promise.reject(new PinrankError('NOT_FOUND', `snapshot version ${version} is not retained`));
    return this.indexes.get(record);
  }

  /** Opens (or builds) the active version's ANN index in the background, so the first Retrieve after a start does not wait for it. */
  warmActiveIndex(): void {
    const version = this.registry.active;
    if (version === null) return;
    this.index(version).catch((err: unknown) => this.o.logger?.warn({ err, version }, 'could not prepare the ANN index'));
  }

  /** Removes a user's vectors from every retained version (and from loads in progress); resolves to how many versions held one. */
  async deleteUser(userId: string): Promise<number> {
    for (const load of this.loads.values()) load.deletedUsers.add(userId);
    const removed = await Promise.all(this.registry.withData().map((v) => this.o.store.remove([userKey(v, userId)])));
    return removed.filter((n) => n > 0).length;
  }

  /** Re-reads versions and the active pointer persisted by other replicas sharing the store. */
  async refresh(): Promise<void> {
    await this.exclusive(() => this.restore(false));
  }

  /** Resolves when no background work is left: loads ended and evicted versions removed (once their readers are done). */
  async settled(): Promise<void> {
    while (this.loads.size > 0 || this.leases.busy) {
      await Promise.allSettled([...[...this.loads.values()].map((l) => l.task), this.leases.idle()]);
    }
  }

  /** Stops background loads (they end FAILED) and waits for them; evicted data still leased is left for the next start. */
  async close(): Promise<void> {
    this.abort.abort(new Error('embedding store shutting down'));
    await Promise.allSettled([...this.loads.values()].map((l) => l.task));
  }

  private async runLoad(
    record: SnapshotRecord,
    files: SnapshotFiles,
    base: { version: string; userCount: number; itemCount: number } | null,
    deleted: ReadonlySet<string>,
    activate: boolean,
  ): Promise<void> {
    const { version } = record;
    const log = this.o.logger?.child({ version });
    let lastPersist = 0;
    try {
      const counts = await runStagedLoad({
        store: this.o.store,
        files,
        base,
        batchSize: this.o.batchSize,
        signal: this.abort.signal,
        isDeletedUser: (id) => deleted.has(id),
        onProgress: (p) => {
          record.progress = Math.min(p, 0.99);
          if (this.o.now() - lastPersist > 500) {
            lastPersist = this.o.now();
            this.registry.persist(record).catch((err: unknown) => log?.warn({ err }, 'could not persist load progress'));
          }
        },
      });
      // Users deleted while their batch was already written are removed now.
      await Promise.all([...deleted].map((id) => this.o.store.remove([userKey(version, id)])));
      record.userCount = counts.userCount;
      record.itemCount = counts.itemCount;
      if (this.o.buildIndexOnLoad) await this.indexes.get(record);
      Object.assign(record, { status: 'ready', progress: 1, loadedAtMs: this.o.now() });
      await this.registry.persist(record);
      log?.info({ users: record.userCount, items: record.itemCount }, 'snapshot loaded');
    } catch (err) {
      await this.indexes.discard(version);
      Object.assign(record, { status: 'failed', error: PinrankError.from(err).message, loadedAtMs: 0 });
      log?.warn({ err }, 'snapshot load failed; the active snapshot is unchanged');
      await this.o.store.removePrefix(versionPrefix(version)).catch((e: unknown) => log?.error({ err: e }, 'could not remove a failed load'));
      await this.registry.persist(record).catch((e: unknown) => log?.error({ err: e }, 'could not persist a failed load'));
      return;
    }
    if (activate) await this.activate(version);
    await this.exclusive(() => this.applyRetention());
  }

  private async applyRetention(): Promise<void> {
    const { evict, forget } = this.registry.retention();
    for (const version of evict) {
      // Gone from the registry now; its data goes once its readers are done (in the background).
      await this.registry.drop(version);
      await this.indexes.discard(version);
      this.leases
        .afterDrain(version, async () => {
          const removed = await this.o.store.removePrefix(versionPrefix(version));
          this.o.logger?.info({ version, keys: removed }, 'snapshot version evicted by retention');
        })
        .catch((err: unknown) => this.o.logger?.error({ err, version }, 'could not remove an evicted version'));
    }
    for (const version of forget) await this.registry.drop(version);
  }

  private async restore(atStartup: boolean): Promise<void> {
    const gone = await this.registry.restore(atStartup, (version) => this.loads.has(version));
    for (const version of gone) this.indexes.forget(version);
  }

  /** Runs registry changes one at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => undefined);
    return run;
  }
}
