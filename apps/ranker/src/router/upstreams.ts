import {
  EmbeddingStoreClient,
  FeatureServerClient,
  GetEmbeddingsRequest,
  GetRealtimeSequenceRequest,
  ListSnapshotsRequest,
  RetrieveRequest,
  SnapshotState,
  type GetEmbeddingsResponse,
  type RetrieveResponse,
} from '@pinrank/proto';
import { callUnary, createClient, PinrankError, type CallContext, type ClientConnectOptions } from '@pinrank/service-kit';
import { type RequestDeadline } from './deadline';
import { emptySequence, sequenceFromProto, type UserSequence } from './sequence';

/** What an outgoing call inherits from its request. */
export interface UpstreamCall {
  deadline: RequestDeadline;
  /** The incoming call: its cancellation cancels ours and its span is our parent. */
  parent?: CallContext;
}

/** Kit call options for a call that must end by `deadline`. */
function callOptions(call: UpstreamCall, deadline: Date, retry: boolean): Parameters<typeof callUnary>[2] {
  return { ...(call.parent ? { parent: call.parent } : {}), timeoutMs: Math.max(1, deadline.getTime() - Date.now()), ...(retry ? {} : { retry: false }) };
}

/** The realtime sequence, or an empty one and the reason when it could not be fetched. */
export interface SequenceResult {
  sequence: UserSequence;
  /** Why the sequence is empty because of a failure (undefined when fetched). */
  failure: string | undefined;
  ms: number;
}

function describe(err: unknown): string {
  const e = PinrankError.from(err, err instanceof Error ? err.message : String(err));
  return `${e.code}: ${e.message}`;
}

/** Clients of the feature-server and the embedding-store, with the router's failure policy per call. */
export class Upstreams {
  private readonly features: FeatureServerClient;
  private readonly embeddings: EmbeddingStoreClient;

  constructor(featureServer: string, embeddingStore: string, connect: ClientConnectOptions = {}) {
    this.features = createClient(FeatureServerClient, featureServer, connect);
    this.embeddings = createClient(EmbeddingStoreClient, embeddingStore, connect);
    // Connect now, so the first request does not pay for connection set-up inside its deadline.
    this.features.getChannel().getConnectivityState(true);
    this.embeddings.getChannel().getConnectivityState(true);
  }

  /**
   * The user's sequence as of `asOfMs`, waiting at most `timeoutMs` and half
   * the request's remaining time. Never
   * throws for an unreachable, slow or malformed feature-server: the result is
   * then an empty sequence with `failure` set (the caller flags it).
   */
  async sequence(userId: string, asOfMs: number, S: number, includeRecords: boolean, timeoutMs: number, call: UpstreamCall): Promise<SequenceResult> {
    const t0 = performance.now();
    try {
      // At most half of what is left: a late sequence must leave time to rank without it.
      const deadline = call.deadline.forCall('GetRealtimeSequence', Math.min(timeoutMs, call.deadline.remainingMs() / 2));
      const req = GetRealtimeSequenceRequest.fromPartial({ userId, maxLen: S, asOfMs, includeRecords });
      // No retry: a feature-server that is down costs an empty sequence, not the request's time.
      const res = await callUnary(this.features.getRealtimeSequence.bind(this.features), req, callOptions(call, deadline, false));
      const sequence = sequenceFromProto(res);
      if (sequence.S !== S) throw new Error(`sequence length ${sequence.S}, asked for ${S}`);
      return { sequence, failure: undefined, ms: performance.now() - t0 };
    } catch (err) {
      return { sequence: emptySequence(S), failure: `feature-server: ${describe(err)}`, ms: performance.now() - t0 };
    }
  }

  /**
   * One GetEmbeddings lookup. Thrown by: a failed lookup — the store's own
   * status for INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION, DEADLINE_EXCEEDED, otherwise UNAVAILABLE.
   */
  async getEmbeddings(req: Partial<GetEmbeddingsRequest>, timeoutMs: number, call: UpstreamCall): Promise<GetEmbeddingsResponse> {
    const deadline = call.deadline.forCall('GetEmbeddings', timeoutMs);
    try {
      return await callUnary(this.embeddings.getEmbeddings.bind(this.embeddings), GetEmbeddingsRequest.fromPartial(req), callOptions(call, deadline, true));
    } catch (err) {
      throw upstreamError('embedding-store GetEmbeddings', err);
    }
  }

  /** One Retrieve call; errors as for {@link getEmbeddings}. */
  async retrieve(req: Partial<RetrieveRequest>, timeoutMs: number, call: UpstreamCall): Promise<RetrieveResponse> {
    const deadline = call.deadline.forCall('Retrieve', timeoutMs);
    try {
      return await callUnary(this.embeddings.retrieve.bind(this.embeddings), RetrieveRequest.fromPartial(req), callOptions(call, deadline, true));
    } catch (err) {
      throw upstreamError('embedding-store Retrieve', err);
    }
  }

  /**
   * Snapshot versions the embedding-store can serve (READY or ACTIVE), or
   * undefined when it does not answer within `timeoutMs` (callers then skip the check).
   */
  async snapshotVersions(timeoutMs: number): Promise<Set<string> | undefined> {
    try {
      const res = await callUnary(this.embeddings.listSnapshots.bind(this.embeddings), ListSnapshotsRequest.fromPartial({}), { timeoutMs, retry: false });
      const usable = new Set([SnapshotState.SNAPSHOT_STATE_READY, SnapshotState.SNAPSHOT_STATE_ACTIVE]);
      return new Set(res.snapshots.filter((s) => usable.has(s.state)).map((s) => s.version));
    } catch {
      return undefined;
    }
  }

  /** Closes both channels. */
  close(): void {
    this.features.close();
    this.embeddings.close();
  }
}

/** Maps a failed upstream call to the status the router answers with: the caller's own mistakes keep their code, the rest is UNAVAILABLE. */
export function upstreamError(what: string, err: unknown): PinrankError {
  const e = PinrankError.from(err, err instanceof Error ? err.message : String(err));
  switch (e.code) {
    case 'INVALID_ARGUMENT':
    case 'NOT_FOUND':
    case 'FAILED_PRECONDITION':
    case 'CANCELLED':
      return new PinrankError(e.code, `${what}: ${e.message}`, { cause: err });
    case 'DEADLINE_EXCEEDED':
      return new PinrankError('DEADLINE_EXCEEDED', `${what} did not answer before the deadline`, { cause: err });
    default:
      return new PinrankError('UNAVAILABLE', `${what} failed: ${e.code}: ${e.message}`, { cause: err });
  }
}
