import { PinrankError } from '@pinrank/service-kit';
import { VectorKind } from '@pinrank/proto';
import { RequestDeadline } from './deadline';
import { RequestContext } from './request-context';
import { fakeStoreData, itemIds, startFakeEmbeddingStore, startFakeFeatureServer } from './testing/fake-upstreams';
import { indexOf, SEQUENCES } from './testing/router-harness';
import { GrpcUpstreams, upstreamError } from './upstreams';

// The router's clients of the feature-server and the embedding-store, against the gRPC fakes.

let features: Awaited<ReturnType<typeof startFakeFeatureServer>>;
let store: Awaited<ReturnType<typeof startFakeEmbeddingStore>>;
let up: GrpcUpstreams;
const ctx = (budgetMs = 5000): RequestContext => new RequestContext({ deadline: RequestDeadline.fromCall(undefined, budgetMs, 5) });
const query = { userId: 'u1', asOfMs: 1_700_000_000_000, length: 6, width: 32, includeRecords: true, timeoutMs: 2000 };

beforeAll(async () => {
  features = await startFakeFeatureServer({ sequences: SEQUENCES, itemIndex: indexOf });
  store = await startFakeEmbeddingStore(fakeStoreData({ items: itemIds(10), users: ['u1'], snapshotVersion: 'snap-7', producerModelVersion: 'pf-1', index: indexOf }));
  up = new GrpcUpstreams(features.address, store.address);
});
afterAll(async () => {
  up.close();
  await Promise.all([features.server.shutdown(), store.server.shutdown()]);
});

describe('GrpcUpstreams', () => {
  it('fetches the sequence with its records, asking for the request length', async () => {
    const r = await up.sequence(query, ctx());
    expect(r.failure).toBeUndefined();
    expect(r.sequence).toMatchObject({ length: 3, S: 6, width: 32, savedOrHidden: ['i1', 'i2'] });
    expect(features.requests.at(-1)).toMatchObject({ userId: 'u1', maxLen: 6, includeRecords: true });
  });

  it('answers an empty sequence with the reason, never an error, when the feature-server is unreachable or sends another width', async () => {
    const dead = await startFakeFeatureServer({ sequences: SEQUENCES, itemIndex: indexOf });
    await dead.server.shutdown();
    const gone = new GrpcUpstreams(dead.address, store.address);
    try {
      const r = await gone.sequence(query, ctx());
      expect(r.failure).toMatch(/^feature-server: UNAVAILABLE: /);
      expect(r.sequence).toMatchObject({ length: 0, S: 6, width: 32 });
    } finally {
      gone.close();
    }
    const wrongWidth = await up.sequence({ ...query, width: 16 }, ctx());
    expect(wrongWidth.failure).toMatch(/INVALID_ARGUMENT: item_vectors: shape \[1,6,32\] is not \[1,6,16\]/);
  });

  it('keeps the store status of a lookup the caller can act on, and maps the rest to UNAVAILABLE', async () => {
    await expect(up.getEmbeddings({ userId: 'u1', itemIds: ['i1'], kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: 'gone' }, { timeoutMs: 2000 }, ctx())).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'embedding-store GetEmbeddings: snapshot gone is not retained',
    });
    await expect(up.retrieve({ query: { $case: 'userId', value: 'nobody' }, k: 3 }, { timeoutMs: 2000 }, ctx())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await up.snapshotVersions(2000)).toEqual(new Set(['snap-7']));
  });

  it('sends the lookups on one stream per upstream, answering as the unary calls do', async () => {
    const unary = new GrpcUpstreams(features.address, store.address, {}, { lookupStreams: false });
    try {
      const [seqBefore, embBefore] = [features.lookups.streamed, store.lookups.streamed];
      const lookup = { userId: 'u1', itemIds: ['i1', 'i3'], kind: VectorKind.VECTOR_KIND_TOWER };
      const [streamedSeq, streamedEmb] = await Promise.all([up.sequence(query, ctx()), up.getEmbeddings(lookup, { timeoutMs: 2000 }, ctx())]);
      expect([features.lookups.streamed - seqBefore, store.lookups.streamed - embBefore]).toEqual([1, 1]);
      const [unarySeq, unaryEmb] = await Promise.all([unary.sequence(query, ctx()), unary.getEmbeddings(lookup, { timeoutMs: 2000 }, ctx())]);
      expect([features.lookups.streamed - seqBefore, store.lookups.streamed - embBefore]).toEqual([1, 1]);
      expect(streamedSeq).toEqual(unarySeq);
      expect(streamedEmb).toEqual(unaryEmb);
    } finally {
      unary.close();
    }
  });

  it('uses the unary calls against upstreams without the stream methods (an older release)', async () => {
    const oldFeatures = await startFakeFeatureServer({ sequences: SEQUENCES, itemIndex: indexOf, lookupStreams: false });
    const oldStore = await startFakeEmbeddingStore(store.data, { lookupStreams: false });
    const old = new GrpcUpstreams(oldFeatures.address, oldStore.address);
    try {
      for (let k = 0; k < 3; k++) {
        const r = await old.sequence(query, ctx());
        expect(r.failure).toBeUndefined();
        await expect(old.getEmbeddings({ itemIds: ['i1'], kind: VectorKind.VECTOR_KIND_CONTENT }, { timeoutMs: 2000 }, ctx())).resolves.toMatchObject({ itemIds: ['i1'] });
      }
      expect([oldFeatures.requests.length, oldStore.embeddingRequests.length]).toEqual([3, 3]);
    } finally {
      old.close();
      await Promise.all([oldFeatures.server.shutdown(), oldStore.server.shutdown()]);
    }
  });

  it('refuses to start a call when the request has no time left', async () => {
    await expect(up.getEmbeddings({ itemIds: ['i1'], kind: VectorKind.VECTOR_KIND_CONTENT }, { timeoutMs: 2000 }, ctx(1))).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
      message: 'deadline reached before GetEmbeddings',
    });
  });
});

describe('upstreamError', () => {
  it("keeps the caller's own mistakes, names a deadline, and turns the rest into UNAVAILABLE", () => {
    expect(upstreamError('x', new PinrankError('INVALID_ARGUMENT', 'bad'))).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'x: bad' });
    expect(upstreamError('x', new PinrankError('FAILED_PRECONDITION', 'no snapshot'))).toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(upstreamError('x', new PinrankError('DEADLINE_EXCEEDED', 'late'))).toMatchObject({ code: 'DEADLINE_EXCEEDED', message: 'x did not answer before the deadline' });
    expect(upstreamError('x', new PinrankError('INTERNAL', 'boom'))).toMatchObject({ code: 'UNAVAILABLE', message: 'x failed: INTERNAL: boom' });
  });
});
