import { type SequenceWriter } from '@pinrank/features';
import { open, type Database, type RootDatabase } from 'lmdb';
import { type ActionStore, type AppendOutcome, type RetentionPolicy, type SequenceWindow, retentionClass, validateRetention } from './action-store';
import { RowCodec, UNREAD_KEYS } from './lmdb-sequence-rows';
import { decodeRecord, encodeRecord, READ_VECTORS, type StoredRecord } from './stored-record';

/** Options of the embedded LMDB action store. */
export interface LmdbActionStoreOptions {
  /** Directory (created if missing) holding the LMDB environment. */
  path: string;
  /** Per-user retention. */
  retention: RetentionPolicy;
  /** Maximum map size in bytes. Default 8 GiB (address space only; the file grows as needed). */
  mapSize?: number;
}

type RecordKey = [string, number, number, string];

/**
 * The records database's value codec. `decode` is handed LMDB's shared read
 * buffer and the value's size (lmdb-js does so when the decoder copies: it
 * does not ask for a stable buffer).
 */
const RECORD_CODEC = {
  encode: (record: StoredRecord): Buffer => encodeRecord(record),
  decode: (bytes: Buffer, size?: unknown): StoredRecord => decodeRecord(bytes, typeof size === 'number' ? size : bytes.length, READ_VECTORS),
  needsStableBuffer: false,
};

/**
 * The default backend: one LMDB environment with two databases.
 * `records`: key [userId, class, timestampMs, actionId] → encoded record, so a user's
 * actions of one class are one contiguous range ordered by time (out-of-order arrivals
 * land in place). `ids`: key [userId, actionId] → timestampMs, for de-duplication.
 * `counts`: key [userId, class] → records held, so an append never scans the user's range.
 * Appends run in one write transaction and resolve after the commit is flushed to disk.
 */
export class LmdbActionStore implements ActionStore {
  private readonly root: RootDatabase;
  private readonly records: Database<StoredRecord, RecordKey>;
  /** The records database again, read straight into sequence tensors (lmdb-sequence-rows.ts). */
  private readonly recordRows: Database<true, RecordKey>;
  private readonly rowCodec = new RowCodec();
  private readonly ids: Database<number, [string, string]>;
  private readonly counts: Database<number, [string, number]>;
  private readonly retention: RetentionPolicy;

  private constructor(root: RootDatabase, retention: RetentionPolicy) {
    this.root = root;
    this.retention = retention;
    // Values are encodeRecord's bytes, decoded by decodeRecord straight from the read buffer
    // LMDB reuses (it copies what it returns): no intermediate copy of each value per read.
    // (lmdb-js takes `encoder` on any database; its typings list it on the root's options only.)
    this.records = root.openDB<StoredRecord, RecordKey>({ name: 'records', encoding: 'binary', encoder: RECORD_CODEC } as { name: string });
    this.recordRows = root.openDB<true, RecordKey>({ name: 'records', encoding: 'binary', encoder: this.rowCodec, keyEncoder: UNREAD_KEYS } as { name: string });
    this.ids = root.openDB<number, [string, string]>({ name: 'ids', encoding: 'ordered-binary' });
    this.counts = root.openDB<number, [string, number]>({ name: 'counts', encoding: 'ordered-binary' });
  }

  /** Opens (or creates) the store at `options.path`. Throws TypeError on invalid options. */
  static open(options: LmdbActionStoreOptions): LmdbActionStore {
    if (!options.path) throw new TypeError('lmdb.path: must be a non-empty directory path');
    const retention = validateRetention(options.retention);
    const root = open({ path: options.path, maxDbs: 4, mapSize: options.mapSize ?? 8 * 1024 ** 3 });
    return new LmdbActionStore(root, retention);
  }

  async append(records: readonly StoredRecord[]): Promise<AppendOutcome[]> {
    if (records.length === 0) return [];
    const outcomes = await this.root.transaction(() => {
      const out: AppendOutcome[] = [];
      const touched = new Map<string, { userId: string; cls: 0 | 1; count: number }>();
      const inserted = new Map<string, number>();
      for (const r of records) {
        const idKey: [string, string] = [r.userId, r.actionId];
        if (this.ids.doesExist(idKey)) {
          out.push('duplicate');
          continue;
        }
        const cls = retentionClass(this.retention, r.actionType);
        const t = `${cls}\u0000${r.userId}`;
        // Read the count before this record is written (the fallback counts the range).
        const entry = touched.get(t) ?? { userId: r.userId, cls, count: this.count(r.userId, cls) };
        entry.count++;
        touched.set(t, entry);
        void this.ids.put(idKey, r.timestampMs);
        void this.records.put([r.userId, cls, r.timestampMs, r.actionId], r);
        inserted.set(`${r.userId}\u0000${r.actionId}`, out.length);
        out.push('accepted');
      }
      for (const { userId, cls, count } of touched.values()) {
        for (const actionId of this.trim(userId, cls, count)) {
          const i = inserted.get(`${userId}\u0000${actionId}`);
          if (i !== undefined) out[i] = 'expired';
        }
      }
      return out;
    });
    // The transaction promise resolves at commit; acknowledge only once it is on disk.
    await this.root.flushed;
    return outcomes;
  }

  /** Records held for (user, class); counted from the range when no count is stored yet. */
  private count(userId: string, cls: 0 | 1): number {
    return this.counts.get([userId, cls]) ?? this.records.getKeysCount({ start: [userId, cls], end: [userId, cls + 1] } as never);
  }

  /**
   * Stores the new count and removes the oldest actions of one class beyond the cap;
   * returns their action ids. Runs inside the write transaction.
   */
  private trim(userId: string, cls: 0 | 1, count: number): string[] {
    const cap = cls === 1 ? this.retention.maxSequenceActions : this.retention.maxOtherActions;
    void this.counts.put([userId, cls], Math.min(count, cap));
    if (count <= cap) return [];
    const oldest: RecordKey[] = [];
    for (const key of this.records.getKeys({ start: [userId, cls], end: [userId, cls + 1], limit: count - cap } as never)) oldest.push(key);
    for (const key of oldest) {
      void this.records.remove(key);
      void this.ids.remove([userId, key[3]]);
    }
    return oldest.map((k) => k[3]);
  }

  readSequence(userId: string, window?: SequenceWindow): Promise<StoredRecord[]> {
    return Promise.resolve(this.readSync(userId, window));
  }

  readSequenceInto(userId: string, window: SequenceWindow, into: SequenceWriter, includeTypes: ReadonlySet<number>): boolean {
    return this.rowCodec.read(into, includeTypes, () => {
      // Consumed for the codec's side effect: each value is written into `into` as it is read.
      for (const entry of this.recordRows.getRange(windowRange(userId, window) as never)) void entry;
    });
  }

  readSequences(userIds: readonly string[], window?: SequenceWindow): Promise<StoredRecord[][]> {
    return Promise.resolve(userIds.map((u) => this.readSync(u, window)));
  }

  private readSync(userId: string, window: SequenceWindow | undefined): StoredRecord[] {
    const out: StoredRecord[] = [];
    const range = window ? windowRange(userId, window) : { start: [userId, 1], end: [userId, 2] };
    for (const { value } of this.records.getRange(range as never)) out.push(value);
    return out;
  }

  async deleteUser(userId: string): Promise<number> {
    const removed = await this.root.transaction(() => {
      let n = 0;
      const keys: RecordKey[] = [];
      for (const key of this.records.getKeys({ start: [userId], end: [userId, 2] } as never)) keys.push(key);
      for (const key of keys) {
        void this.records.remove(key);
        void this.ids.remove([userId, key[3]]);
        n++;
      }
      void this.counts.remove([userId, 0]);
      void this.counts.remove([userId, 1]);
      return n;
    });
    await this.root.flushed;
    return removed;
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

/**
 * The range of a windowed read: newest first from as-of, as many as asked. Keys
 * [user, 1, ts, id] with ts ≤ as-of sort below [user, 1, as-of + 1] (timestamps
 * are integer ms), and [user, 1] below all of them.
 */
function windowRange(userId: string, window: SequenceWindow): { start: unknown[]; end: unknown[]; reverse: true; limit: number } {
  return { start: [userId, 1, Math.floor(window.asOfMs) + 1], end: [userId, 1], reverse: true, limit: window.limit };
}
