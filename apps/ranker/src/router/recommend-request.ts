import { DegradedFlag, RecommendResponse, type RecommendRequest } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';
import { experimentFields, type Treatment } from './experiments/experiment-plan';
import { fetchSequence, rankCandidates, type RankDeps, type Served } from './rank-request';
import { type RequestContext } from './request-context';
import { validateRecommendRequest } from './validate';

// One Recommend request, top to bottom:
//   1. validate
//   2. together: the realtime sequence with its stored records (the saved and hidden items to
//      exclude) and retrieval, the items nearest to the user's vector, over-fetched by the
//      sequence length so that the exclusions can be applied afterwards (or the popularity
//      list, flagged)
//   3. the retrieved items less the exclusions, the first `wanted` of them
//   4. Rank's stages 2-5 over them, in the snapshot retrieval used (rank-request.ts)
//   5. the response
// One RequestContext carries the flags and timings of every stage.

/** Retrieval statuses that fall back to the popularity list rather than failing the request. */
const POPULARITY_FALLBACK_CODES = new Set(['NOT_FOUND', 'UNAVAILABLE', 'FAILED_PRECONDITION']);

/** The most items one Retrieve returns (the embedding-store's limit on k). */
const MAX_RETRIEVE = 1000;

/** What retrieval gave: the items, the snapshot it read, or why the popularity list stands in. */
interface Retrieved {
  candidates: string[];
  snapshotVersion: string | undefined;
  fallback: string | undefined;
}

/** Handles Recommend: retrieve → rank → top k. Thrown as PinrankError for every failure that has no degraded path. */
export async function recommendRequest(req: RecommendRequest, t: Treatment, ctx: RequestContext, deps: RankDeps): Promise<Served<RecommendResponse>> {
  const o = deps.options;
  // 1. Validate.
  validateRecommendRequest(req, o.maxCandidates);
  const requestTimeMs = req.requestTimeMs || Date.now();
  const wanted = Math.max(req.k, req.candidates || o.recommendCandidates);

  // 2. The sequence, with records, and retrieval. A sequence holds at most `sequenceLength`
  // records, so at most that many of the retrieved items are excluded: retrieving that many more
  // lets both calls start together. Where that would pass retrieval's cap of 1000, retrieval
  // waits for the sequence and sends the exclusions instead.
  const seqP = fetchSequence({ userId: req.userId, asOfMs: requestTimeMs, includeRecords: true, models: t.models }, ctx, deps);
  const retrieve = (k: number, excludeItemIds: string[]): Promise<Retrieved> =>
    ctx.clock.time('retrieve', async () => {
      try {
        const res = await deps.upstreams.retrieve(
          { query: { $case: 'userId', value: req.userId }, k, excludeItemIds, snapshotVersion: t.snapshotVersion ?? '' },
          { timeoutMs: o.embeddingsTimeoutMs },
          ctx,
        );
        const candidates = res.items.map((i) => i.itemId);
        return { candidates, snapshotVersion: res.snapshotVersion || undefined, fallback: candidates.length === 0 ? 'retrieval returned no items' : undefined };
      } catch (err) {
        const e = PinrankError.from(err);
        if (!POPULARITY_FALLBACK_CODES.has(e.code)) throw e;
        return { candidates: [], snapshotVersion: undefined, fallback: e.message };
      }
    });
  const together = wanted + o.sequenceLength <= MAX_RETRIEVE;
  const [seq, retrieved] = together
    ? await Promise.all([seqP, retrieve(wanted + o.sequenceLength, [])])
    : await seqP.then(async (s) => [s, await retrieve(Math.min(wanted, MAX_RETRIEVE), [...new Set(s.sequence.savedOrHidden)])] as const);
  const excluded = new Set(seq.sequence.savedOrHidden);

  // 3. The retrieved items less the exclusions, or the popularity list.
  let candidates = retrieved.candidates.filter((id) => !excluded.has(id)).slice(0, wanted);
  if (retrieved.fallback !== undefined) {
    candidates = deps.popularity.ranked.filter((id) => !excluded.has(id)).slice(0, wanted);
    ctx.flag(DegradedFlag.DEGRADED_FLAG_POPULARITY_FALLBACK, retrieved.fallback);
    if (candidates.length === 0) {
      throw new PinrankError('UNAVAILABLE', `no candidates for user ${req.userId}: ${retrieved.fallback}, and no popularity list is configured`);
    }
  }

  // 4. Rank them, in the snapshot retrieval used (or the arm's).
  const pinned = retrieved.snapshotVersion ?? t.snapshotVersion;
  const out = await rankCandidates(
    {
      userId: req.userId,
      candidates,
      requestTimeMs,
      topK: Math.min(req.k, candidates.length),
      weights: t.headWeights,
      models: t.models,
      scorer: t.scorer,
      sequence: Promise.resolve(seq),
      ...(pinned ? { snapshotVersion: pinned } : {}),
    },
    ctx,
    deps,
  );

  // 5. Response.
  const response = RecommendResponse.fromPartial({
    items: out.items,
    modelVersions: out.modelVersions,
    snapshotVersion: out.snapshotVersion,
    timings: ctx.clock.timings(),
    degraded: ctx.degraded(),
    requestId: ctx.requestId,
    ...experimentFields(t),
  });
  return { response, requestTimeMs, candidates: candidates.length, unknownItemIds: out.unknownItemIds };
}
