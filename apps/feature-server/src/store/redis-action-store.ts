import { type SequenceWriter } from '@pinrank/features';
import Redis, { type RedisOptions } from 'ioredis';
import { type ActionStore, type AppendOutcome, type RetentionPolicy, type SequenceWindow, retentionClass, validateRetention } from './action-store';
import { SequenceRows } from './sequence-rows';
import { decodeRecord, encodeRecord, READ_VECTORS, type StoredRecord } from './stored-record';

/** Options of the Redis action store. */
export interface RedisActionStoreOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379/0`. */
  url: string;
  /** Prefix of every key this store writes. Default `pinrank:fs:`. */
  keyPrefix?: string;
  /** Per-user retention. */
  retention: RetentionPolicy;
  /** Extra ioredis options (timeouts, TLS). */
  redis?: RedisOptions;
}

// KEYS: sequence zset, other zset, record hash. ARGV: cap1, cap0, then (actionId, class, ts, record) quads.
// Returns one flag per record: 1 stored, 0 duplicate, 2 expired (trimmed at once: older than the
// full window). Trimmed ids leave the hash, so ids stay bounded by the retention caps.
const APPEND_LUA = `
local caps = { [0] = tonumber(ARGV[2]), [1] = tonumber(ARGV[1]) }
local out = {}
local touched = {}
local inserted = {}
for i = 3, #ARGV, 4 do
  local id, cls = ARGV[i], tonumber(ARGV[i + 1])
  if redis.call('HSETNX', KEYS[3], id, ARGV[i + 3]) == 1 then
    redis.call('ZADD', KEYS[2 - cls], ARGV[i + 2], id)
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

// KEYS: sequence zset, other zset, record hash. Returns the number of records removed.
const DELETE_LUA = `
local n = redis.call('HLEN', KEYS[3])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return n
`;

const SCRIPT_CHUNK = 500;
const FLAG_OUTCOMES: readonly AppendOutcome[] = ['duplicate', 'accepted', 'expired'];

type Commands = Redis & {
  fsAppend(k1: string, k2: string, k3: string, ...argv: Array<string | Buffer | number>): Promise<number[]>;
  fsReadBuffer(k1: string, k2: string, ...window: number[]): Promise<Array<Buffer | null>>;
  fsDelete(k1: string, k2: string, k3: string): Promise<number>;
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

  private constructor(redis: Commands, prefix: string, retention: RetentionPolicy) {
    this.redis = redis;
    this.prefix = prefix;
    this.retention = retention;
  }

  /** Connects and registers the scripts. Throws TypeError on invalid options. */
  static async open(options: RedisActionStoreOptions): Promise<RedisActionStore> {
    if (!options.url) throw new TypeError('redis.url: must be a redis:// URL');
    const retention = validateRetention(options.retention);
    const redis = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 2, ...options.redis }) as Commands;
    redis.defineCommand('fsAppend', { numberOfKeys: 3, lua: APPEND_LUA });
    redis.defineCommand('fsRead', { numberOfKeys: 2, lua: READ_LUA });
    redis.defineCommand('fsDelete', { numberOfKeys: 3, lua: DELETE_LUA });
    await redis.connect();
    return new RedisActionStore(redis, options.keyPrefix ?? 'pinrank:fs:', retention);
  }

  private keys(userId: string): [string, string, string] {
    const base = `${this.prefix}{${userId}}`;
    return [`${base}:seq`, `${base}:other`, `${base}:rec`];
  }

  async append(records: readonly StoredRecord[]): Promise<AppendOutcome[]> {
    const byUser = new Map<string, number[]>();
    records.forEach((r, i) => {
      const list = byUser.get(r.userId);
      if (list) list.push(i);
      else byUser.set(r.userId, [i]);
    });
    const pipeline = this.redis.pipeline() as unknown as Commands;
    // One script call per user and chunk: a script blocks Redis while it runs, so keep each short.
    const users: Array<[string, number[]]> = [];
    for (const [userId, idx] of byUser) {
      for (let i = 0; i < idx.length; i += SCRIPT_CHUNK) users.push([userId, idx.slice(i, i + SCRIPT_CHUNK)]);
    }
    for (const [userId, idx] of users) {
      const argv: Array<string | Buffer | number> = [this.retention.maxSequenceActions, this.retention.maxOtherActions];
      for (const i of idx) {
        const r = records[i] as StoredRecord;
        argv.push(r.actionId, retentionClass(this.retention, r.actionType), r.timestampMs, encodeRecord(r));
      }
      void pipeline.fsAppend(...this.keys(userId), ...argv);
    }
    const results = (await (pipeline as unknown as ReturnType<Redis['pipeline']>).exec()) ?? [];
    const outcomes: AppendOutcome[] = new Array<AppendOutcome>(records.length);
    users.forEach(([, idx], u) => {
      const [err, flags] = results[u] ?? [new Error('redis: missing pipeline reply'), null];
      if (err) throw err;
      idx.forEach((i, j) => (outcomes[i] = FLAG_OUTCOMES[(flags as number[])[j] ?? 0] ?? 'duplicate'));
    });
    return outcomes;
  }

  async readSequence(userId: string, window?: SequenceWindow): Promise<StoredRecord[]> {
    const [seq, , rec] = this.keys(userId);
    const values = await this.redis.fsReadBuffer(seq, rec, ...windowArgs(window));
    return decodeAll(values);
  }

  async readSequenceInto(userId: string, window: SequenceWindow, into: SequenceWriter, includeTypes: ReadonlySet<number>): Promise<boolean> {
    const [seq, , rec] = this.keys(userId);
    // ZREVRANGEBYSCORE orders equal timestamps by member (the action id) bytes, descending: SequenceRows' order.
    const values = await this.redis.fsReadBuffer(seq, rec, ...windowArgs(window));
    const rows = new SequenceRows(into, includeTypes);
    for (const v of values) if (v) rows.accept(v, v.length);
    return rows.exact;
  }

  async readSequences(userIds: readonly string[], window?: SequenceWindow): Promise<StoredRecord[][]> {
    if (userIds.length === 0) return [];
    const pipeline = this.redis.pipeline() as unknown as Commands;
    for (const u of userIds) {
      const [seq, , rec] = this.keys(u);
      void pipeline.fsReadBuffer(seq, rec, ...windowArgs(window));
    }
    const results = (await (pipeline as unknown as ReturnType<Redis['pipeline']>).exec()) ?? [];
    return results.map(([err, values]) => {
      if (err) throw err;
      return decodeAll(values as Array<Buffer | null>);
    });
  }

  async deleteUser(userId: string): Promise<number> {
    return this.redis.fsDelete(...this.keys(userId));
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
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
