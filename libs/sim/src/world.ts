import { generateItems, type ItemWorld } from './items';
import { resolveWorldOptions, type WorldOptions, type WorldOptionsInput } from './options';
import { buildTimeline, topicCumShare, type UserTimeline } from './users';

const DAY_MS = 86_400_000;
/** Sessions are planned this far past the world's end, so the ground truth still answers shortly after it. */
export const PLAN_AHEAD_DAYS = 30;
const TIMELINE_CACHE = 50_000;

/**
 * A synthetic world: options, items and (lazily) each user's timeline. Every
 * part is a pure function of the options, so a world rebuilt from a log's
 * header or a world manifest answers exactly like the one that wrote it.
 */
export class World {
  /** The resolved options. */
  readonly options: WorldOptions;
  /** The item side: topics, content vectors, popularity. */
  readonly items: ItemWorld;
  /** End of the simulated period, epoch ms (exclusive). */
  readonly endMs: number;
  private readonly cumShare: Float64Array;
  private readonly cache = new Map<number, UserTimeline>();

  private constructor(options: WorldOptions) {
    this.options = options;
    this.items = generateItems(options);
    this.cumShare = topicCumShare(this.items);
    this.endMs = options.startMs + Math.round(options.days * DAY_MS);
  }

  /** Builds a world. Thrown by: invalid options (TypeError/RangeError, see `resolveWorldOptions`). */
  static create(input: WorldOptionsInput = {}): World {
    return new World(resolveWorldOptions(input));
  }

  /** Number of users. */
  get users(): number {
    return this.options.users;
  }

  /** Sessions are planned until this time (the world's end plus `PLAN_AHEAD_DAYS`). */
  get planUntilMs(): number {
    return this.endMs + PLAN_AHEAD_DAYS * DAY_MS;
  }

  /** User `index`'s profile and sessions (cached; a fresh computation gives the same answer). */
  timeline(index: number): UserTimeline {
    if (!Number.isInteger(index) || index < 0 || index >= this.options.users)
      throw new RangeError(`user index must be in 0..${this.options.users - 1}, got ${index}`);
    const hit = this.cache.get(index);
    if (hit) return hit;
    const t = this.buildTimeline(index);
    if (this.cache.size >= TIMELINE_CACHE) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(index, t);
    return t;
  }

  /** User `index`'s timeline, computed without touching the cache (bulk generation). */
  buildTimeline(index: number): UserTimeline {
    return buildTimeline(this.options, this.items, this.cumShare, index, this.planUntilMs);
  }
}
