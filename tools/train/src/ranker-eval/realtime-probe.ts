import { SeededRandom } from '@pinrank/models';
import { buildRankerBatch, type RankerBatch } from '../ranker/batch';
import { HEADS, RANKING_HEAD_WEIGHTS, type Head } from '../ranker/loss';
import { type PfSnapshots } from '../ranker/pf-snapshots';
import { type RankRequest, type RankerData } from '../ranker/ranker-data';

/** Scores a built batch: probabilities `[candidates, HEADS]` row-major. */
export type BatchScorer = (batch: RankerBatch) => Float32Array | Promise<Float32Array>;

/** Options of `realtimeProbe`; the defaults are those of the end-to-end realtime-effect test. */
export interface RealtimeProbeOptions {
  /** Users per burst type. Default 100. */
  users?: number;
  /** Candidates from the probed topic, and from other topics. Default 10 and 30. */
  topicCandidates?: number;
  otherCandidates?: number;
  /** Actions in a burst, spread over the last `burstSpanMs` before the request. Default 20 over 60 s. */
  burst?: number;
  burstSpanMs?: number;
  /** Head weights of the ranking score (the router's defaults). */
  weights?: Readonly<Record<Head, number>>;
  /** Request time (epoch ms). Default: the end of the world. */
  timeMs?: number;
  /** Seed of the candidate and user draw. Default 12345. */
  seed?: number;
  /** Zero the PinnerFormer inputs (for models trained without them). Default false. */
  dropPinnerformer?: boolean;
}

/** How one kind of burst moved the probed topic's candidates. */
export interface BurstResponse {
  /** Share of users whose topic candidates have a better (lower) mean position after the burst. */
  movedUp: number;
  /** Share of users with the same mean position. */
  unchanged: number;
  /** Mean position (0 = top) of the topic candidates before and after, averaged over users. */
  positionBefore: number;
  positionAfter: number;
  /** Mean change of each head's probability on the topic candidates (after − before). */
  headDelta: Record<Head, number>;
  /** The same on the other candidates (a burst that moves every candidate alike changes no position). */
  otherHeadDelta: Record<Head, number>;
}

/** What `realtimeProbe` measured. */
export interface RealtimeProbeResult {
  topic: number;
  users: number;
  candidates: number;
  saves: BurstResponse;
  hides: BurstResponse;
}


/** A world with too few users or items in its largest topic for the probe. */
export class ProbeWorldTooSmall extends RangeError {}

/** Users scored per forward pass. */
const USERS_PER_BATCH = 4;
const SAVE = 3;
const HIDE = 5;
const HOMEFEED = 1;

function shuffled<T>(xs: readonly T[], rng: SeededRandom): T[] {
  const copy = [...xs];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/**
 * The realtime-effect check of the service-level suite, offline: for users of
 * the world, rank candidates of the largest topic among others as of
 * `timeMs`, add a burst of saves (or hides) on other items of that topic to
 * the user's realtime sequence, rank again, and count the users whose topic
 * candidates moved up. Saves should move the topic up for nearly everyone;
 * hides should not. Works with any scorer (the training forward pass or the
 * exported ONNX models). Thrown by: a world with too few users or topic items (RangeError).
 */
export async function realtimeProbe(data: RankerData, pf: PfSnapshots, score: BatchScorer, o: RealtimeProbeOptions = {}): Promise<RealtimeProbeResult> {
  const U = o.users ?? 100;
  const T = o.topicCandidates ?? 10;
  const burst = o.burst ?? 20;
  const span = o.burstSpanMs ?? 60_000;
  const weights = o.weights ?? RANKING_HEAD_WEIGHTS;
  const timeMs = o.timeMs ?? data.manifest.endMs;
  const rng = new SeededRandom(o.seed ?? 12345);
  const topics = data.world.items.primaryTopic;
  const byTopic = new Map<number, number[]>();
  topics.forEach((t, i) => {
    const list = byTopic.get(t);
    if (list) list.push(i);
    else byTopic.set(t, [i]);
  });
  const [topic, topicItems] = [...byTopic].sort((a, b) => b[1].length - a[1].length || a[0] - b[0])[0] as [number, number[]];
  if (topicItems.length < T + 5) throw new ProbeWorldTooSmall(`the largest topic (${topic}) has only ${topicItems.length} items; need ${T + 5}`);
  const users = data.manifest.counts.users;
  if (users < 2 * U) throw new ProbeWorldTooSmall(`the world has ${users} users; the probe needs ${2 * U}`);
  const others = [...byTopic].flatMap(([t, items]) => (t === topic ? [] : items));
  const topicCands = shuffled(topicItems, rng).slice(0, T);
  const candidates = [...topicCands, ...shuffled(others, rng).slice(0, o.otherCandidates ?? 30)];
  const burstItems = topicItems.filter((i) => !topicCands.includes(i));
  const picked = shuffled(
    Array.from({ length: users }, (_, k) => k),
    rng,
  ).slice(0, 2 * U);
  const D = data.dimension;

  const respond = async (group: number[], actionType: number): Promise<BurstResponse> => {
    const requests: RankRequest[] = group.map((user) => ({ user, timeMs, session: -1, items: candidates, outcomes: candidates.map(() => 1), part: 'eval' }));
    const serveTimelines = [...data.serveTimelines];
    for (const user of group)
      serveTimelines[user] = (data.serveTimelines[user] as NonNullable<RankerData['serveTimelines'][number]>).with(
        Array.from({ length: burst }, (_, k) => {
          const item = burstItems[k % burstItems.length] as number;
          return {
            actionId: `probe-${actionType}-${user}-${k}`,
            itemId: '',
            actionType,
            timestampMs: timeMs - span + Math.floor((k * span) / burst),
            surface: HOMEFEED,
            durationMs: 0,
            vector: data.content.subarray(item * D, (item + 1) * D),
          };
        }),
      );
    // A few users per batch: every candidate runs the encoder over its own fused sequence, so batches grow fast.
    const scoreAll = async (d: RankerData): Promise<Float32Array> => {
      const parts: Float32Array[] = [];
      for (let i = 0; i < requests.length; i += USERS_PER_BATCH)
        parts.push(await score(buildRankerBatch(d, pf, requests.slice(i, i + USERS_PER_BATCH), { serveLengthEncoder: true, dropPinnerformer: o.dropPinnerformer ?? false })));
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
      return out;
    };
    const before = await scoreAll(data);
    const after = await scoreAll({ ...data, serveTimelines });
    const H = HEADS.length;
    const n = candidates.length;
    const res: BurstResponse = { movedUp: 0, unchanged: 0, positionBefore: 0, positionAfter: 0, headDelta: { save: 0, click: 0, hide: 0 }, otherHeadDelta: { save: 0, click: 0, hide: 0 } };
    const meanTopicPosition = (probs: Float32Array, u: number): number => {
      const utility = candidates.map((_, j) => HEADS.reduce((s, h, c) => s + weights[h] * (probs[(u * n + j) * H + c] as number), 0));
      const order = candidates.map((_, j) => j).sort((a, b) => (utility[b] as number) - (utility[a] as number) || a - b);
      return order.reduce((s, j, pos) => (j < T ? s + pos : s), 0) / T;
    };
    group.forEach((_, u) => {
      const b = meanTopicPosition(before, u);
      const a = meanTopicPosition(after, u);
      if (a < b) res.movedUp++;
      if (a === b) res.unchanged++;
      res.positionBefore += b / group.length;
      res.positionAfter += a / group.length;
      for (let j = 0; j < n; j++)
        HEADS.forEach((h, c) => {
          const k = (u * n + j) * H + c;
          const delta = (after[k] as number) - (before[k] as number);
          if (j < T) res.headDelta[h] += delta / (group.length * T);
          else res.otherHeadDelta[h] += delta / (group.length * (n - T));
        });
    });
    res.movedUp /= group.length;
    res.unchanged /= group.length;
    return res;
  };
  return {
    topic,
    users: U,
    candidates: candidates.length,
    saves: await respond(picked.slice(0, U), SAVE),
    hides: await respond(picked.slice(U), HIDE),
  };
}
