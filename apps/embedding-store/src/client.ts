import { Metadata, credentials, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import {
  EmbeddingStoreClient,
  type ActivateSnapshotRequest,
  type ActivateSnapshotResponse,
  type DeleteUserEmbeddingsRequest,
  type DeleteUserEmbeddingsResponse,
  type GetEmbeddingsRequest,
  type GetEmbeddingsResponse,
  type ListSnapshotsResponse,
  type LoadCatalogRequest,
  type LoadCatalogResponse,
  type LoadSnapshotRequest,
  type LoadSnapshotResponse,
  type RetrieveRequest,
  type RetrieveResponse,
  type Tensor,
} from '@pinrank/proto';

type Unary<Req, Res> = (req: Req, metadata: Metadata, callback: (err: ServiceError | null, res: Res) => void) => unknown;

/** A promise-returning EmbeddingStore client (tools, tests and benchmarks); admin calls carry the given token. */
export class EmbeddingStoreRpc {
  /** The underlying grpc-js client. */
  readonly raw: EmbeddingStoreClient;
  private readonly adminToken: string | undefined;

  constructor(address: string, adminToken?: string, channelOptions: ChannelOptions = {}) {
    this.raw = new EmbeddingStoreClient(address, credentials.createInsecure(), channelOptions);
    this.adminToken = adminToken;
  }

  /** GetEmbeddings. */
  getEmbeddings(req: GetEmbeddingsRequest): Promise<GetEmbeddingsResponse> {
    return this.call(this.raw.getEmbeddings, req, false);
  }

  /** Retrieve. */
  retrieve(req: RetrieveRequest): Promise<RetrieveResponse> {
    return this.call(this.raw.retrieve, req, false);
  }

  /** ListSnapshots. */
  listSnapshots(): Promise<ListSnapshotsResponse> {
    return this.call(this.raw.listSnapshots, {}, false);
  }

  /** LoadSnapshot (admin). */
  loadSnapshot(req: LoadSnapshotRequest): Promise<LoadSnapshotResponse> {
    return this.call(this.raw.loadSnapshot, req, true);
  }

  /** ActivateSnapshot (admin). */
  activateSnapshot(req: ActivateSnapshotRequest): Promise<ActivateSnapshotResponse> {
    return this.call(this.raw.activateSnapshot, req, true);
  }

  /** LoadCatalog (admin). */
  loadCatalog(req: LoadCatalogRequest): Promise<LoadCatalogResponse> {
    return this.call(this.raw.loadCatalog, req, true);
  }

  /** DeleteUser (admin). */
  deleteUser(req: DeleteUserEmbeddingsRequest): Promise<DeleteUserEmbeddingsResponse> {
    return this.call(this.raw.deleteUser, req, true);
  }

  /** Closes the channel. */
  close(): void {
    this.raw.close();
  }

  private call<Req, Res>(method: Unary<Req, Res>, req: Req, admin: boolean): Promise<Res> {
    const metadata = new Metadata();
    if (admin && this.adminToken) metadata.set('authorization', `Bearer ${this.adminToken}`);
    return new Promise((resolve, reject) => {
      method.call(this.raw, req, metadata, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }
}

/** The rows of a FLOAT32 tensor (raw bytes or float_values), one Float32Array per row. */
export function tensorRows(tensor: Tensor | undefined): Float32Array[] {
  if (!tensor) return [];
  const [rows = 0, cols = 0] = tensor.shape;
  let data: Float32Array;
  if (tensor.raw.length > 0) {
    data = new Float32Array(tensor.raw.length / 4);
    new Uint8Array(data.buffer).set(tensor.raw);
  } else {
    data = Float32Array.from(tensor.floatValues);
  }
  return Array.from({ length: rows }, (_, i) => data.subarray(i * cols, (i + 1) * cols));
}
