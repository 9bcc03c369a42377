// The generated index names every symbol explicitly (tools/codegen/generate.mjs);
// this file only re-exports it so imports read `@pinrank/proto`.
export * from './gen/index';
export { appendRawField, GRPCInferenceServiceRaw, GRPCInferenceServiceRawClient, serializeModelInferRequest, serializeModelInferResponse, serializeModelStreamInferResponse } from './oip-raw';
export { FeatureServerServiceRaw, serializeGetRealtimeSequencesResponse, serializeRealtimeSequence, serializeSequenceLookupResult } from './sequence-raw';
export { EmbeddingStoreServiceRaw, serializeEmbeddingsLookupResult, serializeGetEmbeddingsResponse } from './embeddings-raw';
