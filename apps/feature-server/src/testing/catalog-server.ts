import { DataType, EmbeddingStoreService, GetEmbeddingsResponse, type GetEmbeddingsRequest, Tensor, VectorKind } from '@pinrank/proto';
import { defineService, PinrankError, startServer, type RunningServer } from '@pinrank/service-kit';
import pino from 'pino';

/** The content vector the test catalog holds for item `item-<n>`: a deterministic function of n. */
export function catalogVector(itemId: string, dimension = 32): Float32Array {
  const n = Number(itemId.replace(/^item-/, ''));
  const v = new Float32Array(dimension);
  for (let j = 0; j < dimension; j++) v[j] = Math.fround(((n * 31 + j * 7) % 97) / 97 - 0.5);
  return v;
}

/** A running embedding-store stand-in for tests and benchmarks: GetEmbeddings(kind=CONTENT) over a fixed catalog. */
export interface CatalogServer {
  readonly address: string;
  /** Calls of GetEmbeddings served so far. */
  readonly calls: () => number;
  stop(): Promise<void>;
}

/**
 * Starts a real gRPC EmbeddingStore server on 127.0.0.1:0 whose content catalog holds
 * `item-0` .. `item-<size-1>` with `catalogVector` values. Other methods answer UNIMPLEMENTED.
 */
export async function startCatalogServer(size: number, dimension = 32): Promise<CatalogServer> {
  let calls = 0;
  const known = (id: string): boolean => /^item-\d+$/.test(id) && Number(id.slice(5)) < size;
  const service = defineService(EmbeddingStoreService, {
    getEmbeddings: async (req: GetEmbeddingsRequest) => {
      calls++;
      if (req.kind !== VectorKind.VECTOR_KIND_CONTENT) throw new PinrankError('INVALID_ARGUMENT', 'kind: only CONTENT here');
      const found = req.itemIds.filter(known);
      const values = new Float32Array(found.length * dimension);
      found.forEach((id, i) => values.set(catalogVector(id, dimension), i * dimension));
      return GetEmbeddingsResponse.fromPartial({
        itemIds: found,
        itemVectors: Tensor.fromPartial({ dtype: DataType.DATA_TYPE_FLOAT32, shape: [found.length, dimension], floatValues: Array.from(values) }),
        unknownItemIds: req.itemIds.filter((id) => !known(id)),
      });
    },
  });
  const server: RunningServer = await startServer({
    name: 'test-catalog',
    address: '127.0.0.1:0',
    services: [service],
    signals: [],
    logger: pino({ level: 'silent' }),
  });
  return { address: `127.0.0.1:${server.port}`, calls: () => calls, stop: () => server.shutdown() };
}
