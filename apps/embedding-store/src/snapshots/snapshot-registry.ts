import { type VectorFileHeader } from '@pinrank/contracts';
import { PinrankError } from '@pinrank/service-kit';
import { versionPrefix } from '../store/keys';
import { type VectorStore } from '../store/vector-store';
import { ACTIVE_META_NAME, RECORD_META_PREFIX, newestFirst, parseRecord, recordMetaName, type SnapshotRecord } from './snapshot-record';

/** Options of {@link SnapshotRegistry}. */
export interface SnapshotRegistryOptions {
  /** Where records and the active pointer are persisted (metadata records). */
  store: VectorStore;
  /** READY versions kept readable besides the active one (an integer >= 1). */
  retain: number;
}

/** What {@link SnapshotRegistry.retention} says to remove. */
export interface RetentionPlan {
  /** READY versions past the retention count (never the active one): their data goes once their readers are done. */
  evict: string[];
  /** FAILED versions past the retention count: only their record goes (a failed load left no data). */
  forget: string[];
}

/** Result of {@link SnapshotRegistry.checkNewVersion}: what a new load starts from. */
export interface NewVersionCheck {
  /** The READY base of an incremental snapshot, else null. */
  base: SnapshotRecord | null;
  /** True when the label belonged to a FAILED load, whose leftovers the new load replaces. */
  replacesFailed: boolean;
}

/**
 * Which snapshot versions exist, in what state, and which one is active: the
 * records and the pointer in memory, persisted as store metadata so a restart
 * and every replica sharing the store see them. Also decides retention and
 * answers the questions a request or an admin call asks of a version (with the
 * status a client gets when the answer is no). It never touches vectors except
 * to drop a load that a restart interrupted.
 */
export class SnapshotRegistry {
  private readonly records = new Map<string, SnapshotRecord>();
  private activeVersion: string | null = null;

  constructor(private readonly o: SnapshotRegistryOptions) {}

  /** The active version, or null. */
  get active(): string | null {
    return this.activeVersion;
  }

  /** The live record of `version` (mutated as its load progresses), or undefined when not retained. */
  get(version: string): SnapshotRecord | undefined {
    return this.records.get(version);
  }

  /** Copies of every retained record, newest first. */
  list(): SnapshotRecord[] {
    return [...this.records.values()].map((r) => ({ ...r })).sort(newestFirst);
  }

  /** Versions whose vectors may be in the store (every retained version but failed ones). */
  withData(): string[] {
    return [...this.records.values()].filter((r) => r.status !== 'failed').map((r) => r.version);
  }

  /** The load order number of the next version. */
  nextSeq(): number {
    return Math.max(0, ...[...this.records.values()].map((r) => r.seq)) + 1;
  }

  /**
   * Checks that a snapshot with this header may be loaded. Thrown by: a label
   * already retained and not failed (ALREADY_EXISTS), a base that is not READY
   * (FAILED_PRECONDITION) or belongs to another model or dimension (INVALID_ARGUMENT).
   */
  checkNewVersion(header: VectorFileHeader): NewVersionCheck {
    const { version, baseVersion } = header;
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
      if (base.producerModelVersion !== header.producerModelVersion || base.dimension !== header.dimension) {
        throw new PinrankError('INVALID_ARGUMENT', `incremental snapshot ${version} (model ${header.producerModelVersion}, dimension ${header.dimension}) does not match base ${baseVersion} (model ${base.producerModelVersion}, dimension ${base.dimension})`);
      }
    }
    return { base, replacesFailed: existing !== undefined };
  }

  /** Registers a new (loading) version and persists its record. */
  async add(record: SnapshotRecord): Promise<void> {
    this.records.set(record.version, record);
    await this.persist(record);
  }

  /** Writes a record as it is now (progress, the end of a load). */
  async persist(record: SnapshotRecord): Promise<void> {
    await this.o.store.setMeta(recordMetaName(record.version), JSON.stringify(record));
  }

  /** Forgets a version and deletes its persisted record (not its vectors). */
  async drop(version: string): Promise<void> {
    this.records.delete(version);
    await this.o.store.deleteMeta(recordMetaName(version));
  }

  /**
   * The record a version must have to become active. Thrown by: an unknown
   * (NOT_FOUND), loading or failed (FAILED_PRECONDITION) version.
   */
  activatable(version: string): SnapshotRecord {
    const record = this.records.get(version);
    if (!record) throw new PinrankError('NOT_FOUND', `snapshot version ${version} is not retained; retained: ${this.describe()}`);
    if (record.status !== 'ready') {
      throw new PinrankError('FAILED_PRECONDITION', `snapshot version ${version} is ${record.status}${record.error ? ` (${record.error})` : ''}; only a fully loaded version can be activated`);
    }
    return record;
  }

  /** Persists the active pointer, then moves it (a reader sees the old or the new version, never both). */
  async setActive(version: string): Promise<void> {
    await this.o.store.setMeta(ACTIVE_META_NAME, version);
    this.activeVersion = version;
  }

  /**
   * The record a read uses: the pinned version, or the active one when
   * `pinned` is empty. Thrown by: no active version, an unknown, loading or
   * failed version (PinrankError).
   */
  readable(pinned?: string): SnapshotRecord {
    const version = pinned || this.activeVersion;
    if (version === null) throw new PinrankError('FAILED_PRECONDITION', 'no snapshot is active yet; load one with LoadSnapshot and activate it');
    const record = this.records.get(version);
    if (!record) throw new PinrankError('NOT_FOUND', `snapshot version ${version} is not retained; retained: ${this.describe()}`);
    if (record.status === 'loading') throw new PinrankError('FAILED_PRECONDITION', `snapshot version ${version} is still loading (${Math.round(record.progress * 100)}%)`);
    if (record.status === 'failed') throw new PinrankError('FAILED_PRECONDITION', `snapshot version ${version} failed to load: ${record.error}`);
    return record;
  }

  /** What retention removes now: READY versions past the newest `retain` (the active one always stays) and FAILED records past `retain`. */
  retention(): RetentionPlan {
    const ready = [...this.records.values()].filter((r) => r.status === 'ready').sort(newestFirst);
    const keep = new Set(ready.slice(0, this.o.retain).map((r) => r.version));
    if (this.activeVersion !== null) keep.add(this.activeVersion);
    const failed = [...this.records.values()].filter((r) => r.status === 'failed').sort(newestFirst);
    return {
      evict: ready.filter((r) => !keep.has(r.version)).map((r) => r.version),
      forget: failed.slice(this.o.retain).map((r) => r.version),
    };
  }

  /**
   * Re-reads the persisted records and active pointer (written by this
   * replica before a restart, or by other replicas). At start-up a version
   * left LOADING by a crash becomes FAILED and its partial data is removed.
   * Versions `isLoading` says this replica is loading keep their live record.
   * Resolves to the versions that disappeared (removed by another replica).
   */
  async restore(atStartup: boolean, isLoading: (version: string) => boolean): Promise<string[]> {
    const stored = await this.o.store.listMeta(RECORD_META_PREFIX);
    const seen = new Set<string>();
    for (const [name, text] of stored) {
      const record = parseRecord(text, name);
      seen.add(record.version);
      if (isLoading(record.version)) continue; // this replica's own load is the truth
      if (atStartup && record.status === 'loading') {
        Object.assign(record, { status: 'failed', error: 'loading was interrupted by a restart; load it again' });
        await this.o.store.removePrefix(versionPrefix(record.version));
        await this.persist(record);
      }
      const local = this.records.get(record.version);
      if (local) Object.assign(local, record);
      else this.records.set(record.version, record);
    }
    const gone = [...this.records.keys()].filter((version) => !seen.has(version) && !isLoading(version));
    for (const version of gone) this.records.delete(version);
    const active = (await this.o.store.getMeta(ACTIVE_META_NAME)) ?? null;
    this.activeVersion = active !== null && this.records.get(active)?.status === 'ready' ? active : null;
    return gone;
  }

  /** The retained versions and their states, for error messages. */
  private describe(): string {
    const versions = [...this.records.values()].sort(newestFirst).map((r) => `${r.version} (${r.status})`);
    return versions.length > 0 ? versions.join(', ') : 'none';
  }
}
