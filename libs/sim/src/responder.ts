import { drawOutcome, dwellMs, outcomeProbabilities } from './affinity';
import { AffinityOracle } from './oracle';
import { hashParts, Rng } from './prng';
import { type World } from './world';

/** Options of a `Responder`. */
export interface ResponderOptions {
  /** Mixed into every draw, so repeated experiments can differ. Default 0. */
  salt?: number;
  /** Seconds between the reactions to consecutive shown items (the user scrolling). Default: the world's `impressionGapS`. */
  scrollGapS?: number;
}

/** What was shown to whom, when, and where. */
export interface ShowRequest {
  /** The user (`u<n>`). */
  userId: string;
  /** When the list was shown, epoch ms. */
  timeMs: number;
  /** The shown items in display order (`i<n>`). */
  itemIds: readonly string[];
  /** Proto Surface number. Default 1 (homefeed). */
  surface?: number;
}

/** The user's reaction to one shown item (action type 1 = seen, nothing else). */
export interface Reaction {
  itemId: string;
  /** Proto ActionType number. */
  actionType: number;
  /** `timeMs` plus the scroll time to this position. */
  timestampMs: number;
  surface: number;
  durationMs: number;
  /** Probability the ground truth gave a save (for diagnostics). */
  saveProbability: number;
}

/**
 * Samples a user's reactions to a shown list from the ground truth, for
 * closed-loop online tests. Deterministic: the same request (and salt)
 * always gets the same reactions, independent of call order. The user's
 * state is read at `timeMs`; the ranking shown does not change it.
 */
export class Responder {
  private readonly oracle: AffinityOracle;
  private readonly salt: number;
  private readonly scrollGapMs: number;
  private readonly probs = new Float64Array(6);

  /** Thrown by: invalid options (RangeError). */
  constructor(readonly world: World, options: ResponderOptions = {}) {
    const salt = options.salt ?? 0;
    const gap = options.scrollGapS ?? world.options.impressionGapS;
    if (!Number.isSafeInteger(salt) || salt < 0) throw new RangeError(`salt must be a safe integer >= 0, got ${salt}`);
    if (!Number.isFinite(gap) || gap < 0) throw new RangeError(`scrollGapS must be >= 0, got ${gap}`);
    this.oracle = new AffinityOracle(world);
    this.salt = salt;
    this.scrollGapMs = gap * 1000;
  }

  /** One reaction per shown item, in display order. Thrown by: an unknown user or item id (RangeError). */
  respond(request: ShowRequest): Reaction[] {
    const u = this.oracle.userIndex(request.userId);
    if (!Number.isSafeInteger(request.timeMs)) throw new RangeError(`timeMs must be integer epoch ms, got ${request.timeMs}`);
    const surface = request.surface ?? 1;
    const params = this.world.options.affinity;
    return request.itemIds.map((id, position) => {
      const i = this.oracle.itemIndex(id);
      const probs = outcomeProbabilities(params, this.oracle.breakdownOf(u, request.timeMs, i), this.probs);
      const rng = new Rng(hashParts(this.world.options.seed, 'respond', this.salt, u, request.timeMs, i, position));
      const actionType = drawOutcome(probs, rng.next());
      return {
        itemId: id,
        actionType,
        timestampMs: request.timeMs + Math.round(position * this.scrollGapMs),
        surface,
        durationMs: dwellMs(actionType, rng.normal()),
        saveProbability: probs[3] as number,
      };
    });
  }
}
