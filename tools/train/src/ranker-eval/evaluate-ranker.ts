import * as tf from '@tensorflow/tfjs';
import { AffinityOracle } from '@pinrank/sim';
import { buildRankerBatch, type RankerBatch } from '../ranker/batch';
import { HEADS, RANKING_HEAD_WEIGHTS, headTargets, type Head } from '../ranker/loss';
import { type PfSnapshots } from '../ranker/pf-snapshots';
import { type RankRequest, type RankerData } from '../ranker/ranker-data';
import { disposeRankerModel, rankerForward, rankerModel } from '../ranker/ranker-model';
import { type TrainedRanker } from '../ranker/trainer';
import { entropyBits, hitsAtK, rocAuc, topIndices } from './ranking-metrics';
import { type BatchScorer } from './realtime-probe';

/** Scores a list of requests: probabilities `[candidates, HEADS]` row-major, candidates in request order. */
export type RequestScorer = (requests: readonly RankRequest[]) => Float32Array;

/** Per-head figures of one scorer on the evaluation sessions. */
export interface RankerEvaluation {
  /** ROC AUC over all evaluation impressions, per head. */
  auc: Record<Head, number>;
  /**
   * Mean positives among a session's 3 impressions with the highest probability of that head
   * (sessions with a positive and a negative for the head): how well each head finds its own
   * outcome, so higher is better for every head, hide included.
   */
  hit3: Record<Head, number>;
  /** Sessions counted for HIT@3, per head. */
  hitSessions: Record<Head, number>;
  /**
   * The published hide metric: mean hides among a session's top 3 by the ranking score
   * (`RANKING_HEAD_WEIGHTS`), over sessions with a hide and a non-hide; lower is better.
   */
  rankedHideHit3: number;
  rankedHideSessions: number;
  /** Mean topic entropy (bits) of the top 10 by save probability, over sessions of at least 10 impressions. */
  top10TopicEntropy: number;
  diversitySessions: number;
  sessions: number;
  impressions: number;
}

/** Options of `evaluationRequests`. */
export interface EvalSelection {
  /** At most this many sessions (every k-th, deterministic). Default all. */
  maxSessions?: number;
}

/** The evaluation requests: every request in the last `evalDays` (all users, held-out users included), whole sessions only. */
export function evaluationRequests(data: RankerData, o: EvalSelection = {}): RankRequest[] {
  const cutoff = data.splits.cutoffMs;
  const bySession = new Map<number, RankRequest[]>();
  const started = new Set<number>();
  for (const r of data.requests) {
    // A session counts only if its first page is in the window (sessions are contiguous per user).
    const first = !started.has(r.session);
    started.add(r.session);
    const list = bySession.get(r.session);
    if (list) list.push(r);
    else if (first && r.timeMs >= cutoff) bySession.set(r.session, [r]);
  }
  const sessions = [...bySession.values()];
  const step = o.maxSessions && sessions.length > o.maxSessions ? sessions.length / o.maxSessions : 1;
  const picked: RankRequest[] = [];
  for (let s = 0; s < sessions.length; s += step) picked.push(...(sessions[Math.floor(s)] as RankRequest[]));
  return picked;
}

/** Scores requests in chunks of `chunk` requests with any scorer and computes the figures per head. */
export function evaluateScorer(data: RankerData, requests: readonly RankRequest[], scorer: RequestScorer, chunk = 32): RankerEvaluation {
  const H = HEADS.length;
  const probs: number[] = [];
  for (let i = 0; i < requests.length; i += chunk) probs.push(...scorer(requests.slice(i, i + chunk)));
  const labels: number[][] = HEADS.map(() => []);
  const scores: number[][] = HEADS.map(() => []);
  const sessions = new Map<number, number[]>();
  const items: number[] = [];
  let k = 0;
  for (const r of requests) {
    r.outcomes.forEach((o, j) => {
      const t = headTargets(o);
      for (let h = 0; h < H; h++) {
        labels[h]!.push(t[h] as number);
        scores[h]!.push(probs[k * H + h] as number);
      }
      const list = sessions.get(r.session) ?? [];
      list.push(k);
      sessions.set(r.session, list);
      items.push(r.items[j] as number);
      k++;
    });
  }
  const auc = {} as Record<Head, number>;
  const hit3 = {} as Record<Head, number>;
  const hitSessions = {} as Record<Head, number>;
  HEADS.forEach((head, h) => {
    auc[head] = rocAuc(scores[h]!, labels[h]!);
    let sum = 0;
    let n = 0;
    for (const rows of sessions.values()) {
      const y = rows.map((i) => labels[h]![i] as number);
      const pos = y.reduce((s, v) => s + v, 0);
      if (pos === 0 || pos === y.length) continue;
      sum += hitsAtK(rows.map((i) => scores[h]![i] as number), y, 3);
      n++;
    }
    hit3[head] = n > 0 ? sum / n : NaN;
    hitSessions[head] = n;
  });
  const hideCol = HEADS.indexOf('hide');
  const utility = labels[0]!.map((_, i) => HEADS.reduce((sum, h, c) => sum + RANKING_HEAD_WEIGHTS[h] * (scores[c]![i] as number), 0));
  let rankedHide = 0;
  let rankedHideSessions = 0;
  for (const rows of sessions.values()) {
    const y = rows.map((i) => labels[hideCol]![i] as number);
    const pos = y.reduce((s, v) => s + v, 0);
    if (pos === 0 || pos === y.length) continue;
    rankedHide += hitsAtK(rows.map((i) => utility[i] as number), y, 3);
    rankedHideSessions++;
  }
  let entropy = 0;
  let diversitySessions = 0;
  for (const rows of sessions.values()) {
    if (rows.length < 10) continue;
    const top = topIndices(rows.map((i) => scores[0]![i] as number), 10);
    entropy += entropyBits(top.map((t) => data.world.items.primaryTopic[items[rows[t] as number] as number] as number));
    diversitySessions++;
  }
  return {
    auc,
    hit3,
    hitSessions,
    rankedHideHit3: rankedHideSessions > 0 ? rankedHide / rankedHideSessions : NaN,
    rankedHideSessions,
    top10TopicEntropy: diversitySessions > 0 ? entropy / diversitySessions : NaN,
    diversitySessions,
    sessions: sessions.size,
    impressions: k,
  };
}

/** The simulator's ground-truth outcome probabilities at the request time: the ceiling. */
export function oracleScorer(data: RankerData): RequestScorer {
  const oracle = new AffinityOracle(data.world);
  return (requests) => {
    const out: number[] = [];
    for (const r of requests) {
      const save = oracle.probabilityOf(3, r.user, r.timeMs, r.items);
      const click = oracle.probabilityOf(2, r.user, r.timeMs, r.items);
      const closeup = oracle.probabilityOf(4, r.user, r.timeMs, r.items);
      const hide = oracle.probabilityOf(5, r.user, r.timeMs, r.items);
      r.items.forEach((_, j) => out.push(save[j] as number, (click[j] as number) + (closeup[j] as number), hide[j] as number));
    }
    return Float32Array.from(out);
  };
}

/**
 * A trained model's inference forward pass (TensorFlow.js, no dropout, no
 * time-window mask) as a scorer; the encoder sees the serving-length
 * sequence unless `trainLength`. `scoreBatch` scores an already built batch.
 * Call `dispose` when done.
 */
export function trainedScorer(t: TrainedRanker, pf: PfSnapshots, trainLength = false): RequestScorer & { scoreBatch: BatchScorer; dispose(): void } {
  const specs = { ...(t.encoder ? { encoder: t.encoder.spec } : {}), heads: t.heads.spec };
  const m = rankerModel(specs, { ...(t.encoder ? { encoder: t.encoder.store } : {}), heads: t.heads.store }, t.options.variant.compression, false);
  const scoreBatch = (batch: RankerBatch): Float32Array => tf.tidy(() => rankerForward(tf, m, batch).dataSync() as Float32Array).slice();
  const scorer = (requests: readonly RankRequest[]): Float32Array =>
    scoreBatch(buildRankerBatch(t.data, pf, requests, { dropPinnerformer: !t.options.variant.pinnerformer, serveLengthEncoder: !trainLength }));
  return Object.assign(scorer, { scoreBatch, dispose: () => disposeRankerModel(m) });
}
