import { type ServiceError } from '@grpc/grpc-js';
import { FeatureServerClient, RankerClient, RecommendRequest, type RecommendResponse, type UserAction } from '@pinrank/proto';
import { PinrankError, withRetry, type ClientTlsOptions, type RetryPolicy } from '@pinrank/service-kit';
import { ACTION, parseItemId, Responder, userId, type LoadedWorld, type Reaction } from '@pinrank/sim';
import { authMetadata, openClient } from '../remote/call';
import { ingestStream } from '../remote/ingest-stream';
import { ingestUserHistory } from './history-feed';
import { Limiter } from './limiter';
import { planUserRequests, runPeriod, selectRunUsers, type PlannedRequest, type RunPeriod } from './run-plan';

const DAY_MS = 86_400_000;
/** Error messages kept for the report. */
const ERROR_SAMPLES = 10;
/** How a Recommend refused for load is asked again. */
const RECOMMEND_RETRY: RetryPolicy = { maxAttempts: 6, initialBackoffMs: 100, maxBackoffMs: 2_000, retryOn: ['RESOURCE_EXHAUSTED', 'UNAVAILABLE'] };

/** One layer assignment as a response reported it. */
export interface ObservedAssignment {
  layer: string;
  experiment: string;
  arm: string;
}

/** Counts of a run user, or summed over an arm's users. */
export interface OutcomeCounts {
  requests: number;
  errors: number;
  /** Answered requests that returned fewer items than asked for. */
  shortPages: number;
  /** Answered requests that took a degraded path (any `degraded` flag). */
  degraded: number;
  impressions: number;
  saves: number;
  /** Clicks and close-ups. */
  clicks: number;
  hides: number;
  /** Answered requests by what served them: `snapshot <version>` and `<model>@<version>` (shows that an arm's pins took effect). */
  servedBy: Record<string, number>;
}

/** What happened to one run user (the unit of randomisation and of the bootstrap). */
export interface UserOutcome extends OutcomeCounts {
  userId: string;
  /** Assignments from the user's first successful response (empty when none succeeded or the router reports none). */
  assignments: ObservedAssignment[];
  /** The first layer's experiment and arm as the response's own fields report them ('' when outside every experiment). */
  experiment: string;
  arm: string;
  holdout: boolean;
  /** Whether any response succeeded (the assignment is known). */
  answered: boolean;
  /** Impressions by primary topic of the item shown. */
  topicCounts: Record<number, number>;
}

/** The run's own parameters (also reported with its results). */
export interface LoopParameters {
  /** Users to sample among those with a session in the run period. */
  runUsers: number;
  /** Simulated days, from the world's end. */
  runDays: number;
  /** Items per Recommend. */
  k: number;
  /** Retrieved candidates per Recommend (0 = the server's default). */
  candidates: number;
  /** Recommend calls per user over the run at most (0 = no cap). */
  maxRequestsPerUser: number;
  /** Simulated ms per wall ms, or 'max' (as fast as the stack answers). */
  speedup: number | 'max';
  /** Users with a request in flight at most. */
  concurrency: number;
  /** Days of the run users' logged history ingested before the run (0 = none). */
  historyDays: number;
  /** Responder salt and user-sampling seed. */
  seed: number;
}

/** Options of {@link runClosedLoop}. */
export interface ClosedLoopOptions extends LoopParameters {
  routerAddress: string;
  featureServerAddress: string;
  world: LoadedWorld;
  /** Deadline of each call (default 30 s). */
  requestTimeoutMs?: number;
  /** Bearer token sent with Recommend, when the stack wants one. */
  token?: string;
  /** TLS of the Recommend calls (a client identity) and of the feedback ingest (a producer identity); default plaintext. */
  tls?: { router?: ClientTlsOptions; featureServer?: ClientTlsOptions };
  /** Prefix of the ids of the actions the loop ingests (default: derived from the seed and the wall clock, unique per run). */
  actionIdPrefix?: string;
  signal?: AbortSignal;
  onProgress?: (p: ClosedLoopProgress) => void;
  /** Receives one line per phase (history ingest, start of the loop). */
  log?: (line: string) => void;
}

/** Progress of a run, reported after every request. */
export interface ClosedLoopProgress {
  /** Latest simulated request time completed, epoch ms. */
  simulatedMs: number;
  period: RunPeriod;
  done: number;
  planned: number;
  errors: number;
}

/** What a run did. */
export interface ClosedLoopResult {
  period: RunPeriod;
  users: UserOutcome[];
  planned: number;
  requests: number;
  errors: number;
  /** Actions the loop ingested (every reaction, impressions included). */
  actionsIngested: number;
  /** Logged history actions ingested before the run. */
  historyIngested: number;
  actionIdPrefix: string;
  /** First error messages (at most ten). */
  errorSamples: string[];
  /** Recommend calls asked again after a RESOURCE_EXHAUSTED or UNAVAILABLE answer (not counted in `requests`). */
  retries: number;
  wallMs: number;
}

function emptyOutcome(id: string): UserOutcome {
  return { userId: id, assignments: [], experiment: '', arm: '', holdout: false, answered: false, requests: 0, errors: 0, shortPages: 0, degraded: 0, impressions: 0, saves: 0, clicks: 0, hides: 0, topicCounts: {}, servedBy: {} };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * A closed-loop online test on a running stack. Run users (sampled among
 * those with a planned session in the `runDays` after the world's end) first
 * get their logged history of the last `historyDays` ingested; then each
 * walks through its planned sessions in time order: every page is a Recommend
 * at the page's simulated time, the world's Responder reacts to the items
 * shown, and every reaction is ingested (and acknowledged) before the user's
 * next request, so each user's realtime sequence follows what their arm
 * showed. Requests of all users go in simulated-time order, at most
 * `concurrency` at once and one per user; a failed call counts as an error
 * of the user and the run goes on.
 */
export async function runClosedLoop(o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const started = Date.now();
  const { world } = o.world;
  const period = runPeriod(world, o.runDays);
  const users = selectRunUsers(world, period, o.runUsers, o.seed);
  if (users.length === 0) throw new Error(`no user of the world has a session in the ${o.runDays} simulated days after its end; raise --run-days`);
  const plan: PlannedRequest[] = users
    .flatMap((u) => planUserRequests(world, u, period, o.k, o.maxRequestsPerUser))
    .sort((a, b) => a.timeMs - b.timeMs || a.userIndex - b.userIndex);
  const outcomes = new Map(users.map((u) => [u, emptyOutcome(userId(u))]));
  const prefix = o.actionIdPrefix ?? `xl${o.seed}-${started.toString(36)}-`;
  const timeoutMs = o.requestTimeoutMs ?? 30_000;
  // The token goes with Recommend only: ingest is the producer's, identified by its certificate.
  const recommendMetadata = authMetadata(o.token);
  const ranker = openClient(RankerClient, o.routerAddress, o.tls?.router);
  const featureServer = openClient(FeatureServerClient, o.featureServerAddress, o.tls?.featureServer);
  const responder = new Responder(world, { salt: o.seed });
  const topics = world.items.primaryTopic;
  const errorSamples: string[] = [];
  let done = 0;
  let errors = 0;
  let retries = 0;
  let actionsIngested = 0;
  let simulatedMs = period.startMs;
  const noteError = (message: string): void => {
    errors++;
    if (errorSamples.length < ERROR_SAMPLES) errorSamples.push(message);
  };

  try {
    let historyIngested = 0;
    if (o.historyDays > 0) {
      const from = period.startMs - Math.round(o.historyDays * DAY_MS);
      const s = await ingestUserHistory({
        client: featureServer,
        address: o.featureServerAddress,
        actionsPath: o.world.actionsPath,
        userIds: new Set(users.map((u) => userId(u))),
        fromMs: from,
        untilMs: period.startMs,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      if (s.response.rejected > 0)
        throw new Error(`feature-server rejected ${s.response.rejected} history actions, e.g. ${s.response.rejections[0]?.reason ?? 'no reason given'}`);
      historyIngested = Number(s.response.accepted) + Number(s.response.duplicates);
      o.log?.(`history: ${historyIngested} logged actions of ${users.length} run users (last ${o.historyDays} days) in feature-server`);
    }
    o.log?.(`running ${plan.length} requests for ${users.length} users over ${o.runDays} simulated days`);

    // A well-behaved client: a page refused for load (RESOURCE_EXHAUSTED) or by a restarting router
    // (UNAVAILABLE) is asked again after a jittered backoff, within the request's deadline.
    const recommend = async (req: RecommendRequest): Promise<RecommendResponse> => {
      const deadline = new Date(Date.now() + timeoutMs);
      try {
        return await withRetry(
          (attempt) => {
            if (attempt > 1) retries++;
            return new Promise<RecommendResponse>((resolve, reject) =>
              ranker.recommend(req, recommendMetadata, { deadline }, (err: ServiceError | null, res) => (err ? reject(err) : resolve(res))),
            );
          },
          RECOMMEND_RETRY,
          { deadline, ...(o.signal ? { signal: o.signal } : {}) },
        );
      } catch (err) {
        const e = PinrankError.from(err);
        throw new Error(`router ${o.routerAddress}: ${e.code}: ${e.message}`, { cause: err });
      }
    };

    const step = async (r: PlannedRequest, sequenceNo: number): Promise<void> => {
      const user = outcomes.get(r.userIndex);
      if (!user || o.signal?.aborted) return;
      user.requests++;
      let res: RecommendResponse;
      try {
        res = await recommend(RecommendRequest.fromPartial({ userId: r.userId, k: r.size, requestTimeMs: r.timeMs, candidates: o.candidates }));
      } catch (err) {
        user.errors++;
        noteError(`Recommend ${r.userId} @${new Date(r.timeMs).toISOString()}: ${(err as Error).message}`);
        return;
      }
      if (res.items.length < r.size) user.shortPages++;
      if (res.degraded.length > 0) user.degraded++;
      const served = [`snapshot ${res.snapshotVersion || '-'}`, ...Object.entries(res.modelVersions).map(([m, v]) => `${m}@${v}`)];
      for (const key of served) user.servedBy[key] = (user.servedBy[key] ?? 0) + 1;
      if (!user.answered) {
        user.answered = true;
        user.assignments = res.assignments.map((a) => ({ layer: a.layer, experiment: a.experiment, arm: a.arm }));
        user.experiment = res.experiment;
        user.arm = res.arm;
        user.holdout = res.holdout;
      }
      const shown = res.items.map((i) => i.itemId);
      let reactions: Reaction[];
      try {
        reactions = responder.respond({ userId: r.userId, timeMs: r.timeMs, itemIds: shown, surface: r.surface });
      } catch (err) {
        // Items the world does not know (a catalog from another world): nothing can react to them.
        user.errors++;
        noteError(`Responder for ${r.userId}: ${(err as Error).message}; does the stack serve this --world?`);
        return;
      }
      const actions: Array<Partial<UserAction>> = reactions.map((x, position) => ({
        actionId: `${prefix}${r.userId}-${sequenceNo}-${position}`,
        userId: r.userId,
        itemId: x.itemId,
        actionType: x.actionType,
        timestampMs: x.timestampMs,
        surface: x.surface,
        durationMs: x.durationMs,
      }));
      for (const x of reactions) {
        user.impressions++;
        if (x.actionType === ACTION.SAVE) user.saves++;
        else if (x.actionType === ACTION.CLICK || x.actionType === ACTION.CLOSEUP) user.clicks++;
        else if (x.actionType === ACTION.HIDE) user.hides++;
        const topic = topics[parseItemId(x.itemId, topics.length)];
        if (topic !== undefined) user.topicCounts[topic] = (user.topicCounts[topic] ?? 0) + 1;
      }
      if (actions.length === 0) return;
      try {
        const s = await ingestStream(featureServer, o.featureServerAddress, actions, { batchSize: 1000, timeoutMs });
        if (s.response.rejected > 0) throw new Error(`rejected ${s.response.rejected} actions: ${s.response.rejections[0]?.reason ?? 'no reason given'}`);
        actionsIngested += Number(s.response.accepted);
      } catch (err) {
        user.errors++;
        noteError(`Ingest for ${r.userId}: ${(err as Error).message}`);
      }
    };

    const limiter = new Limiter(o.concurrency);
    const chains = new Map<number, Promise<void>>();
    const wallStart = Date.now();
    const counters = new Map<number, number>();
    for (const r of plan) {
      if (o.signal?.aborted) break;
      if (o.speedup !== 'max') {
        const due = wallStart + (r.timeMs - period.startMs) / o.speedup;
        if (due > Date.now()) await sleep(due - Date.now(), o.signal);
      }
      const n = counters.get(r.userIndex) ?? 0;
      counters.set(r.userIndex, n + 1);
      const previous = chains.get(r.userIndex) ?? Promise.resolve();
      chains.set(
        r.userIndex,
        previous.then(() =>
          limiter.run(async () => {
            await step(r, n);
            done++;
            simulatedMs = Math.max(simulatedMs, r.timeMs);
            o.onProgress?.({ simulatedMs, period, done, planned: plan.length, errors });
          }),
        ),
      );
    }
    await Promise.all(chains.values());
    if (o.signal?.aborted) throw new Error('the run was interrupted');
    const all = [...outcomes.values()];
    return {
      period,
      users: all,
      planned: plan.length,
      requests: all.reduce((s, u) => s + u.requests, 0),
      errors,
      actionsIngested,
      historyIngested,
      actionIdPrefix: prefix,
      errorSamples,
      retries,
      wallMs: Date.now() - started,
    };
  } finally {
    ranker.close();
    featureServer.close();
  }
}
