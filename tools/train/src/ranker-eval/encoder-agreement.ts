import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type InferenceSession } from 'onnxruntime-node';
import { SeededRandom, createCpuSession, runOnnx } from '@pinrank/models';
import { buildRankerBatch } from '../ranker/batch';
import { HEADS, RANKING_HEAD_WEIGHTS } from '../ranker/loss';
import { PfSnapshots } from '../ranker/pf-snapshots';
import { type RankRequest, loadRankerData } from '../ranker/ranker-data';

/** Options of `encoderAgreement`. */
export interface EncoderAgreementOptions {
  /** World directory written by `pinrank simulate`. */
  worldDir: string;
  /** PinnerFormer snapshots written by `pinrank embed`. */
  snapshotsDir: string;
  /** Model repository holding transact_encoder/<v> and ranking_heads/<v>. */
  repository: string;
  /** The reference transact_encoder version (e.g. the float32 model a new one must match). */
  reference: string;
  /** The compared transact_encoder: a version in the repository, or a model.onnx file path. */
  candidate: string;
  /** ranking_heads version both encoders feed. */
  heads: string;
  /** Ranking requests (users at their evaluation-period request times). Default 200. */
  requests?: number;
  /** Candidates per request: the page the user saw, then random catalog items. Default 200. */
  candidates?: number;
  /** K of the top-K agreement. Default 10. */
  topK?: number;
  /** Seed of the request and candidate draw. Default 7. */
  seed?: number;
}

/** How closely two encoders agree on realistic inputs, measured end to end through the heads. */
export interface EncoderAgreement {
  requests: number;
  candidates: number;
  topK: number;
  /** Largest and mean |Δ| of the encoder output `encoded` [N,1056]. */
  encodedMaxAbsDiff: number;
  encodedMeanAbsDiff: number;
  /** Largest |Δ| of any head probability. */
  probMaxAbsDiff: number;
  /** Largest |Δ| of the ranking score Σ w_h·p_h (router default weights). */
  scoreMaxAbsDiff: number;
  /** Mean share of the reference's top K that the candidate's top K holds. */
  topKOverlap: number;
  /** Share of requests whose top-ranked candidate is the same. */
  top1Agreement: number;
  /** Share of requests ranked in exactly the same full order. */
  sameOrder: number;
}

/**
 * Scores the same realistic ranking requests — sequences as of the request
 * time from the world's action log (serving length), the PinnerFormer
 * snapshot before that day, the page the user saw plus random catalog items
 * — through reference encoder → heads and candidate encoder → heads in ONNX
 * Runtime, and compares outputs, probabilities, scores and rankings. Thrown by:
 * missing model files or an unreadable world (Error).
 */
export async function encoderAgreement(o: EncoderAgreementOptions): Promise<EncoderAgreement> {
  const modelFile = (name: string, version: string): string => {
    const path = join(o.repository, name, version, 'model.onnx');
    if (!existsSync(path)) throw new Error(`no ${name} version ${version} in ${o.repository} (${path} is missing)`);
    return path;
  };
  const candidateFile = existsSync(o.candidate) && o.candidate.endsWith('.onnx') ? o.candidate : modelFile('transact_encoder', o.candidate);
  const files = [modelFile('transact_encoder', o.reference), candidateFile, modelFile('ranking_heads', o.heads)];
  const data = await loadRankerData(o.worldDir, { pageSize: 6, trainSeqLen: 32, serveSeqLen: 100, evalDays: 7, heldOutUserFraction: 0.1 });
  const pf = await PfSnapshots.load(o.snapshotsDir, data.manifest.counts.users, data.manifest.counts.items);
  const requests = drawRequests(data.requests, data.manifest.counts.items, o.requests ?? 200, o.candidates ?? 200, new SeededRandom(o.seed ?? 7));
  const open = async (file: string): Promise<InferenceSession> => createCpuSession(await readFile(file));
  const [reference, candidate, heads] = [await open(files[0]!), await open(files[1]!), await open(files[2]!)];
  const topK = o.topK ?? 10;
  const acc = { encMax: 0, encSum: 0, encCount: 0, probMax: 0, scoreMax: 0, overlap: 0, top1: 0, same: 0 };
  try {
    for (const request of requests) {
      const batch = buildRankerBatch(data, pf, [request], { serveLengthEncoder: true });
      const score = async (encoder: InferenceSession): Promise<{ encoded: Float32Array; probs: Float32Array; scores: Float32Array }> => {
        const out = (await runOnnx(encoder, batch.encoder))['encoded']!;
        const probs = (await runOnnx(heads, { ...batch.heads, encoded: { dtype: 'float32', shape: out.shape, data: out.data } }))['probs']!.data;
        const scores = new Float32Array(batch.n);
        for (let i = 0; i < batch.n; i++) HEADS.forEach((h, k) => (scores[i]! += RANKING_HEAD_WEIGHTS[h] * probs[i * HEADS.length + k]!));
        return { encoded: out.data, probs, scores };
      };
      const a = await score(reference);
      const b = await score(candidate);
      for (let i = 0; i < a.encoded.length; i++) {
        const d = Math.abs(a.encoded[i]! - b.encoded[i]!);
        acc.encMax = Math.max(acc.encMax, d);
        acc.encSum += d;
      }
      acc.encCount += a.encoded.length;
      for (let i = 0; i < a.probs.length; i++) acc.probMax = Math.max(acc.probMax, Math.abs(a.probs[i]! - b.probs[i]!));
      for (let i = 0; i < a.scores.length; i++) acc.scoreMax = Math.max(acc.scoreMax, Math.abs(a.scores[i]! - b.scores[i]!));
      const [ra, rb] = [ranking(a.scores), ranking(b.scores)];
      const topA = new Set(ra.slice(0, topK));
      acc.overlap += rb.slice(0, topK).filter((i) => topA.has(i)).length / Math.min(topK, ra.length);
      acc.top1 += ra[0] === rb[0] ? 1 : 0;
      acc.same += ra.every((v, i) => v === rb[i]) ? 1 : 0;
    }
  } finally {
    await Promise.all([reference, candidate, heads].map((s) => s.release()));
  }
  const n = requests.length;
  return {
    requests: n,
    candidates: o.candidates ?? 200,
    topK,
    encodedMaxAbsDiff: acc.encMax,
    encodedMeanAbsDiff: acc.encCount > 0 ? acc.encSum / acc.encCount : 0,
    probMaxAbsDiff: acc.probMax,
    scoreMaxAbsDiff: acc.scoreMax,
    topKOverlap: n > 0 ? acc.overlap / n : 1,
    top1Agreement: n > 0 ? acc.top1 / n : 1,
    sameOrder: n > 0 ? acc.same / n : 1,
  };
}

/** Candidate indices by descending score (ties by index, so equal scores rank alike in both). */
function ranking(scores: Float32Array): number[] {
  return Array.from(scores.keys()).sort((i, j) => scores[j]! - scores[i]! || i - j);
}

/** `count` evaluation-period requests of distinct users, each widened to `candidates` items (its page first). */
function drawRequests(all: readonly RankRequest[], items: number, count: number, candidates: number, rng: SeededRandom): RankRequest[] {
  const seen = new Set<number>();
  const pool = all.filter((r) => r.part === 'eval' && !seen.has(r.user) && seen.add(r.user));
  for (let i = pool.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count).map((r) => {
    const chosen = new Set(r.items.slice(0, candidates));
    while (chosen.size < Math.min(candidates, items)) chosen.add(rng.int(items));
    const list = [...chosen];
    return { ...r, items: list, outcomes: list.map(() => 1) };
  });
}
