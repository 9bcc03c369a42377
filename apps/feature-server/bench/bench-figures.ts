// What the feature-server's smaller benches share: number formatting, the median and
// latency summaries,
// progress lines on stderr timed from the start of the run, the actions they store, and
// removing what they wrote to Redis.
import type Redis from 'ioredis';
import { type StoredRecord } from '../src/store/stored-record';

/** A number for a table: thousands separated, `d` decimals. */
export const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** The median (lower middle) of the samples; NaN for none. */
export function p50(samples: readonly number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
}

/** The median, 99th percentile and mean of latency samples (ms); NaN for none. */
export function summary(samplesMs: readonly number[]): { p50: number; p99: number; mean: number } {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
  return { p50: at(50), p99: at(99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** A progress logger: each line on stderr, prefixed with the seconds since this call. */
export function progressLog(): (line: string) => void {
  const started = performance.now();
  return (line) => void process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${line}\n`);
}

/**
 * Action `i` of a bench's users `u0`…`u<users - 1>`: a sequence type (2-5), a day before
 * `asOfMs` plus `i` ms (so a user's actions are in order), a 32-float item vector.
 */
export function benchAction(i: number, users: number, asOfMs: number): StoredRecord {
  return {
    actionId: `a${i}`,
    userId: `u${i % users}`,
    itemId: `item-${i % 997}`,
    actionType: 2 + (i % 4),
    timestampMs: asOfMs - 86_400_000 + i,
    surface: 1,
    durationMs: 500,
    itemKnown: true,
    vector: new Float32Array(32).map((_, j) => (i + j) / 100),
  };
}

/** Removes every key under `prefix` (SCAN, then UNLINK page by page). */
export async function removeKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
