import {
  EmbeddingStoreClient,
  EmbeddingStoreService,
  FeatureServerClient,
  FeatureServerService,
  GetEmbeddingsRequest,
  GetRealtimeSequenceRequest,
  ListSnapshotsRequest,
  RetrieveRequest,
  SnapshotState,
  type EmbeddingsLookup,
  type EmbeddingsLookupResult,
  type GetEmbeddingsResponse,
  type RealtimeSequence,
  type RetrieveResponse,
  type SequenceLookup,
  type SequenceLookupResult,
} from '@pinrank/proto';
import { callUnary, callViaStream, createClient, LookupStreamClient, PinrankError, type ClientConnectOptions } from '@pinrank/service-kit';
import { type RequestContext } from './request-context';
import { emptySequence, sequenceFromProto, type UserSequence } from './sequence';

/** What one request asks of the feature-server. */
export interface SequenceQuery {
  userId: string;
  /** Epoch ms the sequence is taken as of. */
  asOfMs: number;
  /** Rows S. */
  length: number;
  /** Content vector width each row must have (the encoder config's). */
  width: number;
  /** Also return the stored records (Recommend reads the saved and hidden items from them). */
  includeRecords: boolean;
  /** Longest wait; the call also gets at most half of the request's time left. */
  timeoutMs: number;
}

/** The realtime sequence, or an empty one and the reason when it could not be fetched. */
export interface SequenceResult {
  sequence: UserSequence;
  /** Why the sequence is empty because of a failure (undefined when fetched). */
  failure: string | undefined;
}

/** Per-call options of an embedding-store call. */
export interface UpstreamCallOptions {
  /** Longest wait for this call (the request's deadline caps it too). */
  timeoutMs: number;
}

/** The router's view of the feature-server and the embedding-store, with its failure policy per call. */
export interface Upstreams {
  /**
   * The user's sequence. Never throws for an unreachable, slow or malformed
   * feature-server: the result is then an empty sequence with `failure` set (the caller flags it).
   */
  sequence(q: SequenceQuery, ctx: RequestContext): Promise<SequenceResult>;
  /**
   * One GetEmbeddings lookup. Thrown by: a failed lookup — the store's own
   * status for INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION, DEADLINE_EXCEEDED, otherwise UNAVAILABLE.
   */
  getEmbeddings(req: Partial<GetEmbeddingsRequest>, o: UpstreamCallOptions, ctx: RequestContext): Promise<GetEmbeddingsResponse>;
  /** One Retrieve call; errors as for {@link getEmbeddings}. */
  retrieve(req: Partial<RetrieveRequest>, o: UpstreamCallOptions, ctx: RequestContext): Promise<RetrieveResponse>;
  /** Snapshot versions the embedding-store can serve (READY or ACTIVE), or undefined when it does not answer in `timeoutMs`. */
  snapshotVersions(timeoutMs: number): Promise<Set<string> | undefined>;
  /** Closes the clients. */
  close(): void;
}

function describe(err: unknown): string {
  const e = PinrankError.from(err);
  return `${e.code}: ${e.message}`;
}

/** Milliseconds from now to a deadline. */
const until = (deadline: Date): number => deadline.getTime() - Date.now();

/** Options of {@link GrpcUpstreams}. */
export interface GrpcUpstreamsOptions {
  /**
   * Send GetRealtimeSequence and GetEmbeddings as messages on one long-lived
   * lookup stream per upstream (StreamRealtimeSequences, StreamEmbeddings)
   * instead of a unary call each; a request the stream cannot carry (down,
   * full, or a server without the method) goes as the unary call. Default true.
   */
  lookupStreams?: boolean;
}

/** The upstreams over gRPC clients of the feature-server and the embedding-store. */
export class GrpcUpstreams implements Upstreams {
  private readonly features: FeatureServerClient;
  private readonly embeddings: EmbeddingStoreClient;
  private readonly sequenceStream: LookupStreamClient<GetRealtimeSequenceRequest, RealtimeSequence, SequenceLookup, SequenceLookupResult> | undefined;
  private readonly embeddingsStream: LookupStreamClient<GetEmbeddingsRequest, GetEmbeddingsResponse, EmbeddingsLookup, EmbeddingsLookupResult> | undefined;

  constructor(featureServer: string, embeddingStore: string, connect: ClientConnectOptions = {}, options: GrpcUpstreamsOptions = {}) {
    this.features = createClient(FeatureServerClient, featureServer, connect);
    this.embeddings = createClient(EmbeddingStoreClient, embeddingStore, connect);
    // Connect now, so the first request does not pay for connection set-up inside its deadline.
    this.features.getChannel().getConnectivityState(true);
    this.embeddings.getChannel().getConnectivityState(true);
    if (options.lookupStreams ?? true) {
      const metrics = connect.metrics ? { metrics: connect.metrics } : {};
      this.sequenceStream = new LookupStreamClient<GetRealtimeSequenceRequest, RealtimeSequence, SequenceLookup, SequenceLookupResult>({
        unary: FeatureServerService.getRealtimeSequence,
        upstream: 'feature-server',
        target: featureServer,
        open: (md, o) => this.features.streamRealtimeSequences(md, o),
        parts: (out) => ({ requestId: out.requestId, status: out.status, response: out.sequence }),
        ...metrics,
      });
      this.embeddingsStream = new LookupStreamClient<GetEmbeddingsRequest, GetEmbeddingsResponse, EmbeddingsLookup, EmbeddingsLookupResult>({
        unary: EmbeddingStoreService.getEmbeddings,
        upstream: 'embedding-store',
        target: embeddingStore,
        open: (md, o) => this.embeddings.streamEmbeddings(md, o),
        parts: (out) => ({ requestId: out.requestId, status: out.status, response: out.response }),
        ...metrics,
      });
    }
  }

  async sequence(q: SequenceQuery, ctx: RequestContext): Promise<SequenceResult> {
    try {
      // At most half of what is left: a late sequence must leave time to rank without it.
      const deadline = ctx.deadline.forCall('GetRealtimeSequence', Math.min(q.timeoutMs, ctx.deadline.remainingMs() / 2));
      const req = GetRealtimeSequenceRequest.fromPartial({ userId: q.userId, maxLen: q.length, asOfMs: q.asOfMs, includeRecords: q.includeRecords });
      // No retry: a feature-server that is down costs an empty sequence, not the request's time.
      const res = await callViaStream(this.sequenceStream, req, ctx.callOptions(until(deadline), false), (o) => callUnary(this.features.getRealtimeSequence.bind(this.features), req, o));
      const sequence = sequenceFromProto(res, q.width);
      if (sequence.S !== q.length) throw new Error(`sequence length ${sequence.S}, asked for ${q.length}`);
      return { sequence, failure: undefined };
    } catch (err) {
      return { sequence: emptySequence(q.length, q.width), failure: `feature-server: ${describe(err)}` };
    }
  }

  async getEmbeddings(req: Partial<GetEmbeddingsRequest>, o: UpstreamCallOptions, ctx: RequestContext): Promise<GetEmbeddingsResponse> {
    const deadline = ctx.deadline.forCall('GetEmbeddings', o.timeoutMs);
    try {
      const request = GetEmbeddingsRequest.fromPartial(req);
      return await callViaStream(this.embeddingsStream, request, ctx.callOptions(until(deadline), true), (o) => callUnary(this.embeddings.getEmbeddings.bind(this.embeddings), request, o));
    } catch (err) {
      throw upstreamError('embedding-store GetEmbeddings', err);
    }
  }

  async retrieve(req: Partial<RetrieveRequest>, o: UpstreamCallOptions, ctx: RequestContext): Promise<RetrieveResponse> {
    const deadline = ctx.deadline.forCall('Retrieve', o.timeoutMs);
    try {
      return await callUnary(this.embeddings.retrieve.bind(this.embeddings), RetrieveRequest.fromPartial(req), ctx.callOptions(until(deadline), true));
    } catch (err) {
      throw upstreamError('embedding-store Retrieve', err);
    }
  }

  async snapshotVersions(timeoutMs: number): Promise<Set<string> | undefined> {
    try {
      const res = await callUnary(this.embeddings.listSnapshots.bind(this.embeddings), ListSnapshotsRequest.fromPartial({}), { timeoutMs, retry: false });
      const usable = new Set([SnapshotState.SNAPSHOT_STATE_READY, SnapshotState.SNAPSHOT_STATE_ACTIVE]);
      return new Set(res.snapshots.filter((s) => usable.has(s.state)).map((s) => s.version));
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.sequenceStream?.close();
    this.embeddingsStream?.close();
    this.features.close();
    this.embeddings.close();
  }
}

/** Maps a failed upstream call to the status the router answers with: the caller's own mistakes keep their code, the rest is UNAVAILABLE. */
export function upstreamError(what: string, err: unknown): PinrankError {
  const e = PinrankError.from(err);
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

/**
 * Runs `decode` on data a peer sent. Thrown by: a malformed tensor or shape
 * (the decoders' INVALID_ARGUMENT) — INTERNAL naming the peer: the request was fine, the peer's answer was not.
 */
export function fromPeer<T>(peer: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof PinrankError && err.code === 'INVALID_ARGUMENT') throw new PinrankError('INTERNAL', `${peer} sent a malformed tensor: ${err.message}`, { cause: err });
    throw err;
  }
}
