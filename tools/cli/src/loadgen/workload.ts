import { Rng } from '@pinrank/sim';

/** One request of the load: a user and (for Rank) candidate item ids. */
export interface LoadRequest {
  /** The user. */
  userId: string;
  /** Distinct candidate item ids (empty when the workload draws none). */
  itemIds: string[];
}

/** What a workload draws from; weights are relative (any positive scale), absent = uniform. */
export interface WorkloadSpec {
  /** User ids to draw from (at least one). */
  users: readonly string[];
  /** Relative weight of each user (same length as `users`). */
  userWeights?: ArrayLike<number>;
  /** Item ids to draw candidates from. */
  items: readonly string[];
  /** Relative weight of each item (e.g. popularity). */
  itemWeights?: ArrayLike<number>;
  /** Distinct candidates per request (0..items.length). */
  candidates: number;
  /** Seed of the draws: the same spec and seed give the same request sequence, and the same users whatever `candidates` is. */
  seed: number;
}

/** Draws indices in [0, n) by weight (uniformly without weights) with a cumulative table and binary search. */
class IndexSampler {
  private readonly cum: Float64Array | undefined;

  constructor(
    private readonly n: number,
    weights: ArrayLike<number> | undefined,
    what: string,
  ) {
    if (weights === undefined) return;
    if (weights.length !== n) throw new RangeError(`${what} weights: expected ${n}, got ${weights.length}`);
    this.cum = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i] as number;
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`${what} weights: entry ${i} is ${w}; weights must be finite and >= 0`);
      total += w;
      this.cum[i] = total;
    }
    if (!(total > 0)) throw new RangeError(`${what} weights: all zero`);
  }

  sample(rng: Rng): number {
    if (!this.cum) return rng.int(this.n);
    const target = rng.next() * (this.cum[this.n - 1] as number);
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cum[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/**
 * A deterministic stream of requests: users drawn by `userWeights`, and
 * `candidates` distinct items per request drawn by `itemWeights` without
 * replacement. Thrown by: no users, more candidates than items, bad weights (RangeError).
 */
export class Workload {
  private readonly userRng: Rng;
  private readonly itemRng: Rng;
  private readonly userSampler: IndexSampler;
  private readonly itemSampler: IndexSampler;

  constructor(private readonly spec: WorkloadSpec) {
    if (spec.users.length === 0) throw new RangeError('the workload needs at least one user');
    if (!Number.isInteger(spec.candidates) || spec.candidates < 0 || spec.candidates > spec.items.length)
      throw new RangeError(`candidates must be an integer in 0..${spec.items.length} (the items available), got ${spec.candidates}`);
    // Separate streams: the user sequence of a seed is the same whatever the candidate count (Rank and Recommend runs see the same users).
    this.userRng = Rng.stream(spec.seed, 'loadgen-users');
    this.itemRng = Rng.stream(spec.seed, 'loadgen-items');
    this.userSampler = new IndexSampler(spec.users.length, spec.userWeights, 'user');
    this.itemSampler = new IndexSampler(spec.items.length, spec.itemWeights, 'item');
  }

  /** The next request. */
  next(): LoadRequest {
    const userId = this.spec.users[this.userSampler.sample(this.userRng)] as string;
    return { userId, itemIds: this.drawItems().map((i) => this.spec.items[i] as string) };
  }

  private drawItems(): number[] {
    const k = this.spec.candidates;
    const n = this.spec.items.length;
    const chosen = new Set<number>();
    // Rejection keeps the weighting; the attempt cap bounds the cost when k is close to n
    // or a few heavy items dominate, and the rest is filled uniformly from what is left.
    for (let attempts = 0; chosen.size < k && attempts < 4 * k + 64; attempts++) chosen.add(this.itemSampler.sample(this.itemRng));
    for (let i = this.itemRng.int(n), left = n; chosen.size < k && left > 0; i = (i + 1) % n, left--) chosen.add(i);
    return [...chosen];
  }
}

/** Zipf weights over `n` ranks, (rank + 1)^-exponent, assigned to indices by a seeded permutation so the hottest users are not simply the first ids. */
export function zipfWeights(n: number, exponent: number, seed: number): Float64Array {
  if (!(exponent >= 0) || !Number.isFinite(exponent)) throw new RangeError(`zipf exponent must be a finite number >= 0, got ${exponent}`);
  const perm = Array.from({ length: n }, (_, i) => i);
  const rng = Rng.stream(seed, 'loadgen-user-ranks');
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j] as number, perm[i] as number];
  }
  const w = new Float64Array(n);
  for (let r = 0; r < n; r++) w[perm[r] as number] = Math.pow(r + 1, -exponent);
  return w;
}
