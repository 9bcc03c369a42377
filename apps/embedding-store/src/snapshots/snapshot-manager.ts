import { PinrankError } from '@pinrank/service-kit';
import { type Logger } from 'pino';
import { annIndexDefaults, type AnnIndex, type AnnIndexOptions } from '../ann/ann-index';
import { AnnIndexCache } from '../ann/index-cache';
import { buildIndexFromStore } from '../ann/index-from-store';
import { userKey, versionPrefix } from '../store/keys';
import { type VectorStore } from '../store/vector-store';
import { readSnapshotHeaders, type SnapshotFiles } from './snapshot-files';
import { runStagedLoad } from './snapshot-loader';
import {
  ACTIVE_META_NAME,
  RECORD_META_PREFIX,
  newestFirst,
  parseRecord,
  recordMetaName,
  type SnapshotRecord,
} from './snapshot-record';

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

/** A reader's hold on one version: its data is not removed until every lease is released. */
export interface SnapshotLease {
  /** The version being read. */
  readonly record: SnapshotRecord;
  /** Ends the hold (call exactly once, in a finally). */
  release(): void;
}

/** Result of {@link SnapshotManager.activate}. */
export interface Activation {
  /** The version now active. */
  active: string;
  /** The version active before, or null. */
  previous: string | null;
}

/**
 * Owns the snapshot versions: background loading with validation, atomic
 * activation and rollback (an in-memory pointer plus a persisted record),
 * retention, reader leases, one ANN index per version, and user deletion
 * across every retained version.
 */
export class SnapshotManager {
  private readonly o: Filled;
  private readonly records = new Map<string, SnapshotRecord>();
  private activeVersion: string | null = null;
  private readonly readers = new Map<string, number>();
  private readonly drainWaiters = new Map<string, Array<() => void>>();
  private readonly indexes = new Map<string, Promise<AnnIndex>>();
  private readonly loads = new Map<string, Promise<void>>();
  private readonly deletedDuringLoad = new Map<string, Set<string>>();
  private readonly cleanups = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private serial: Promise<unknown> = Promise.resolve();
  private readonly indexCache: AnnIndexCache | undefined;

  private constructor(options: SnapshotManagerOptions) {
    this.o = withDefaults(options);
    this.indexCache = options.indexDir ? new AnnIndexCache(options.indexDir, options.logger) : undefined;
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
    return this.activeVersion === null ? undefined : this.records.get(this.activeVersion);
  }

  /** Retained versions, newest first, and the active version. */
  list(): { records: SnapshotRecord[]; active: string | null } {
    return { records: [...this.records.values()].map((r) => ({ ...r })).sort(newestFirst), active: this.activeVersion };
  }

  /**
   * Validates both files' headers and starts loading them in the background
   * (see {@link SnapshotManager.whenLoaded}). Thrown by: bad or mismatched
   * headers, an existing version label, a missing or unusable base version, a
   * load already running (PinrankError).
   */
  async startLoad(userFile: string, itemFile: string, activate: boolean): Promise<SnapshotRecord> {
    const files = await readSnapshotHeaders(userFile, itemFile, this.o.dimension);
    const { version, baseVersion } = files.user;
    return this.exclusive(async () => {
      if (this.loads.size > 0) {
        throw new PinrankError('FAILED_PRECONDITION', `snapshot ${[...this.loads.keys()].join(', ')} is still loading; wait for it (ListSnapshots) before loading another`);
      }
      const existing = this.records.get(version);
      if (existing && existing.status !== 'failed') {
        throw new PinrankError('ALREADY_EXISTS', `snapshot version ${version} is already ${existing.status}; a retained version is never overwritten, give the new snapshot a new version`);
      }
      let base: SnapshotRecord | null = null;
      if (baseVersion !== null) {
        base = this.records.get(baseVersion) ?? null;
        if (!base || base.status !== 'ready') {
          throw new PinrankError('FAILED_PRECONDITION', `incremental snapshot ${version} needs base version ${baseVersion}, which is ${base ? base.status : 'not retained'}; load the base first`);
        }
        if (base.producerModelVersion !== files.user.producerModelVersion || base.dimension !== files.user.dimension) {
          throw new PinrankError('INVALID_ARGUMENT', `incremental snapshot ${version} (model ${files.user.producerModelVersion}, dimension ${files.user.dimension}) does not match base ${baseVersion} (model ${base.producerModelVersion}, dimension ${base.dimension})`);
        }
      }
      if (existing) await this.o.store.removePrefix(versionPrefix(version));
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
        baseVersion,
        createdAtMs: files.user.createdAtMs,
        startedAtMs: this.o.now(),
        loadedAtMs: 0,
        seq: Math.max(0, ...[...this.records.values()].map((r) => r.seq)) + 1,
      };
      this.records.set(version, record);
      this.deletedDuringLoad.set(version, new Set());
      await this.persist(record);
      const baseInfo = base ? { version: base.version, userCount: base.userCount, itemCount: base.itemCount } : null;
      const task = this.runLoad(record, files, baseInfo, activate).finally(() => {
        this.loads.delete(version);
        this.deletedDuringLoad.delete(version);
      });
      this.loads.set(version, task);
      return { ...record };
    });
  }

  /** Resolves when the background load of `version` has ended (READY or FAILED). */
  async whenLoaded(version: string): Promise<SnapshotRecord | undefined> {
    await this.loads.get(version);
    const record = this.records.get(version);
    return record && { ...record };
  }

  /**
   * Makes a READY version the active one; used for rollback too. Atomic for
   * readers: a request resolves its version once, so it sees the old or the
   * new version, never both. Thrown by: an unknown, loading or failed version.
   */
  async activate(version: string): Promise<Activation> {
    return this.exclusive(async () => {
      const record = this.records.get(version);
      if (!record) throw new PinrankError('NOT_FOUND', `snapshot version ${version} is not retained; retained: ${this.retainedList()}`);
      if (record.status !== 'ready') {
        throw new PinrankError('FAILED_PRECONDITION', `snapshot version ${version} is ${record.status}${record.error ? ` (${record.error})` : ''}; only a fully loaded version can be activated`);
      }
      const previous = this.activeVersion;
      await this.o.store.setMeta(ACTIVE_META_NAME, version);
      this.activeVersion = version;
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
    const version = pinned || this.activeVersion;
    if (version === null) throw new PinrankError('FAILED_PRECONDITION', 'no snapshot is active yet; load one with LoadSnapshot and activate it');
    const record = this.records.get(version);
    if (!record) throw new PinrankError('NOT_FOUND', `snapshot version ${version} is not retained; retained: ${this.retainedList()}`);
    if (record.status === 'loading') throw new PinrankError('FAILED_PRECONDITION', `snapshot version ${version} is still loading (${Math.round(record.progress * 100)}%)`);
    if (record.status === 'failed') throw new PinrankError('FAILED_PRECONDITION', `snapshot version ${version} failed to load: ${record.error}`);
    this.readers.set(version, (this.readers.get(version) ?? 0) + 1);
    let released = false;
    return {
      record,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.readers.get(version) ?? 1) - 1;
        if (left > 0) {
          this.readers.set(version, left);
          return;
        }
        this.readers.delete(version);
        for (const wake of this.drainWaiters.get(version) ?? []) wake();
        this.drainWaiters.delete(version);
      },
    };
  }

  /** The ANN index of a READY version, built from the store on first use when not built at load. */
  index(version: string): Promise<AnnIndex> {
    let index = this.indexes.get(version);
    if (!index) {
      index = this.buildIndex(version);
      this.indexes.set(version, index);
      index.catch(() => this.indexes.delete(version));
    }
    return index;
  }

  /** Removes a user's vectors from every retained version (and from loads in progress); resolves to how many versions held one. */
  async deleteUser(userId: string): Promise<number> {
    for (const deleted of this.deletedDuringLoad.values()) deleted.add(userId);
    const versions = [...this.records.values()].filter((r) => r.status !== 'failed').map((r) => r.version);
    const removed = await Promise.all(versions.map((v) => this.o.store.remove([userKey(v, userId)])));
    return removed.filter((n) => n > 0).length;
  }

  /** Re-reads versions and the active pointer persisted by other replicas sharing the store. */
  async refresh(): Promise<void> {
    await this.exclusive(() => this.restore(false));
  }

  /** Resolves when no background work is left: loads ended and evicted versions removed (once their readers are done). */
  async settled(): Promise<void> {
    while (this.loads.size > 0 || this.cleanups.size > 0) {
      await Promise.allSettled([...this.loads.values(), ...this.cleanups]);
    }
  }

  /** Stops background loads (they end FAILED) and waits for them; evicted data still leased is left for the next start. */
  async close(): Promise<void> {
    this.abort.abort(new Error('embedding store shutting down'));
    await Promise.allSettled([...this.loads.values()]);
  }

  private async runLoad(
    record: SnapshotRecord,
    files: SnapshotFiles,
    base: { version: string; userCount: number; itemCount: number } | null,
    activate: boolean,
  ): Promise<void> {
    const { version } = record;
    const log = this.o.logger?.child({ version });
    let lastPersist = 0;
    try {
      const deleted = this.deletedDuringLoad.get(version) ?? new Set<string>();
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
            this.persist(record).catch((err: unknown) => log?.warn({ err }, 'could not persist load progress'));
          }
        },
      });
      // Users deleted while their batch was already written are removed now.
      await Promise.all([...deleted].map((id) => this.o.store.remove([userKey(version, id)])));
      record.userCount = counts.userCount;
      record.itemCount = counts.itemCount;
      if (this.o.buildIndexOnLoad) {
        const index = this.buildIndex(version);
        this.indexes.set(version, index);
        await index;
      }
      Object.assign(record, { status: 'ready', progress: 1, loadedAtMs: this.o.now() });
      await this.persist(record);
      log?.info({ users: record.userCount, items: record.itemCount }, 'snapshot loaded');
    } catch (err) {
      this.indexes.delete(version);
      await this.indexCache?.remove(version).catch(() => undefined);
      const message = err instanceof Error ? err.message : String(err);
      Object.assign(record, { status: 'failed', error: message, loadedAtMs: 0 });
      log?.warn({ err }, 'snapshot load failed; the active snapshot is unchanged');
      await this.o.store.removePrefix(versionPrefix(version)).catch((e: unknown) => log?.error({ err: e }, 'could not remove a failed load'));
      await this.persist(record).catch((e: unknown) => log?.error({ err: e }, 'could not persist a failed load'));
      return;
    }
    if (activate) await this.activate(version);
    await this.exclusive(() => this.applyRetention());
  }

  private async buildIndex(version: string): Promise<AnnIndex> {
    const record = this.records.get(version);
    if (!record) throw new PinrankError('NOT_FOUND', `snapshot version ${version} is not retained`);
    const stamp = { version, seq: record.seq, startedAtMs: record.startedAtMs, itemCount: record.itemCount, dimension: record.dimension };
    const saved = await this.indexCache?.open(stamp, this.o.ann);
    if (saved) {
      this.o.logger?.info({ version, items: saved.size }, 'ANN index opened from disk');
      return saved;
    }
    const started = this.o.now();
    const index = await buildIndexFromStore(this.o.store, version, record.dimension, record.itemCount, this.o.batchSize, this.o.ann);
    this.o.logger?.info({ version, items: index.size, ms: this.o.now() - started }, 'ANN index built');
    // A graph that cannot be saved still serves; the next start rebuilds it.
    await this.indexCache?.save(stamp, index, this.o.ann).catch((err: unknown) => this.o.logger?.warn({ err, version }, 'could not save the ANN index'));
    return index;
  }

  /** Opens (or builds) the active version's ANN index in the background, so the first Retrieve after a start does not wait for it. */
  warmActiveIndex(): void {
    const version = this.activeVersion;
    if (version === null) return;
    this.index(version).catch((err: unknown) => this.o.logger?.warn({ err, version }, 'could not prepare the ANN index'));
  }

  private async applyRetention(): Promise<void> {
    const ready = [...this.records.values()].filter((r) => r.status === 'ready').sort(newestFirst);
    const keep = new Set(ready.slice(0, this.o.retain).map((r) => r.version));
    if (this.activeVersion !== null) keep.add(this.activeVersion);
    for (const r of ready) if (!keep.has(r.version)) await this.evict(r.version);
    const failed = [...this.records.values()].filter((r) => r.status === 'failed').sort(newestFirst);
    for (const r of failed.slice(this.o.retain)) {
      this.records.delete(r.version);
      await this.o.store.deleteMeta(recordMetaName(r.version));
    }
  }

  /** Drops a version from the registry now; its data goes once its readers are done (in the background). */
  private async evict(version: string): Promise<void> {
    this.records.delete(version);
    this.indexes.delete(version);
    await this.indexCache?.remove(version).catch((err: unknown) => this.o.logger?.warn({ err, version }, 'could not remove a saved ANN index'));
    await this.o.store.deleteMeta(recordMetaName(version));
    const cleanup = this.removeWhenDrained(version)
      .catch((err: unknown) => this.o.logger?.error({ err, version }, 'could not remove an evicted version'))
      .finally(() => this.cleanups.delete(cleanup));
    this.cleanups.add(cleanup);
  }

  private async removeWhenDrained(version: string): Promise<void> {
    if ((this.readers.get(version) ?? 0) > 0) {
      await new Promise<void>((resolve) => this.drainWaiters.set(version, [...(this.drainWaiters.get(version) ?? []), resolve]));
    }
    const removed = await this.o.store.removePrefix(versionPrefix(version));
    this.o.logger?.info({ version, keys: removed }, 'snapshot version evicted by retention');
  }

  private async restore(atStartup: boolean): Promise<void> {
    const stored = await this.o.store.listMeta(RECORD_META_PREFIX);
    const seen = new Set<string>();
    for (const [name, text] of stored) {
      const record = parseRecord(text, name);
      seen.add(record.version);
      if (this.loads.has(record.version)) continue; // this replica's own load is the truth
      if (atStartup && record.status === 'loading') {
        Object.assign(record, { status: 'failed', error: 'loading was interrupted by a restart; load it again' });
        await this.o.store.removePrefix(versionPrefix(record.version));
        await this.persist(record);
      }
      const local = this.records.get(record.version);
      if (local) Object.assign(local, record);
      else this.records.set(record.version, record);
    }
    for (const version of [...this.records.keys()]) {
      if (!seen.has(version) && !this.loads.has(version)) {
        this.records.delete(version);
        this.indexes.delete(version);
      }
    }
    const active = (await this.o.store.getMeta(ACTIVE_META_NAME)) ?? null;
    this.activeVersion = active !== null && this.records.get(active)?.status === 'ready' ? active : null;
  }

  private async persist(record: SnapshotRecord): Promise<void> {
    await this.o.store.setMeta(recordMetaName(record.version), JSON.stringify(record));
  }

  private retainedList(): string {
    const versions = [...this.records.values()].sort(newestFirst).map((r) => `${r.version} (${r.status})`);
    return versions.length > 0 ? versions.join(', ') : 'none';
  }

  /** Runs registry changes one at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => undefined);
    return run;
  }
}
