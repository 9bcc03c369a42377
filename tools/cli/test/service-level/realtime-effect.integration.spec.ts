// Realtime effect, end to end, on the real stack: a burst of saves on one topic
// must move that topic's items up in the next Rank; a burst of hides must not.
// `pinrank train ranker-probe` measures the same offline on exported models.
// PINRANK_REALTIME_EFFECT=0 skips it (see the CLI README's "Service-level suite").
import { readVectorFile } from '@pinrank/contracts';
import { ActionType, IngestActionsRequest, type IngestActionsResponse, RankRequest, Surface } from '@pinrank/proto';
import { Rng, userId } from '@pinrank/sim';
import { call } from './grpc-call';
import { startServiceStack, type ServiceStack } from './stack-fixture';

/** Users per group (saves, hides). */
const USERS = 100;
/** Items of the chosen topic among the candidates, and items of other topics. */
const TOPIC_CANDIDATES = 10;
const OTHER_CANDIDATES = 30;
/** Actions in one burst, spread over the last BURST_SPAN_MS. */
const BURST = 20;
const BURST_SPAN_MS = 60_000;
/** Saves must move the topic up for at least this share of users... */
const MIN_SAVE_SHARE = 0.9;
/** ...and hides may move it up for at most this share (i.e. not more often than chance). */
const MAX_HIDE_SHARE = 0.5;

const enabled = process.env['PINRANK_REALTIME_EFFECT'] !== '0';
/** Trained versions to serve over the shipped models (a repository holding e.g. `ranking_heads/4`). */
const overlay = process.env['PINRANK_REALTIME_MODELS'];
/** The world, as `seed,users,items,days`: use the world the overlay's models were trained on. */
const [seed, worldUsers, worldItems, worldDays] = (process.env['PINRANK_REALTIME_WORLD'] ?? `11,${2 * USERS + 20},800,10`).split(',').map(Number) as [number, number, number, number];
let stack: ServiceStack;

beforeAll(async () => {
  if (enabled) {
    if (!(worldUsers >= 2 * USERS)) throw new Error(`PINRANK_REALTIME_WORLD needs at least ${2 * USERS} users`);
    stack = await startServiceStack({ users: worldUsers, items: worldItems, days: worldDays, seed, ...(overlay ? { modelOverlay: overlay } : {}) });
  }
}, 900_000);

afterAll(async () => {
  await stack?.stop();
}, 120_000);

function ingest(actions: Array<Partial<IngestActionsRequest['actions'][number]>>): Promise<IngestActionsResponse> {
  const fs = stack.producer;
  return new Promise((resolve, reject) => {
    const stream = fs.ingestActions((err, res) => (err ? reject(err) : resolve(res)));
    stream.write(IngestActionsRequest.fromPartial({ actions }));
    stream.end();
  });
}

/** What the bursts did, over all users of a group (printed with the result). */
interface Tally {
  up: number;
  unchanged: number;
  before: number;
  after: number;
  degraded: Set<number>;
}

/** Mean position (0 = best) of `topic` items in a Rank answer. */
async function meanTopicPosition(user: string, candidates: string[], topic: Set<string>, requestTimeMs: number, tally: Tally): Promise<number> {
  const res = await call(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial({ userId: user, candidateItemIds: candidates, requestTimeMs }));
  for (const f of res.degraded) tally.degraded.add(f);
  const positions = res.items.flatMap((item, k) => (topic.has(item.itemId) ? [k] : []));
  if (positions.length !== TOPIC_CANDIDATES) throw new Error(`expected ${TOPIC_CANDIDATES} topic items in the answer, got ${positions.length}`);
  return positions.reduce((a, b) => a + b, 0) / positions.length;
}

/** Share of `users` whose topic items rank higher (lower mean position) after a burst of `type` on other items of the topic. */
async function shareMovedUp(users: string[], type: ActionType, topicItems: string[], candidates: string[], label: string): Promise<Tally> {
  const topicCandidates = new Set(candidates.slice(0, TOPIC_CANDIDATES));
  const burstItems = topicItems.filter((id) => !topicCandidates.has(id));
  const tally: Tally = { up: 0, unchanged: 0, before: 0, after: 0, degraded: new Set() };
  for (const user of users) {
    const now = Date.now();
    const before = await meanTopicPosition(user, candidates, topicCandidates, now, tally);
    const res = await ingest(
      Array.from({ length: BURST }, (_, k) => ({
        actionId: `${label}-${user}-${k}`,
        userId: user,
        itemId: burstItems[k % burstItems.length] as string,
        actionType: type,
        timestampMs: now - BURST_SPAN_MS + Math.floor((k * BURST_SPAN_MS) / BURST),
        surface: Surface.SURFACE_HOMEFEED,
      })),
    );
    if (res.accepted !== BURST) throw new Error(`burst for ${user}: ${JSON.stringify(res)}`);
    const after = await meanTopicPosition(user, candidates, topicCandidates, now + 1, tally);
    if (after < before) tally.up++;
    if (after === before) tally.unchanged++;
    tally.before += before / users.length;
    tally.after += after / users.length;
  }
  return tally;
}

const describeTally = (name: string, t: Tally, n: number): string =>
  `${name}: moved up for ${((100 * t.up) / n).toFixed(0)}% of users (unchanged ${t.unchanged}), mean topic position ${t.before.toFixed(2)} -> ${t.after.toFixed(2)}, degraded flags [${[...t.degraded].join(',')}]`;

(enabled ? it : it.skip)(
  `saves on one topic move its items up for >= ${MIN_SAVE_SHARE * 100}% of ${USERS} users; hides for <= ${MAX_HIDE_SHARE * 100}%`,
  async () => {
    const topicOf = new Map<string, number>();
    for await (const r of readVectorFile(stack.catalogFile)) topicOf.set(r.id, r.extra[0] as number);
    const byTopic = new Map<number, string[]>();
    for (const [id, t] of topicOf) byTopic.set(t, [...(byTopic.get(t) ?? []), id]);
    // The largest topic: its candidates plus enough other items for the bursts.
    const [topic, topicItems] = [...byTopic].sort((a, b) => b[1].length - a[1].length)[0] as [number, string[]];
    if (topicItems.length < TOPIC_CANDIDATES + 5) throw new Error(`largest topic ${topic} has only ${topicItems.length} items`);
    const rng = new Rng(12345);
    const others = [...topicOf.keys()].filter((id) => topicOf.get(id) !== topic);
    const pick = <T>(xs: T[], n: number): T[] => {
      const copy = [...xs];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
      }
      return copy.slice(0, n);
    };
    const candidates = [...pick(topicItems, TOPIC_CANDIDATES), ...pick(others, OTHER_CANDIDATES)];
    const users = pick(
      Array.from({ length: worldUsers }, (_, k) => userId(k)),
      2 * USERS,
    );
    const saves = await shareMovedUp(users.slice(0, USERS), ActionType.ACTION_TYPE_SAVE, topicItems, candidates, 'rt-save');
    const hides = await shareMovedUp(users.slice(USERS), ActionType.ACTION_TYPE_HIDE, topicItems, candidates, 'rt-hide');
    const served = await call(stack.ranker.rank.bind(stack.ranker), RankRequest.fromPartial({ userId: userId(0), candidateItemIds: candidates.slice(0, 2) }));
    process.stdout.write(`realtime effect with ${JSON.stringify(served.modelVersions)}, topic ${topic} (${topicItems.length} items):\n  ${describeTally('saves', saves, USERS)}\n  ${describeTally('hides', hides, USERS)}\n`);
    expect(saves.up / USERS).toBeGreaterThanOrEqual(MIN_SAVE_SHARE);
    expect(hides.up / USERS).toBeLessThanOrEqual(MAX_HIDE_SHARE);
  },
  600_000,
);
