import { createHash } from 'node:crypto';
import { keyNodes, type RedisClient } from '@pinrank/redis';

/**
 * The Redis layouts of a user's sequence actions. `ids`: a sorted set of action ids
 * (score timestamp) and the records in the user's hash; a read is one Lua script
 * (range, then HMGET). `records`: a sorted set whose members are the records
 * themselves (the action id, the record, the id's length as u16 LE; score timestamp),
 * the hash keeping only an empty entry per id for de-duplication; a read is one
 * ZREVRANGEBYSCORE, no Lua: a fifth to a quarter of Redis's time per read (docs/benchmarks.md).
 * Other actions are kept the same way in both.
 */
export const REDIS_LAYOUTS = ['ids', 'records'] as const;
export type RedisLayout = (typeof REDIS_LAYOUTS)[number];

/**
 * What a store is told to use: a layout, or `auto`, which keeps the layout a prefix has
 * (`ids`, or `records` once taken over) and gives a new prefix the records layout. An
 * unmarked prefix that may hold ids-layout sequences (written before prefixes were marked)
 * stays in the ids layout under `auto`; `records` takes it over.
 */
export const REDIS_LAYOUT_CHOICES = ['auto', ...REDIS_LAYOUTS] as const;
export type RedisLayoutChoice = (typeof REDIS_LAYOUT_CHOICES)[number];

/** What `<prefix>layout` holds: a layout, or the records layout taken over from the ids layout. */
export type LayoutMark = RedisLayout | typeof TAKEN_OVER;
/** The mark of a prefix the records layout took over while users may still be in the ids layout. */
export const TAKEN_OVER = 'records+ids';

const MARKS: readonly string[] = [...REDIS_LAYOUTS, TAKEN_OVER];

/** The key holding a prefix's layout mark. */
export function layoutKey(prefix: string): string {
  return `${prefix}layout`;
}

/**
 * The Redis client name of a store's connections (CLIENT SETNAME): the layout and a digest of
 * the prefix, so a takeover can tell whether a replica on the ids layout is still connected.
 */
export function layoutClientName(layout: RedisLayout | 'sweep' | 'claim', prefix: string): string {
  return `pinrank-fs-${layout}-${createHash('sha256').update(prefix).digest('hex').slice(0, 16)}`;
}

/** The SCAN pattern of the ids layout's sequence sets under a prefix (glob characters in the prefix escaped). */
export function idsSequencePattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}{*}:seq`;
}

/** The user of an ids-layout sequence key (`<prefix>{<user>}:seq`). */
export function userOfIdsSequenceKey(prefix: string, key: string): string {
  return key.slice(prefix.length + 1, key.length - '}:seq'.length);
}

/** How much of the keyspace the records layout scans for ids-layout sequences under an unmarked prefix. */
const UNMARKED_SCAN = { count: 1000, rounds: 100 };

/**
 * Records the prefix's layout in `<prefix>layout` and returns the mark. `auto` takes the
 * mark there is, and on an unmarked prefix claims the records layout when a bounded SCAN
 * finds no ids-layout sequences, the ids layout otherwise. The ids layout
 * claims an unmarked prefix and refuses one the records layout holds (it cannot read the
 * rows). The records layout claims any prefix: one of the ids layout, or an unmarked one
 * where a bounded SCAN finds ids-layout sequences or cannot rule them out, is marked
 * `records+ids`, and its reads also look for a user's actions still in the ids layout
 * until the takeover sweep (redis-takeover-sweep.ts) has moved every user.
 */
export async function claimLayout(redis: RedisClient, prefix: string, layout: RedisLayoutChoice): Promise<LayoutMark> {
  const key = layoutKey(prefix);
  const held = (await redis.get(key)) as LayoutMark | null;
  if (held !== null && !MARKS.includes(held)) throw new Error(`redis: ${key} holds "${String(held)}", not a layout mark (${MARKS.join(', ')})`);
  if (layout === 'auto') {
    if (held !== null) return held;
    const mark: LayoutMark = (await provablyNoIdsSequences(redis, prefix)) ? 'records' : 'ids';
    if ((await redis.set(key, mark, 'NX')) === 'OK') return mark;
    return claimLayout(redis, prefix, layout);
  }
  if (layout === 'ids') {
    if (held === null) await redis.set(key, 'ids', 'NX');
    const now = held ?? ((await redis.get(key)) as LayoutMark | null);
    if (now !== 'ids') {
      throw new Error(`redis: the keys under prefix "${prefix}" have moved to the records layout ("${now}"), which the "ids" layout cannot read (FEATURE_SERVER_REDIS_LAYOUT); keep "records" for this prefix`);
    }
    return 'ids';
  }
  if (held === 'records' || held === TAKEN_OVER) return held;
  if (held === 'ids') {
    await redis.set(key, TAKEN_OVER);
    return TAKEN_OVER;
  }
  // Unmarked: claim it only if no replica marked it meanwhile (an ids replica starting now
  // would otherwise write sequences that a prefix marked plain records never reads).
  const mark: LayoutMark = (await provablyNoIdsSequences(redis, prefix)) ? 'records' : TAKEN_OVER;
  if ((await redis.set(key, mark, 'NX')) === 'OK') return mark;
  return claimLayout(redis, prefix, layout);
}

/** Whether a whole SCAN of every node (within UNMARKED_SCAN in all) finds no ids-layout sequence under the prefix. */
async function provablyNoIdsSequences(redis: RedisClient, prefix: string): Promise<boolean> {
  let rounds = UNMARKED_SCAN.rounds;
  for (const node of keyNodes(redis)) {
    let cursor = '0';
    do {
      if (rounds-- === 0) return false;
      const [next, found] = await node.scan(cursor, 'MATCH', idsSequencePattern(prefix), 'COUNT', UNMARKED_SCAN.count);
      if (found.length > 0) return false;
      cursor = next;
    } while (cursor !== '0');
  }
  return true;
}
