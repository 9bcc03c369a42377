import { type ActionTable } from './action-table';
import {
  affinityOf,
  contextAt,
  createContext,
  drawOutcome,
  dwellMs,
  outcomeProbabilities,
  type AffinityBreakdown,
} from './affinity';
import { sampleItemByPopularity, sampleItemInTopic } from './items';
import { Rng } from './prng';
import { type World } from './world';

const MAX_REPEAT_RETRIES = 4;

/**
 * Simulates every session of one user inside the world's period and appends
 * one row per impression to `table` (the row's action type is the outcome:
 * 1 when the impression got no engagement). Stream 'actions'.
 *
 * What is shown mixes three sources, as a simple retrieval layer would:
 * the session's intent topics (`feedIntentShare`), the long-term topics
 * (`feedProfileShare`) and popular items (the rest); items repeat at most
 * once per session. Each outcome is drawn from the ground-truth probabilities
 * at the impression's time, so the oracle and the log agree exactly.
 */
export function simulateUser(world: World, index: number, table: ActionTable): void {
  const { options, items } = world;
  const timeline = world.buildTimeline(index);
  const rng = Rng.stream(options.seed, 'actions', index);
  const ctx = createContext(timeline);
  const breakdown: AffinityBreakdown = { longTerm: 0, session: 0, popularityZ: 0, dislike: 0, score: 0 };
  const probs = new Float64Array(6);
  const seen = new Set<number>();
  const intentShare = options.feedIntentShare;
  const profileShare = intentShare + options.feedProfileShare;
  let offsets = new Float64Array(64);

  for (const session of timeline.sessions) {
    if (session.startMs >= world.endMs) break;
    const n = session.length;
    if (offsets.length < n) offsets = new Float64Array(n * 2);
    // Impression times: exponential spacings rescaled to the planned duration.
    let acc = 0;
    offsets[0] = 0;
    for (let j = 1; j < n; j++) offsets[j] = acc += rng.exponential(1);
    const scale = n > 1 ? (session.endMs - session.startMs) / acc : 0;
    seen.clear();
    for (let j = 0; j < n; j++) {
      const ts = j === n - 1 ? session.endMs : session.startMs + Math.round((offsets[j] as number) * scale);
      if (ts >= world.endMs) break;
      contextAt(options, timeline, ts, ctx);
      let item = -1;
      for (let attempt = 0; attempt <= MAX_REPEAT_RETRIES; attempt++) {
        const r = rng.next();
        const u = rng.next();
        if (r < intentShare) {
          const second = ctx.intentTopics[1] as number;
          const topic = second >= 0 && rng.next() * (1 + (ctx.intentWeights[1] as number)) >= 1 ? second : (ctx.intentTopics[0] as number);
          item = sampleItemInTopic(items, topic, u);
        } else if (r < profileShare) {
          const topic = timeline.profile.topics[rng.categorical(ctx.profileWeights)] as number;
          item = sampleItemInTopic(items, topic, u);
        } else {
          item = sampleItemByPopularity(items, u);
        }
        if (!seen.has(item)) break;
      }
      seen.add(item);
      affinityOf(items, options.affinity, ctx, item, breakdown);
      outcomeProbabilities(options.affinity, breakdown, probs);
      const outcome = drawOutcome(probs, rng.next());
      table.push(ts, index, item, outcome, session.surface, dwellMs(outcome, rng.normal()));
    }
  }
}
