import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  FeatureServerClient,
  type DeleteUserRequest,
  type DeleteUserResponse,
  type GetRealtimeSequenceRequest,
  type GetRealtimeSequencesRequest,
  type GetRealtimeSequencesResponse,
  IngestActionsRequest,
  type IngestActionsResponse,
  type RealtimeSequence,
  UserAction,
} from '@pinrank/proto';

/** A promise-style FeatureServer client for tests and benchmarks. */
export class FeatureTestClient {
  readonly raw: FeatureServerClient;

  constructor(address: string) {
    this.raw = new FeatureServerClient(address, credentials.createInsecure());
  }

  /** Streams `messages` (each a batch of actions) and resolves to the single reply. */
  ingest(messages: ReadonlyArray<ReadonlyArray<Partial<UserAction>>>): Promise<IngestActionsResponse> {
    return new Promise((resolve, reject) => {
      const call = this.raw.ingestActions((err: ServiceError | null, res: IngestActionsResponse) => (err ? reject(err) : resolve(res)));
      for (const m of messages) call.write(IngestActionsRequest.fromPartial({ actions: m.map((a) => UserAction.fromPartial(a)) }));
      call.end();
    });
  }

  sequence(req: Partial<GetRealtimeSequenceRequest>): Promise<RealtimeSequence> {
    return new Promise((resolve, reject) => {
      this.raw.getRealtimeSequence({ userId: '', maxLen: 0, asOfMs: 0, includeRecords: false, ...req }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  sequences(req: Partial<GetRealtimeSequencesRequest>): Promise<GetRealtimeSequencesResponse> {
    return new Promise((resolve, reject) => {
      this.raw.getRealtimeSequences({ userIds: [], maxLen: 0, asOfMs: 0, ...req }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  deleteUser(req: DeleteUserRequest, token?: string): Promise<DeleteUserResponse> {
    const md = new Metadata();
    if (token) md.set('authorization', `Bearer ${token}`);
    return new Promise((resolve, reject) => {
      this.raw.deleteUser(req, md, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  close(): void {
    this.raw.close();
  }
}
