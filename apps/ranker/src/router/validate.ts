import { type RankRequest, type RecommendRequest } from '@pinrank/proto';
import { PinrankError, checkId, quote } from '@pinrank/service-kit';

const invalid = (message: string): PinrankError => new PinrankError('INVALID_ARGUMENT', message);

/** Checks a user id: present and at most 256 bytes. Thrown as INVALID_ARGUMENT naming `user_id`. */
export function checkUser(userId: string): void {
  checkId(userId, 'user_id');
}

function checkRequestTime(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0) throw invalid(`request_time_ms: ${ms} is not an epoch-ms time (0 means now)`);
}

/**
 * Checks a Rank request: a user, 1..maxCandidates distinct non-empty ids, top_k
 * in 0..len(candidates), a valid request time, head weights naming known heads
 * with finite values. Thrown as INVALID_ARGUMENT with a message naming the field.
 */
export function validateRankRequest(req: RankRequest, maxCandidates: number, headNames: readonly string[]): void {
  checkUser(req.userId);
  const ids = req.candidateItemIds;
  if (ids.length === 0) throw invalid(`candidate_item_ids: 0 ids given; send 1..${maxCandidates}`);
  if (ids.length > maxCandidates) throw invalid(`candidate_item_ids: ${ids.length} ids given; at most ${maxCandidates} per request`);
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    checkId(id, `candidate_item_ids[${i}]`);
    const first = seen.get(id);
    if (first !== undefined) throw invalid(`candidate_item_ids: ${quote(id)} appears more than once (positions ${first} and ${i}); send each candidate once`);
    seen.set(id, i);
  });
  if (!Number.isInteger(req.topK) || req.topK < 0 || req.topK > ids.length) {
    throw invalid(`top_k: ${req.topK} is out of range; send 0 (all) or 1..${ids.length} (the number of candidates)`);
  }
  checkRequestTime(req.requestTimeMs);
  checkWeights(req.headWeights, headNames);
}

/** Checks request head weights: known head names and finite values. */
export function checkWeights(weights: Record<string, number>, headNames: readonly string[]): void {
  for (const [head, w] of Object.entries(weights)) {
    if (!headNames.includes(head)) throw invalid(`head_weights: unknown head ${quote(head)}; the model's heads are ${headNames.join(', ')}`);
    if (!Number.isFinite(w)) throw invalid(`head_weights[${quote(head)}]: ${w} is not a finite number`);
  }
}

/** Checks a Recommend request: a user, k in 1..1000, candidates in 0..maxCandidates, a valid request time. */
export function validateRecommendRequest(req: RecommendRequest, maxCandidates: number): void {
  checkUser(req.userId);
  if (!Number.isInteger(req.k) || req.k < 1 || req.k > 1000) throw invalid(`k: ${req.k} is out of range; send 1..1000`);
  if (!Number.isInteger(req.candidates) || req.candidates < 0 || req.candidates > maxCandidates) {
    throw invalid(`candidates: ${req.candidates} is out of range; send 0 (server default) or 1..${maxCandidates}`);
  }
  if (req.candidates > 0 && req.candidates < req.k) throw invalid(`candidates: ${req.candidates} is fewer than k=${req.k}`);
  checkRequestTime(req.requestTimeMs);
}
