// The embedding-store's answers with their item vectors (a FLOAT32 tensor of
// 500 × D floats for a Rank's candidates: 64 KB and more) written once, into a
// buffer of the final size (raw-frames.ts).
import { EmbeddingsLookupResult, EmbeddingStoreService, GetEmbeddingsResponse } from './gen/index';
import { bytesOf, delimited, type Frame, frame, tensorFrame } from './raw-frames';

const ITEM_VECTORS = delimited(6);
const LOOKUP_RESPONSE = delimited(3);

function responseFrame(r: GetEmbeddingsResponse): Frame {
  if (r.itemVectors === undefined) return frame(GetEmbeddingsResponse.encode(r).finish(), []);
  return frame(GetEmbeddingsResponse.encode({ ...r, itemVectors: undefined }).finish(), [[ITEM_VECTORS, tensorFrame(r.itemVectors)]]);
}

/** A GetEmbeddingsResponse as bytes, the item vectors' raw bytes copied once. */
export function serializeGetEmbeddingsResponse(value: GetEmbeddingsResponse): Buffer {
  return bytesOf(responseFrame(value));
}

/** An EmbeddingsLookupResult as bytes, the item vectors' raw bytes copied once. */
export function serializeEmbeddingsLookupResult(value: EmbeddingsLookupResult): Buffer {
  const head = EmbeddingsLookupResult.encode({ ...value, response: undefined }).finish();
  return bytesOf(frame(head, value.response ? [[LOOKUP_RESPONSE, responseFrame(value.response)]] : []));
}

/** EmbeddingStoreService with the single-copy answers of GetEmbeddings and StreamEmbeddings (servers register this one). */
export const EmbeddingStoreServiceRaw: typeof EmbeddingStoreService = {
  ...EmbeddingStoreService,
  getEmbeddings: { ...EmbeddingStoreService.getEmbeddings, responseSerialize: serializeGetEmbeddingsResponse },
  streamEmbeddings: { ...EmbeddingStoreService.streamEmbeddings, responseSerialize: serializeEmbeddingsLookupResult },
};
