import { type FeatureServerClient, type UserAction } from '@pinrank/proto';
import { readActionLog, userActionFields } from '@pinrank/sim';
import { ingestStream, type IngestSummary } from '../remote/ingest-stream';

/** Options of {@link ingestUserHistory}. */
export interface HistoryFeedOptions {
  client: FeatureServerClient;
  address: string;
  /** The world's action log. */
  actionsPath: string;
  /** Only these users' actions are sent. */
  userIds: ReadonlySet<string>;
  /** Time window [fromMs, untilMs) of the actions sent. */
  fromMs: number;
  untilMs: number;
  token?: string;
  signal?: AbortSignal;
}

/**
 * Sends the logged actions of some users in a time window into
 * feature-server, unchanged (original action ids and timestamps, so a rerun
 * is deduplicated), and resolves with the server's summary.
 */
export async function ingestUserHistory(o: HistoryFeedOptions): Promise<IngestSummary> {
  const source = async function* (): AsyncGenerator<Partial<UserAction>> {
    for await (const r of readActionLog(o.actionsPath, o.signal ? { signal: o.signal } : {})) {
      if (r.timestampMs >= o.fromMs && r.timestampMs < o.untilMs && o.userIds.has(r.userId)) yield userActionFields(r);
    }
  };
  return ingestStream(o.client, o.address, source(), { batchSize: 1000, timeoutMs: 600_000, ...(o.token ? { token: o.token } : {}) });
}
