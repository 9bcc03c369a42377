import { once } from 'node:events';
import { type ServiceError } from '@grpc/grpc-js';
import { IngestActionsRequest, UserAction, type FeatureServerClient, type IngestActionsResponse } from '@pinrank/proto';
import { authMetadata, callError } from './call';

/** What one ingest stream did. */
export interface IngestSummary {
  /** Records sent. */
  sent: number;
  /** The server's reply. */
  response: IngestActionsResponse;
}

/**
 * Streams actions into feature-server's IngestActions in messages of
 * `batchSize`, honouring flow control, and resolves with the server's summary.
 */
export async function ingestStream(
  client: FeatureServerClient,
  address: string,
  source: AsyncIterable<Partial<UserAction>> | Iterable<Partial<UserAction>>,
  opts: { batchSize: number; timeoutMs: number; token?: string; onSent?: (sent: number) => void },
): Promise<IngestSummary> {
  let sent = 0;
  let failure: Error | undefined;
  const reply = new Promise<IngestActionsResponse>((resolve, reject) => {
    const call = client.ingestActions(authMetadata(opts.token), { deadline: new Date(Date.now() + opts.timeoutMs) }, (err: ServiceError | null, res) => {
      if (err) reject(callError('feature-server', address, err));
      else resolve(res);
    });
    void (async () => {
      try {
        let batch: UserAction[] = [];
        const flush = async (): Promise<void> => {
          if (batch.length === 0) return;
          const ok = call.write(IngestActionsRequest.fromPartial({ actions: batch }));
          sent += batch.length;
          batch = [];
          opts.onSent?.(sent);
          if (!ok) await once(call, 'drain');
        };
        for await (const a of source) {
          batch.push(UserAction.fromPartial(a));
          if (batch.length >= opts.batchSize) await flush();
        }
        await flush();
        call.end();
      } catch (err) {
        failure = err as Error;
        call.cancel();
      }
    })();
  });
  try {
    const response = await reply;
    return { sent, response };
  } catch (err) {
    throw failure ?? err;
  }
}
