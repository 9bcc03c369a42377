import {
  DeleteUserResponse,
  FeatureServerService,
  FeatureServerServiceRaw,
  GetRealtimeSequencesResponse,
  IngestActionsResponse,
  IngestRejection,
  type DeleteUserRequest,
  type GetRealtimeSequenceRequest,
  type GetRealtimeSequencesRequest,
  type RealtimeSequence,
  type IngestActionsRequest,
  type SequenceLookupResult,
} from '@pinrank/proto';
import { checkId, defineService, lookupStream, MAX_ECHO_BYTES, PinrankError, truncateUtf8, type ServiceRegistration } from '@pinrank/service-kit';
import { type Ingester } from './ingest/ingester';
import { InvalidQueryError, type SequenceReader } from './read/sequence-reader';
import { type ActionStore } from './store/action-store';

/** Options of the FeatureServer gRPC service. */
export interface FeatureServiceOptions {
  /** Most actions taken from one stream message; the rest are rejected as oversized. Default 10000. */
  maxActionsPerMessage?: number;
  /** Most user ids in one GetRealtimeSequences call. Default 1000. */
  maxUsersPerBatchRead?: number;
  /**
   * Most sequence rows (user ids × max_len, duplicates counted: each is in the
   * response) one GetRealtimeSequences call may ask for. Default 50000 (500
   * users at the default length 100): about 6 MB of response and a quarter
   * of a second of encoding, during which the event loop serves nothing else.
   */
  maxRowsPerBatchRead?: number;
}

const MAX_REJECTIONS_REPORTED = 100;

/** Dependencies of the service: the ingest path, the read path and the store (for deletes). */
export interface FeatureServiceDeps {
  ingester: Ingester;
  reader: SequenceReader;
  store: ActionStore;
}

/**
 * Binds the FeatureServer API to its handlers. IngestActions replies once the client
 * half-closes; everything counted as accepted is durable by then. DeleteUser is admin only.
 */
export function featureServerService(deps: FeatureServiceDeps, options: FeatureServiceOptions = {}): ServiceRegistration {
  const maxPerMessage = options.maxActionsPerMessage ?? 10_000;
  const maxUsers = options.maxUsersPerBatchRead ?? 1000;
  const maxRows = options.maxRowsPerBatchRead ?? 50_000;
  if (!Number.isInteger(maxPerMessage) || maxPerMessage < 1) throw new TypeError(`maxActionsPerMessage: must be an integer >= 1, got ${maxPerMessage}`);
  if (!Number.isInteger(maxUsers) || maxUsers < 1) throw new TypeError(`maxUsersPerBatchRead: must be an integer >= 1, got ${maxUsers}`);
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new TypeError(`maxRowsPerBatchRead: must be an integer >= 1, got ${maxRows}`);
  const { ingester, reader, store } = deps;

  const query = (maxLen: number, asOfMs: number, includeRecords = false): ReturnType<SequenceReader['resolve']> => {
    try {
      return reader.resolve(maxLen, asOfMs, includeRecords);
    } catch (err) {
      if (err instanceof InvalidQueryError) throw new PinrankError('INVALID_ARGUMENT', err.message);
      throw err;
    }
  };

  const readOne = async (req: GetRealtimeSequenceRequest): Promise<RealtimeSequence> => {
    checkId(req.userId, 'user_id');
    return reader.read(req.userId, query(req.maxLen, req.asOfMs, req.includeRecords));
  };

  // The sequence answers are written by the single-copy serializers (same bytes' meaning, each tensor copied once).
  return defineService(
    FeatureServerServiceRaw,
    {
      ingestActions: async (requests: AsyncIterable<IngestActionsRequest>) => {
        const res = IngestActionsResponse.fromPartial({});
        let index = 0;
        const reject = (at: number, actionId: string, reason: string): void => {
          res.rejected++;
          // The id is echoed for the client to match, never more of it than any message quotes.
          if (res.rejections.length < MAX_REJECTIONS_REPORTED) {
            res.rejections.push(IngestRejection.fromPartial({ index: at, actionId: truncateUtf8(actionId, MAX_ECHO_BYTES), reason }));
          }
        };
        for await (const req of requests) {
          const actions = req.actions.slice(0, maxPerMessage);
          for (let i = maxPerMessage; i < req.actions.length; i++) {
            reject(index + i, req.actions[i]?.actionId ?? '', `message carries ${req.actions.length} actions; at most ${maxPerMessage} per message`);
          }
          let batch;
          try {
            batch = await ingester.ingest(actions, 'grpc');
          } catch (err) {
            // Everything acknowledged so far is durable; the client retries and duplicates are absorbed.
            throw new PinrankError('UNAVAILABLE', `ingest failed after ${res.accepted} accepted records; retry the stream`, { cause: err });
          }
          res.accepted += batch.accepted;
          // The reply has no "expired" count: an action older than the user's full window is
          // almost always a redelivery of one already trimmed, so it is reported as a duplicate.
          res.duplicates += batch.duplicates + batch.expired;
          res.unknownItems += batch.unknownItems;
          batch.outcomes.forEach((o, i) => {
            if (o.result === 'rejected') reject(index + i, actions[i]?.actionId ?? '', o.reason);
          });
          index += req.actions.length;
        }
        return res;
      },

      getRealtimeSequence: readOne,

      streamRealtimeSequences: lookupStream({
        unary: FeatureServerService.getRealtimeSequence,
        handle: readOne,
        result: (requestId, status, sequence): SequenceLookupResult => ({ requestId, status, sequence }),
      }),

      getRealtimeSequences: async (req: GetRealtimeSequencesRequest) => {
        if (req.userIds.length === 0 || req.userIds.length > maxUsers) {
          throw new PinrankError('INVALID_ARGUMENT', `user_ids: ${req.userIds.length} ids given; send 1..${maxUsers}`);
        }
        req.userIds.forEach((u, i) => checkId(u, `user_ids[${i}]`));
        const q = query(req.maxLen, req.asOfMs);
        // Bounded before reading anything: the response holds one sequence per id, duplicates included.
        const rows = req.userIds.length * q.maxLen;
        if (rows > maxRows) {
          throw new PinrankError(
            'INVALID_ARGUMENT',
            `user_ids × max_len = ${req.userIds.length} × ${q.maxLen} = ${rows} sequence rows; at most ${maxRows} per call (ask for fewer users, or a shorter max_len)`,
          );
        }
        const sequences = await reader.readMany(req.userIds, q);
        return GetRealtimeSequencesResponse.fromPartial({ sequences });
      },

      deleteUser: async (req: DeleteUserRequest) => {
        checkId(req.userId, 'user_id');
        return DeleteUserResponse.fromPartial({ deletedActions: await store.deleteUser(req.userId) });
      },
    },
    { adminMethods: ['deleteUser'] },
  );
}
