import {
  DataType,
  EmbeddingsLookupResult,
  EmbeddingStoreService,
  EmbeddingStoreServiceRaw,
  FeatureServerService,
  FeatureServerServiceRaw,
  GetEmbeddingsResponse,
  GetRealtimeSequencesResponse,
  RealtimeSequence,
  SequenceLookupResult,
  serializeEmbeddingsLookupResult,
  serializeGetEmbeddingsResponse,
  serializeGetRealtimeSequencesResponse,
  serializeRealtimeSequence,
  serializeSequenceLookupResult,
} from './index';

const bytes = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

/** A sequence as the feature-server answers it: S rows, D-wide vectors, raw little-endian tensors; optionally its records. */
function sequence(userId: string, S: number, D: number, records = 0): RealtimeSequence {
  return RealtimeSequence.fromPartial({
    userId,
    length: Math.min(S, 3),
    asOfMs: 1_765_000_000_000,
    actionTypes: { dtype: DataType.DATA_TYPE_INT64, shape: [1, S], raw: bytes(S * 8, 1) },
    itemVectors: { dtype: DataType.DATA_TYPE_FLOAT32, shape: [1, S, D], raw: bytes(S * D * 4, 2) },
    agesS: { dtype: DataType.DATA_TYPE_FLOAT32, shape: [1, S], raw: bytes(S * 4, 3) },
    records: Array.from({ length: records }, (_, i) => ({
      action: { actionId: `a${i}`, userId, itemId: `item-${i}`, actionType: 2, timestampMs: 1_765_000_000_000 - i, surface: 1, durationMs: 500 },
      itemKnown: true,
      contentVector: [0.5, -1, i],
    })),
  });
}

/** Same message either way: the generated decoder reads both alike, and the sizes match (the same fields, in another order). */
function expectSameMessage<T>(fast: Buffer, generated: Uint8Array, decode: (b: Uint8Array) => T): void {
  expect(fast.byteLength).toBe(generated.byteLength);
  expect(decode(fast)).toEqual(decode(generated));
}

describe('single-copy sequence serializers', () => {
  // Around the varint steps of the length prefixes (one to three bytes), and the shapes served.
  const shapes: Array<[number, number]> = [
    [1, 1],
    [1, 31],
    [4, 32],
    [100, 32],
    [1000, 32],
  ];

  it('write a RealtimeSequence the generated decoder reads as the generated encoder wrote it', () => {
    for (const [S, D] of shapes) {
      const s = sequence('u1', S, D, S === 4 ? 3 : 0);
      expectSameMessage(serializeRealtimeSequence(s), RealtimeSequence.encode(s).finish(), (b) => RealtimeSequence.decode(b));
    }
    // No tensors, a tensor with values rather than raw bytes, an empty user id.
    for (const s of [
      RealtimeSequence.fromPartial({ userId: 'empty' }),
      RealtimeSequence.fromPartial({ agesS: { dtype: DataType.DATA_TYPE_FLOAT32, shape: [1, 2], floatValues: [1.5, -2] } }),
      RealtimeSequence.fromPartial({ length: 0, itemVectors: { dtype: DataType.DATA_TYPE_FLOAT32, shape: [1, 0, 32], raw: Buffer.alloc(0) } }),
    ]) {
      expectSameMessage(serializeRealtimeSequence(s), RealtimeSequence.encode(s).finish(), (b) => RealtimeSequence.decode(b));
    }
  });

  it('write lookup results (answered, failed) and many-user responses the same way', () => {
    for (const r of [
      SequenceLookupResult.fromPartial({ requestId: 7, status: { code: 0, message: '' }, sequence: sequence('u7', 100, 32) }),
      SequenceLookupResult.fromPartial({ requestId: 0xffff_ffff, status: { code: 3, message: 'user_id: empty' } }),
      SequenceLookupResult.fromPartial({}),
    ]) {
      expectSameMessage(serializeSequenceLookupResult(r), SequenceLookupResult.encode(r).finish(), (b) => SequenceLookupResult.decode(b));
    }
    for (const n of [0, 1, 3]) {
      const r = GetRealtimeSequencesResponse.fromPartial({ sequences: Array.from({ length: n }, (_, i) => sequence(`u${i}`, 100, 32, i)) });
      expectSameMessage(serializeGetRealtimeSequencesResponse(r), GetRealtimeSequencesResponse.encode(r).finish(), (b) => GetRealtimeSequencesResponse.decode(b));
    }
  });

  it('are the server definition’s serializers for the three sequence answers; everything else is the generated definition', () => {
    expect(FeatureServerServiceRaw.getRealtimeSequence.responseSerialize).toBe(serializeRealtimeSequence);
    expect(FeatureServerServiceRaw.getRealtimeSequences.responseSerialize).toBe(serializeGetRealtimeSequencesResponse);
    expect(FeatureServerServiceRaw.streamRealtimeSequences.responseSerialize).toBe(serializeSequenceLookupResult);
    expect(FeatureServerServiceRaw.ingestActions).toBe(FeatureServerService.ingestActions);
    expect(FeatureServerServiceRaw.getRealtimeSequence.requestDeserialize).toBe(FeatureServerService.getRealtimeSequence.requestDeserialize);
  });
});

describe('single-copy embedding serializers', () => {
  const answer = (n: number, D: number, raw = true): GetEmbeddingsResponse =>
    GetEmbeddingsResponse.fromPartial({
      snapshotVersion: 'v3',
      producerModelVersion: 'pinnerformer-2',
      userFound: true,
      userVector: [0.25, -0.5, 1],
      itemIds: Array.from({ length: n }, (_, i) => `item-${i}`),
      itemVectors: raw ? { dtype: DataType.DATA_TYPE_FLOAT32, shape: [n, D], raw: bytes(n * D * 4, n) } : { dtype: DataType.DATA_TYPE_FLOAT32, shape: [n, D], floatValues: Array.from({ length: n * D }, (_, i) => i / 8) },
      unknownItemIds: ['gone'],
      computedItemIds: n > 0 ? ['item-0'] : [],
    });

  it('write GetEmbeddings answers and lookup results the generated decoder reads as the generated encoder wrote them', () => {
    for (const r of [answer(0, 32), answer(1, 32), answer(500, 32), answer(500, 64), answer(3, 32, false), GetEmbeddingsResponse.fromPartial({})]) {
      expectSameMessage(serializeGetEmbeddingsResponse(r), GetEmbeddingsResponse.encode(r).finish(), (b) => GetEmbeddingsResponse.decode(b));
      const ok = EmbeddingsLookupResult.fromPartial({ requestId: 9, status: { code: 0, message: '' }, response: r });
      expectSameMessage(serializeEmbeddingsLookupResult(ok), EmbeddingsLookupResult.encode(ok).finish(), (b) => EmbeddingsLookupResult.decode(b));
    }
    const failed = EmbeddingsLookupResult.fromPartial({ requestId: 10, status: { code: 5, message: 'no such snapshot' } });
    expectSameMessage(serializeEmbeddingsLookupResult(failed), EmbeddingsLookupResult.encode(failed).finish(), (b) => EmbeddingsLookupResult.decode(b));
  });

  it('are the server definition’s serializers for GetEmbeddings and StreamEmbeddings; everything else is the generated definition', () => {
    expect(EmbeddingStoreServiceRaw.getEmbeddings.responseSerialize).toBe(serializeGetEmbeddingsResponse);
    expect(EmbeddingStoreServiceRaw.streamEmbeddings.responseSerialize).toBe(serializeEmbeddingsLookupResult);
    expect(EmbeddingStoreServiceRaw.retrieve).toBe(EmbeddingStoreService.retrieve);
  });
});
