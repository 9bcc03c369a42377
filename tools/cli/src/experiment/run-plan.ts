import { hashParts, Rng, userId, type World } from '@pinrank/sim';

const DAY_MS = 86_400_000;

/** The simulated period of a run: it starts where the world's log ends. */
export interface RunPeriod {
  startMs: number;
  endMs: number;
}

/** One Recommend call the loop will make: a page of a planned session. */
export interface PlannedRequest {
  userIndex: number;
  userId: string;
  /** Index of the session in the user's timeline. */
  session: number;
  /** Page within the session (0-based). */
  page: number;
  /** Simulated request time: session start + page · k · impression gap. */
  timeMs: number;
  /** Items to ask for: k, or what is left of the session on its last page. */
  size: number;
  /** Proto Surface number of the session. */
  surface: number;
}

/** The run period of a world: `days` days from its end. */
export function runPeriod(world: World, days: number): RunPeriod {
  if (!(days > 0)) throw new RangeError(`run days must be > 0, got ${days}`);
  const startMs = world.endMs;
  const endMs = startMs + Math.round(days * DAY_MS);
  if (endMs > world.planUntilMs) throw new RangeError(`the world plans sessions only ${Math.floor((world.planUntilMs - startMs) / DAY_MS)} days past its end; lower --run-days`);
  return { startMs, endMs };
}

function sessionsIn(world: World, index: number, period: RunPeriod): number[] {
  const sessions = world.timeline(index).sessions;
  const out: number[] = [];
  sessions.forEach((s, k) => {
    if (s.startMs >= period.startMs && s.startMs < period.endMs) out.push(k);
  });
  return out;
}

/**
 * `count` users drawn without replacement (seeded) among those with at least
 * one planned session starting in the period, returned in index order; fewer
 * when fewer are eligible.
 */
export function selectRunUsers(world: World, period: RunPeriod, count: number, seed: number): number[] {
  const eligible: number[] = [];
  for (let u = 0; u < world.users; u++) if (sessionsIn(world, u, period).length > 0) eligible.push(u);
  const rng = new Rng(hashParts(seed, 'experiment-run-users'));
  const n = Math.min(count, eligible.length);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(eligible.length - i);
    [eligible[i], eligible[j]] = [eligible[j] as number, eligible[i] as number];
  }
  return eligible.slice(0, n).sort((a, b) => a - b);
}

/**
 * A user's Recommend calls over the period, in time order: each session of L
 * impressions becomes ceil(L / k) pages, page p at `startMs + p·k·gap`;
 * at most `maxRequests` calls (0 = no cap).
 */
export function planUserRequests(world: World, index: number, period: RunPeriod, k: number, maxRequests: number): PlannedRequest[] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const sessions = world.timeline(index).sessions;
  const gapMs = world.options.impressionGapS * 1000;
  const out: PlannedRequest[] = [];
  for (const s of sessionsIn(world, index, period)) {
    const plan = sessions[s];
    if (!plan) continue;
    const pages = Math.ceil(plan.length / k);
    for (let p = 0; p < pages; p++) {
      out.push({
        userIndex: index,
        userId: userId(index),
        session: s,
        page: p,
        timeMs: plan.startMs + Math.round(p * k * gapMs),
        size: Math.min(k, plan.length - p * k),
        surface: plan.surface,
      });
    }
  }
  out.sort((a, b) => a.timeMs - b.timeMs || a.session - b.session || a.page - b.page);
  return maxRequests > 0 ? out.slice(0, maxRequests) : out;
}
