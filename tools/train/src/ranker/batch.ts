import { DENSE_FEATURES, denseUserColumns, writeDenseRows, type BuiltSequence } from '@pinrank/features';
import { transactFeeds, type Feeds } from '@pinrank/models';
import { type PfSnapshots } from './pf-snapshots';
import { type RankRequest, type RankerData } from './ranker-data';
import { applyTimeWindowMask } from './time-window';

/** The model inputs of a batch of requests; candidates of one request share one user row of the sequence. */
export interface RankerBatch {
  /** transact_encoder inputs (U = requests, N = candidates). */
  encoder: Feeds;
  /** ranking heads inputs except `encoded`: user_pf, item_pf, dense_features. */
  heads: Feeds;
  /** Outcome (proto ActionType) of each candidate. */
  outcomes: number[];
  /** Candidates. */
  n: number;
}

/** Options of `buildRankerBatch`. */
export interface BatchOptions {
  /** Training-time window in seconds to mask (0: none; never set at evaluation). */
  timeWindowS?: number;
  /** Zero the PinnerFormer vectors and flag them missing (the no-PinnerFormer ablation). */
  dropPinnerformer?: boolean;
  /** Feed the encoder the serving-length sequence instead of the training length (evaluation at S = serve length). */
  serveLengthEncoder?: boolean;
}

/**
 * Builds one batch: each request's sequence as of its time from the
 * feature-server builder (`SequenceTimeline`), the PinnerFormer vectors of
 * the snapshot before the request's day, and the dense features the router
 * serves (`@pinrank/features` `writeDenseRows`, on the serving-length sequence).
 */
export function buildRankerBatch(data: RankerData, pf: PfSnapshots, requests: readonly RankRequest[], o: BatchOptions = {}): RankerBatch {
  const D = data.dimension;
  const P = pf.dimension;
  const n = requests.reduce((s, r) => s + r.items.length, 0);
  const seqs: BuiltSequence[] = [];
  const candVectors = new Float32Array(n * D);
  const userIdx: number[] = [];
  const userPf = new Float32Array(n * P);
  const itemPf = new Float32Array(n * P);
  const dense = new Float32Array(n * DENSE_FEATURES);
  const outcomes: number[] = [];
  const userBuf = new Float32Array(P);
  let k = 0;
  requests.forEach((r, u) => {
    const served = (data.serveTimelines[r.user] as NonNullable<RankerData['serveTimelines'][number]>).at(r.timeMs);
    const seq = o.serveLengthEncoder ? served : (data.trainTimelines[r.user] as NonNullable<RankerData['trainTimelines'][number]>).at(r.timeMs);
    seqs.push(o.timeWindowS ? { ...seq, agesS: applyTimeWindowMask(seq.agesS, o.timeWindowS) } : seq);
    const itemBuf = new Float32Array(r.items.length * P);
    const missing = o.dropPinnerformer ? true : pf.fill(r.user, r.items, r.timeMs, userBuf, itemBuf);
    writeDenseRows(dense, k, r.items.map((item) => data.popularity[item] ?? 0), denseUserColumns(served, missing));
    r.items.forEach((item, j) => {
      candVectors.set(data.content.subarray(item * D, (item + 1) * D), k * D);
      userIdx.push(u);
      if (!o.dropPinnerformer) {
        if (!missing) userPf.set(userBuf, k * P);
        itemPf.set(itemBuf.subarray(j * P, (j + 1) * P), k * P);
      }
      outcomes.push(r.outcomes[j] as number);
      k++;
    });
  });
  return {
    encoder: transactFeeds(seqs, { vectors: candVectors, userIdx }),
    heads: {
      user_pf: { dtype: 'float32', shape: [n, P], data: userPf },
      item_pf: { dtype: 'float32', shape: [n, P], data: itemPf },
      dense_features: { dtype: 'float32', shape: [n, DENSE_FEATURES], data: dense },
    },
    outcomes,
    n,
  };
}
