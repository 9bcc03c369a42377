import { join } from 'node:path';
import { type UserAction } from '@pinrank/proto';
import { FeatureServerClient, IngestActionsResponse } from '@pinrank/proto';
import { type ClientTlsOptions } from '@pinrank/service-kit';
import { readActionLog, replay, userActionFields, type WorldManifest } from '@pinrank/sim';
import { openClient } from '../remote/call';
import { ingestStream, type IngestSummary } from '../remote/ingest-stream';
import { ActionPublisher, type ActionStreamTarget } from '../remote/publish-actions';

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
  /** Publish the live part onto this JetStream action stream instead of calling IngestActions (the history still goes by IngestActions). */
  liveVia?: ActionStreamTarget;
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
 * of history in bulk, then the rest of the log live at `speedup`, by
 * IngestActions or, with `liveVia`, published onto the JetStream action stream
 * (each action on its user's partition) for the feature-servers to consume.
 */
export async function feedFeatureServer(o: FeedOptions): Promise<IngestSummary> {
  const startedMs = Date.now();
  const shift = startedMs - o.liveFromMs;
  const log = join(o.worldDir, o.manifest.files.actions);
  const client = openClient(FeatureServerClient, o.address, o.tls);
  let publisher: ActionPublisher | undefined;
  // History keeps its spacing, shifted so that it ends now. The live part is stamped with the wall time it is
  // sent at: `speedup` simulated ms pass per wall ms, so a plain shift would run ahead of the clock (and past
  // the feature-server's allowed future skew) as soon as speedup > 1.
  const shifted = async function* (records: AsyncIterable<Parameters<typeof userActionFields>[0]>): AsyncGenerator<Partial<UserAction>> {
    for await (const r of records) {
      const timestampMs = r.timestampMs < o.liveFromMs ? r.timestampMs + shift : startedMs + Math.round((r.timestampMs - o.liveFromMs) / o.speedup);
      yield { ...userActionFields(r), timestampMs };
    }
  };
  try {
    const history = (): AsyncIterable<Parameters<typeof userActionFields>[0]> =>
      replay(readActionLog(log), { fromMs: o.liveFromMs - o.historyDays * 86_400_000, untilMs: o.liveFromMs, speedup: Infinity, signal: o.signal });
    const loaded =
      o.historyDays > 0
        ? await untilDelivered(() => ingestStream(client, o.address, shifted(history()), { batchSize: 1000, timeoutMs: 3_600_000 }), o.signal, o.onPause)
        : { sent: 0, response: IngestActionsResponse.fromPartial({}) };
    o.onHistoryLoaded?.(loaded);
    const live = replay(readActionLog(log), { fromMs: o.liveFromMs, speedup: o.speedup, signal: o.signal });
    // Live actions go in short streams so each batch is acknowledged (and visible) promptly.
    let total = loaded;
    publisher = o.liveVia ? await untilDelivered(() => ActionPublisher.open(o.liveVia as ActionStreamTarget), o.signal, o.onPause) : undefined;
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
      if (publisher) {
        // Stored by JetStream (and de-duplicated by action id there); the feature-servers store it as they consume.
        const sent = await untilDelivered(() => (publisher as ActionPublisher).publish(chunk), o.signal, o.onPause);
        total = { ...total, sent: total.sent + sent };
        continue;
      }
      const s = await untilDelivered(() => ingestStream(client, o.address, chunk, { batchSize: 500, timeoutMs: 30_000 }), o.signal, o.onPause);
      total = { sent: total.sent + s.sent, response: { ...total.response, accepted: total.response.accepted + s.response.accepted } };
    }
  } finally {
    client.close();
    await publisher?.close();
  }
}

/**
 * What the history load did: actions sent, stored, not stored because already held (a
 * restarted stack keeps its data and sends the same action ids again) or older than the
 * actions a user keeps (the reply counts both as duplicates), and refused.
 */
export function historyLoadedLine(s: IngestSummary, days: number): string {
  const { accepted, duplicates, rejected } = s.response;
  const parts = [`${accepted} stored`, ...(duplicates > 0 ? [`${duplicates} already held or beyond a user's retention`] : []), ...(rejected > 0 ? [`${rejected} refused`] : [])];
  return `${s.sent} actions of the last ${days} days sent (${parts.join(', ')})`;
}
