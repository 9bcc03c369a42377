import { type SequenceWriter } from '@pinrank/features';
import { type DataClientSecurity } from '@pinrank/service-kit';
import { type ChainableCommander, type RedisOptions } from 'ioredis';
import { type ActionStore, type AppendOutcome, type RetentionPolicy, type SequenceWindow, retentionClass, validateRetention } from './action-store';
import { SequenceRows } from './sequence-rows';
import { connectChecked, connectRedis, duplicateNamed, inBatch, type OutageLogger, type RedisClient } from '@pinrank/redis';
import { claimLayout, layoutClientName, layoutKey, REDIS_LAYOUT_CHOICES, TAKEN_OVER, type LayoutMark, type RedisLayout, type RedisLayoutChoice } from './redis-layout-mark';
import { TakeoverSweep, type TakeoverSweepOptions } from './redis-takeover-sweep';
import { decodeRecord, encodeRecord, READ_VECTORS, viewRecordRow, type StoredRecord } from './stored-record';

export { REDIS_LAYOUT_CHOICES, REDIS_LAYOUTS, type LayoutMark, type RedisLayout, type RedisLayoutChoice } from './redis-layout-mark';

/** Options of the Redis action store. */
export interface RedisActionStoreOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379/0`; with `cluster`, seed nodes' URLs, comma-separated. */
  url: string;
  /** A Redis Cluster (each user's keys share a hash tag, so each user stays on one node). Default false. */
  cluster?: boolean;
  /** Prefix of every key this store writes. Default `pinrank:fs:`. */
  keyPrefix?: string;
  /** Per-user retention. */
  retention: RetentionPolicy;
  /** Extra ioredis options (timeouts). */
  redis?: RedisOptions;
  /** TLS (private CA, client certificate) and ACL user of every connection (`connectRedis`). */
  security?: DataClientSecurity;
  /** Where the connections' outages are reported, once each (`logOutages`). */
  logger?: OutageLogger;
  /**
   * How a user's sequence actions are kept (see REDIS_LAYOUTS and REDIS_LAYOUT_CHOICES). Default
   * `auto`: the prefix's own layout, the records layout for a new prefix.
   * The records layout takes over a prefix of the ids layout (each user moves at their next
   * append; reads merge both meanwhile); the ids layout refuses a prefix of the records layout.
   */
  layout?: RedisLayoutChoice;
}

/**
 * An append script. KEYS: sequence zset, other zset, record hash. ARGV: cap1, cap0, then
 * (actionId, class, ts, record) quads. Returns one flag per record: 1 stored, 0 duplicate,
 * 2 expired (trimmed at once: older than the full window). Trimmed ids leave the hash, so
 * ids stay bounded by the retention caps. `store` (Lua) stores one record (locals id, cls,
 * ts, record) and sets `stored` when it was new; `trimmedIds` (Lua) turns `old`, the
 * sequence zset's trimmed members, into their action ids; `prelude` (Lua) runs first.
 */
function appendScript(store: string, trimmedIds: string, prelude = ''): string {
  return `
local caps = { [0] = tonumber(ARGV[2]), [1] = tonumber(ARGV[1]) }
local out = {}
local touched = {}
local inserted = {}
${prelude}
for i = 3, #ARGV, 4 do
  local id, cls, ts, record = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  local stored = false
${store}
  if stored then
    touched[cls] = true
    out[#out + 1] = 1
    inserted[id] = #out
  else
    out[#out + 1] = 0
  end
end
for cls, _ in pairs(touched) do
  local key = KEYS[2 - cls]
  local extra = redis.call('ZCARD', key) - caps[cls]
  if extra > 0 then
    local old = redis.call('ZRANGE', key, 0, extra - 1)
    redis.call('ZREMRANGEBYRANK', key, 0, extra - 1)
    if cls == 1 then
${trimmedIds}
    end
    for j = 1, #old, 1000 do
      redis.call('HDEL', KEYS[3], unpack(old, j, math.min(j + 999, #old)))
    end
    for _, id in ipairs(old) do
      if inserted[id] then out[inserted[id]] = 2 end
    end
  end
end
return out
`;
}

// The ids layout: both zsets hold action ids, the hash the records.
const APPEND_LUA = appendScript(
  `  if redis.call('HSETNX', KEYS[3], id, record) == 1 then
    redis.call('ZADD', KEYS[2 - cls], ts, id)
    stored = true
  end`,
  '',
);

// The records layout (KEYS[4]: the ids layout's sequence zset of the same user): a sequence
// action is stored as the member id .. record .. u16 LE id length (equal timestamps then order
// by id bytes, as in the ids layout and LMDB), and an empty hash entry under its id keeps
// de-duplication; trimmed rows give their ids back by that trailer. Other actions as in the
// ids layout. First, the user's sequence actions still in the ids layout (written before
// the prefix moved to this layout, or since by a replica still on it) move into the rows.
const APPEND_RECORDS_LUA = appendScript(
  `  if cls == 1 then
    if redis.call('HSETNX', KEYS[3], id, '') == 1 then
      redis.call('ZADD', KEYS[1], ts, id .. record .. string.char(#id % 256, math.floor(#id / 256)))
      stored = true
    end
  elseif redis.call('HSETNX', KEYS[3], id, record) == 1 then
    redis.call('ZADD', KEYS[2], ts, id)
    stored = true
  end`,
  `      for j, m in ipairs(old) do
        old[j] = string.sub(m, 1, string.byte(m, -2) + 256 * string.byte(m, -1))
      end`,
  `if redis.call('EXISTS', KEYS[4]) == 1 then
  local legacy = redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES')
  for j = 1, #legacy, 2 do
    local id = legacy[j]
    local record = redis.call('HGET', KEYS[3], id)
    if record and record ~= '' then
      redis.call('ZADD', KEYS[1], legacy[j + 1], id .. record .. string.char(#id % 256, math.floor(#id / 256)))
      redis.call('HSET', KEYS[3], id, '')
    end
  end
  redis.call('DEL', KEYS[4])
  touched[1] = true
end`,
);

// KEYS: sequence zset, record hash; ARGV (optional): as-of, limit. Returns the sequence records
// (oldest first), or with ARGV the newest `limit` scored at or before as-of (newest first).
const READ_LUA = `
local ids
if ARGV[1] then
  ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'LIMIT', 0, ARGV[2])
else
  ids = redis.call('ZRANGE', KEYS[1], 0, -1)
end
local out = {}
for j = 1, #ids, 1000 do
  local part = redis.call('HMGET', KEYS[2], unpack(ids, j, math.min(j + 999, #ids)))
  for _, v in ipairs(part) do out[#out + 1] = v end
end
return out
`;

// KEYS: sequence zset, other zset, record hash (records layout: and the ids layout's
// sequence zset). Returns the number of records removed.
const DELETE_LUA = `
local n = redis.call('HLEN', KEYS[3])
redis.call('DEL', unpack(KEYS))
return n
`;

const SCRIPT_CHUNK = 500;
const FLAG_OUTCOMES: readonly AppendOutcome[] = ['duplicate', 'accepted', 'expired'];

type Commands = RedisClient & {
  fsAppend(k1: string, k2: string, k3: string, ...argv: Array<string | Buffer | number>): Promise<number[]>;
  fsAppendRecords(k1: string, k2: string, k3: string, k4: string, ...argv: Array<string | Buffer | number>): Promise<number[]>;
  fsReadBuffer(k1: string, k2: string, ...window: number[]): Promise<Array<Buffer | null>>;
  fsDelete(k1: string, k2: string, k3: string): Promise<number>;
  fsDeleteRecords(k1: string, k2: string, k3: string, k4: string): Promise<number>;
};

/**
 * The scale-out backend: per user a sorted set per retention class (member action id,
 * score timestamp) and a hash action id → encoded record, all under one hash tag so a
 * user's keys live on one shard. Each user's append, trim and read is one Lua script,
 * so any number of feature-server replicas can share the same Redis.
 * Durability is Redis's own (AOF with `appendfsync always` for acknowledged-means-durable).
 */
export class RedisActionStore implements ActionStore {
  private readonly redis: Commands;
  private readonly prefix: string;
  private readonly retention: RetentionPolicy;
  private readonly rowsLayout: boolean;
  /** The prefix's mark; `records+ids` (a takeover not yet finished): reads also look for a user's actions in the ids layout. */
  private mark: LayoutMark;

  private constructor(redis: Commands, prefix: string, retention: RetentionPolicy, mark: LayoutMark) {
    this.redis = redis;
    this.prefix = prefix;
    this.retention = retention;
    this.rowsLayout = mark !== 'ids';
    this.mark = mark;
  }

  /**
   * Connects, registers the scripts and checks the prefix's layout. Throws
   * TypeError on invalid options, and an Error when the prefix holds the other layout.
   */
  static async open(options: RedisActionStoreOptions): Promise<RedisActionStore> {
    if (!options.url) throw new TypeError('redis.url: must be a redis:// URL');
    const choice = options.layout ?? 'auto';
    if (!REDIS_LAYOUT_CHOICES.includes(choice)) throw new TypeError(`redis.layout: must be one of ${REDIS_LAYOUT_CHOICES.join(', ')}, got ${String(choice)}`);
    const retention = validateRetention(options.retention);
    const prefix = options.keyPrefix ?? 'pinrank:fs:';
    const connect = (connectionName: string): RedisClient =>
      connectRedis({ url: options.url, cluster: options.cluster ?? false, connectionName, clusterSetting: 'the cluster option (FEATURE_SERVER_REDIS_CLUSTER=true)', ...(options.redis ? { redis: options.redis } : {}), ...(options.security ? { security: options.security } : {}), ...(options.logger ? { logger: options.logger } : {}) });
    // The layout is settled first, on a connection of its own, so the store's connections carry
    // the layout in their name from the start: a takeover finishes only once no ids-layout store is connected.
    const claim = connect(layoutClientName('claim', prefix));
    let claimed: LayoutMark;
    // The first contact: a refused connection fails the start-up with its reason, and leaves no client retrying.
    await connectChecked(claim, options);
    try {
      claimed = await claimLayout(claim, prefix, choice);
    } finally {
      await claim.quit().catch(() => claim.disconnect());
    }
    const layout: RedisLayout = claimed === 'ids' ? 'ids' : 'records';
    const redis = connect(layoutClientName(layout, prefix)) as Commands;
    redis.defineCommand('fsAppend', { numberOfKeys: 3, lua: APPEND_LUA });
    redis.defineCommand('fsAppendRecords', { numberOfKeys: 4, lua: APPEND_RECORDS_LUA });
    redis.defineCommand('fsRead', { numberOfKeys: 2, lua: READ_LUA });
    redis.defineCommand('fsDelete', { numberOfKeys: 3, lua: DELETE_LUA });
    redis.defineCommand('fsDeleteRecords', { numberOfKeys: 4, lua: DELETE_LUA });
    try {
      await redis.connect();
      // Once this connection is visible, look again: a records replica may have taken the prefix over meanwhile.
      const mark = ((await redis.get(layoutKey(prefix))) ?? claimed) as LayoutMark;
      if (layout === 'ids' && mark !== 'ids') throw new Error(`redis: the keys under prefix "${prefix}" moved to the records layout ("${mark}") while this store started; start it again`);
      if (layout === 'records' && mark === 'ids') throw new Error(`redis: ${layoutKey(prefix)} was set back to "ids" while this store started; the records layout never moves back`);
      return new RedisActionStore(redis, prefix, retention, mark);
    } catch (err) {
      redis.disconnect();
      throw err;
    }
  }

  /** The prefix's layout mark as this store last read it. */
  get layoutMark(): LayoutMark {
    return this.mark;
  }

  /**
   * Reads the prefix's mark again: once a takeover has finished (`records+ids` became
   * `records`), reads stop looking for actions in the ids layout. Returns the mark.
   */
  async refreshLayoutMark(): Promise<LayoutMark> {
    if (this.mark === TAKEN_OVER && (await this.redis.get(layoutKey(this.prefix))) === 'records') this.mark = 'records';
    return this.mark;
  }

  /** Moves these users' actions still in the ids layout into the rows (the records layout's append script with no actions). */
  async moveToRows(userIds: readonly string[]): Promise<void> {
    if (!this.rowsLayout) throw new Error('redis: moveToRows needs the records layout');
    const caps = [this.retention.maxSequenceActions, this.retention.maxOtherActions];
    await inBatch(this.redis, userIds.length, (i) => this.legacyKey(userIds[i] as string), (on, i) => {
      const u = userIds[i] as string;
      return on.fsAppendRecords(...this.keys(u), this.legacyKey(u), ...caps);
    });
  }

  /**
   * Starts the sweep that finishes a takeover on this store's prefix (records layout only):
   * see TakeoverSweep. It runs on a connection of its own until it finishes or is stopped.
   */
  startTakeoverSweep(options: TakeoverSweepOptions): TakeoverSweep {
    if (!this.rowsLayout) throw new Error('redis: a takeover sweep needs the records layout');
    const connection = duplicateNamed(this.redis, layoutClientName('sweep', this.prefix), options.logger);
    return new TakeoverSweep(this, connection, this.prefix, options);
  }

  private keys(userId: string): [string, string, string] {
    const base = `${this.prefix}{${userId}}`;
    return [this.rowsLayout ? `${base}:rows` : `${base}:seq`, `${base}:other`, `${base}:rec`];
  }

  /** The ids layout's sequence zset of the user: what the records layout still reads, then moves into its rows. */
  private legacyKey(userId: string): string {
    return `${this.prefix}{${userId}}:seq`;
  }

  async append(records: readonly StoredRecord[]): Promise<AppendOutcome[]> {
    const byUser = new Map<string, number[]>();
    records.forEach((r, i) => {
      const list = byUser.get(r.userId);
      if (list) list.push(i);
      else byUser.set(r.userId, [i]);
    });
    // One script call per user and chunk: a script blocks Redis while it runs, so keep each short.
    const users: Array<[string, number[]]> = [];
    for (const [userId, idx] of byUser) {
      for (let i = 0; i < idx.length; i += SCRIPT_CHUNK) users.push([userId, idx.slice(i, i + SCRIPT_CHUNK)]);
    }
    const results = await inBatch<Commands, number[]>(this.redis, users.length, (u) => this.legacyKey((users[u] as [string, number[]])[0]), (on, u) => {
      const [userId, idx] = users[u] as [string, number[]];
      const argv: Array<string | Buffer | number> = [this.retention.maxSequenceActions, this.retention.maxOtherActions];
      for (const i of idx) {
        const r = records[i] as StoredRecord;
        argv.push(r.actionId, retentionClass(this.retention, r.actionType), r.timestampMs, encodeRecord(r));
      }
      return this.rowsLayout ? on.fsAppendRecords(...this.keys(userId), this.legacyKey(userId), ...argv) : on.fsAppend(...this.keys(userId), ...argv);
    });
    const outcomes: AppendOutcome[] = new Array<AppendOutcome>(records.length);
    users.forEach(([, idx], u) => idx.forEach((i, j) => (outcomes[i] = FLAG_OUTCOMES[(results[u] as number[])[j] ?? 0] ?? 'duplicate')));
    return outcomes;
  }

  async readSequence(userId: string, window?: SequenceWindow): Promise<StoredRecord[]> {
    return decodeAll(await this.read(userId, window));
  }

  async readSequenceInto(userId: string, window: SequenceWindow, into: SequenceWriter, includeTypes: ReadonlySet<number>): Promise<boolean> {
    // ZREVRANGEBYSCORE orders equal timestamps by member bytes, descending: the action id's in the
    // ids layout, and in the records layout too (each member starts with its id): SequenceRows' order.
    const values = await this.read(userId, window);
    const rows = new SequenceRows(into, includeTypes);
    for (const v of values) if (v) rows.accept(v, v.length);
    return rows.exact;
  }

  async readSequences(userIds: readonly string[], window?: SequenceWindow): Promise<StoredRecord[][]> {
    if (userIds.length === 0) return [];
    // Commands issued together go out together on the one connection (per node on a cluster).
    if (this.rowsLayout) return Promise.all(userIds.map(async (u) => decodeAll(await this.read(u, window))));
    const results = await inBatch<Commands, Array<Buffer | null>>(this.redis, userIds.length, (i) => this.legacyKey(userIds[i] as string), (on, i) => {
      const [seq, , rec] = this.keys(userIds[i] as string);
      return on.fsReadBuffer(seq, rec, ...windowArgs(window));
    });
    return results.map(decodeAll);
  }

  /**
   * The user's encoded sequence records: the window's, newest first, or without one all of
   * them, oldest first. The records layout reads its rows with one ZREVRANGEBYSCORE and, in
   * the same round trip, whether any of the user's actions are still in the ids layout; only
   * then does it read those too (the ids layout's script) and merge the two.
   */
  private async read(userId: string, window: SequenceWindow | undefined): Promise<Array<Buffer | null>> {
    const [seq, , rec] = this.keys(userId);
    if (!this.rowsLayout) return this.redis.fsReadBuffer(seq, rec, ...windowArgs(window));
    const legacy = this.legacyKey(userId);
    const [members, hasLegacy] = await Promise.all([readRows(this.redis, seq, window), this.mark === TAKEN_OVER ? this.redis.exists(legacy) : 0]);
    if (hasLegacy === 0) return members.map(recordOfMember);
    // Both again, in one transaction (one user's keys share a hash tag, so one cluster node):
    // an append moving this user between two separate reads would hide what it moved.
    const tx = this.redis.multi() as unknown as Commands;
    void readRows(tx, seq, window);
    void tx.fsReadBuffer(legacy, rec, ...windowArgs(window));
    const [rowsAgain, older] = ((await (tx as unknown as ChainableCommander).exec()) ?? []).map(([err, value]) => {
      if (err) throw err;
      return value as Array<Buffer | null>;
    });
    const rows = (rowsAgain ?? []).map((m) => recordOfMember(m as Buffer));
    return mergeRecords(rows, (older ?? []).filter((v): v is Buffer => v !== null), window);
  }

  async deleteUser(userId: string): Promise<number> {
    if (this.rowsLayout) return this.redis.fsDeleteRecords(...this.keys(userId), this.legacyKey(userId));
    return this.redis.fsDelete(...this.keys(userId));
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}

/** The records layout's rows of a read (on a connection or in a transaction): the window's, newest first; without one, all, oldest first. */
function readRows(on: Commands, rows: string, window: SequenceWindow | undefined): Promise<Buffer[]> {
  return window ? on.zrevrangebyscoreBuffer(rows, window.asOfMs, '-inf', 'LIMIT', 0, window.limit) : on.zrangeBuffer(rows, 0, -1);
}

/** The record inside a member of the records layout (id, record, u16 LE id length): a view, no copy. */
function recordOfMember(member: Buffer): Buffer {
  if (member.length < 2) throw new RangeError(`redis: a sequence member of ${member.length} bytes`);
  const idBytes = member.readUInt16LE(member.length - 2);
  if (idBytes + 2 > member.length) throw new RangeError(`redis: a sequence member names a ${idBytes}-byte id in ${member.length} bytes`);
  return member.subarray(idBytes, member.length - 2);
}

/**
 * One user's encoded sequence records from both layouts, as one read answers them: with a window,
 * the newest `limit`, newest first (equal timestamps by action id bytes, descending, as the
 * stores order them); without one, all, oldest first.
 */
function mergeRecords(a: Buffer[], b: Buffer[], window: SequenceWindow | undefined): Buffer[] {
  const view = { actionType: 0, timestampMs: 0, dimension: 0, vectorOffset: 0, actionIdOffset: 0, actionIdLength: 0, userIdLength: 0, itemIdLength: 0 };
  const key = (r: Buffer): { ts: number; id: Buffer } => {
    const v = viewRecordRow(r, r.length, view);
    return { ts: v.timestampMs, id: r.subarray(v.actionIdOffset, v.actionIdOffset + v.actionIdLength) };
  };
  const keyed = [...a, ...b].map((r) => ({ r, ...key(r) }));
  // Oldest first: timestamp, then id bytes, ascending.
  keyed.sort((x, y) => x.ts - y.ts || Buffer.compare(x.id, y.id));
  const records = keyed.map((k) => k.r);
  return window ? records.reverse().slice(0, window.limit) : records;
}

/** The read script's arguments for a window: the newest `limit` with a score (timestamp) at or below as-of. */
function windowArgs(window: SequenceWindow | undefined): number[] {
  return window ? [window.asOfMs, window.limit] : [];
}

function decodeAll(values: Array<Buffer | null>): StoredRecord[] {
  const out: StoredRecord[] = [];
  // A null is a record trimmed between ZRANGE and HMGET of another script: impossible
  // within one script, kept as a guard.
  for (const v of values) if (v) out.push(decodeRecord(v, v.length, READ_VECTORS));
  return out;
}
