import { Metadata } from '@grpc/grpc-js';
import { DataType, EmbeddingStoreClient, GetEmbeddingsRequest, type GetEmbeddingsResponse, type Tensor, VectorKind } from '@pinrank/proto';
import { createClient, type ClientConnectOptions } from '@pinrank/service-kit';
import { type ContentVectorSource } from './content-source';

/** Options of the embedding-store content source. */
export interface GrpcContentSourceOptions {
  /** embedding-store address, `host:port`. */
  address: string;
  /** Deadline of one GetEmbeddings call in ms. Default 2000. */
  deadlineMs?: number;
  /** Most item ids per call (the API accepts up to 10000). Default 1000. */
  batchSize?: number;
  /** Expected vector width. Default 32. */
  dimension?: number;
  /** TLS, metrics and channel options of the client (tracing is always on). Default plaintext. */
  connect?: ClientConnectOptions;
}

/** Content vectors from embedding-store `GetEmbeddings(kind=CONTENT)`, in batches, each call with a deadline. */
export class GrpcContentSource implements ContentVectorSource {
  private readonly client: EmbeddingStoreClient;
  private readonly deadlineMs: number;
  private readonly batchSize: number;
  private readonly dimension: number;

  /** Throws TypeError on invalid options. */
  constructor(options: GrpcContentSourceOptions) {
    if (!options.address) throw new TypeError('embeddingStore.address: must be host:port');
    this.deadlineMs = options.deadlineMs ?? 2000;
    this.batchSize = options.batchSize ?? 1000;
    this.dimension = options.dimension ?? 32;
    if (!(this.deadlineMs > 0)) throw new TypeError(`embeddingStore.deadlineMs: must be > 0, got ${options.deadlineMs}`);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10_000) {
      throw new TypeError(`embeddingStore.batchSize: must be an integer in 1..10000, got ${options.batchSize}`);
    }
    this.client = createClient(EmbeddingStoreClient, options.address, options.connect);
  }

  async get(itemIds: readonly string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (let i = 0; i < itemIds.length; i += this.batchSize) {
      const res = await this.call(itemIds.slice(i, i + this.batchSize));
      const values = tensorFloats(res.itemVectors);
      const d = this.dimension;
      if (values.length !== res.itemIds.length * d) {
        throw new Error(`embedding-store: ${values.length} vector values for ${res.itemIds.length} items of dimension ${d}`);
      }
      res.itemIds.forEach((id, row) => out.set(id, values.slice(row * d, (row + 1) * d)));
    }
    return out;
  }

  private call(itemIds: string[]): Promise<GetEmbeddingsResponse> {
    const request = GetEmbeddingsRequest.fromPartial({ itemIds, kind: VectorKind.VECTOR_KIND_CONTENT });
    return new Promise((resolve, reject) => {
      this.client.getEmbeddings(request, new Metadata(), { deadline: Date.now() + this.deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }
}

/** The float32 values of a tensor sent either in `float_values` or as little-endian `raw` bytes. */
export function tensorFloats(t: Tensor | undefined): Float32Array {
  if (!t) return new Float32Array(0);
  if (t.dtype !== DataType.DATA_TYPE_FLOAT32) throw new Error(`expected a FLOAT32 tensor, got dtype ${t.dtype}`);
  if (t.raw.length > 0) {
    if (t.raw.length % 4 !== 0) throw new Error(`raw tensor: ${t.raw.length} bytes is not a multiple of 4`);
    const copy = new Float32Array(t.raw.length / 4);
    Buffer.from(copy.buffer).set(t.raw);
    return copy;
  }
  return Float32Array.from(t.floatValues);
}
