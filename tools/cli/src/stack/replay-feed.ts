import { join } from 'node:path';
import { type UserAction } from '@pinrank/proto';
import { FeatureServerClient } from '@pinrank/proto';
import { type ClientTlsOptions } from '@pinrank/service-kit';
import { readActionLog, replay, userActionFields, type WorldManifest } from '@pinrank/sim';
import { openClient } from '../remote/call';
import { ingestStream, type IngestSummary } from '../remote/ingest-stream';

/** Options of feedFeatureServer. */
export interface FeedOptions {
  worldDir: string;
  manifest: WorldManifest;
  address: string;
  /** TLS presenting a producer identity; default plaintext. */
  tls?: ClientTlsOptions;
  /** Simulated time that maps to the wall clock's "now". */
  liveFromMs: number;
  /** Days of history before liveFromMs loaded as fast as possible. */
  historyDays: number;
  /** Speed-up of the live part (simulated ms per wall ms). */
  speedup: number;
  signal: AbortSignal;
  onHistoryLoaded?: (s: IngestSummary) => void;
  /** Called once each time the feed starts failing (e.g. feature-server restarting); it retries until it succeeds or is aborted. */
  onPause?: (err: Error) => void;
}

/**
 * Runs `attempt` until it succeeds or `signal` aborts, waiting between tries
 * (250 ms doubling to 5 s). Safe for ingest because feature-server absorbs
 * duplicate actions, so a batch re-sent after a restart is counted once.
 */
async function untilDelivered<T>(attempt: () => Promise<T>, signal: AbortSignal, onPause?: (err: Error) => void): Promise<T> {
  let waitMs = 250;
  let paused = false;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (signal.aborted) throw err;
      if (!paused) onPause?.(err as Error);
      paused = true;
      await new Promise((r) => setTimeout(r, waitMs));
      waitMs = Math.min(5000, waitMs * 2);
    }
  }
}

/**
 * Feeds feature-server from the simulated action stream, with timestamps
 * shifted so that simulated `liveFromMs` is now: first the last `historyDays`
 * of history in bulk, then the rest of the log live at `speedup`.
 */
export async function feedFeatureServer(o: FeedOptions): Promise<IngestSummary> {
  const shift = Date.now() - o.liveFromMs;
  const log = join(o.worldDir, o.manifest.files.actions);
  const client = openClient(FeatureServerClient, o.address, o.tls);
  const shifted = async function* (records: AsyncIterable<Parameters<typeof userActionFields>[0]>): AsyncGenerator<Partial<UserAction>> {
    for await (const r of records) yield { ...userActionFields(r), timestampMs: r.timestampMs + shift };
  };
  try {
    const history = (): AsyncIterable<Parameters<typeof userActionFields>[0]> =>
      replay(readActionLog(log), { fromMs: o.liveFromMs - o.historyDays * 86_400_000, untilMs: o.liveFromMs, speedup: Infinity, signal: o.signal });
    const loaded = await untilDelivered(() => ingestStream(client, o.address, shifted(history()), { batchSize: 1000, timeoutMs: 3_600_000 }), o.signal, o.onPause);
    o.onHistoryLoaded?.(loaded);
    const live = replay(readActionLog(log), { fromMs: o.liveFromMs, speedup: o.speedup, signal: o.signal });
    // Live actions go in short streams so each batch is acknowledged (and visible) promptly.
    let total = loaded;
    const iterator = shifted(live)[Symbol.asyncIterator]();
    for (;;) {
      const chunk: Partial<UserAction>[] = [];
      const until = Date.now() + 1000;
      while (Date.now() < until) {
        const next = await iterator.next();
        if (next.done) break;
        chunk.push(next.value);
      }
      if (chunk.length === 0) return total;
      const s = await untilDelivered(() => ingestStream(client, o.address, chunk, { batchSize: 500, timeoutMs: 30_000 }), o.signal, o.onPause);
      total = { sent: total.sent + s.sent, response: { ...total.response, accepted: total.response.accepted + s.response.accepted } };
    }
  } finally {
    client.close();
  }
}

/**
 * What the history load did: actions sent, stored, already held (a restarted
 * stack keeps its data and sends the same action ids again) and refused.
 */
export function historyLoadedLine(s: IngestSummary, days: number): string {
  const { accepted, duplicates, rejected } = s.response;
  const parts = [`${accepted} stored`, ...(duplicates > 0 ? [`${duplicates} already held`] : []), ...(rejected > 0 ? [`${rejected} refused`] : [])];
  return `${s.sent} actions of the last ${days} days sent (${parts.join(', ')})`;
}
