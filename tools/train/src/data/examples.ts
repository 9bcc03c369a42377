import { type BuiltSequence } from '@pinrank/features';
import { type SeededRandom } from '@pinrank/models';
import { sequenceAt } from './sequences';
import { type PositiveAction, type TrainingWorld, upperBound } from './world-data';

/** Training objectives; all share one model, one loss and one loop and differ only in which (position, target) pairs they emit. */
export const OBJECTIVES = ['dense-all-action', 'all-action', 'sasrec', 'next-action'] as const;
/** One of `OBJECTIVES`. */
export type Objective = (typeof OBJECTIVES)[number];

/** How examples are drawn. */
export interface ExampleOptions {
  objective: Objective;
  /** M: positive actions per sequence. */
  maxLen: number;
  /** Sequences (users) per batch. */
  batchSize: number;
  /** Targets per sequence for dense all-action (sampled positions) and all-action (sampled window actions). */
  targetsPerSequence: number;
  /** K: the future window a position predicts, in days. */
  windowDays: number;
  /** Whose sequences: training users (default) or held-out users (the held-out loss; their actions before the cutoff only). */
  users?: 'train' | 'held-out';
}

/** One prediction: the output at `position` of sequence `row` must rank `itemIndex` first. */
export interface Target {
  row: number;
  position: number;
  itemIndex: number;
}

/** One batch: the sequences, their users, the targets, and each row's own positives (masked as negatives). */
export interface ExampleBatch {
  sequences: BuiltSequence[];
  users: number[];
  targets: Target[];
  ownPositives: ReadonlySet<number>[];
}

const DAY_MS = 86_400_000;

/** Training-time data view: users that can be trained on and their positives before the cutoff. */
export class ExampleSource {
  private readonly trainable: number[] = [];
  private readonly trainCount: number[] = [];
  private readonly ownCache = new Map<number, ReadonlySet<number>>();

  constructor(
    readonly world: TrainingWorld,
    readonly options: ExampleOptions,
  ) {
    const cutoff = world.splits.cutoffMs;
    const heldOut = options.users === 'held-out';
    world.positives.forEach((acts, u) => {
      if (world.splits.isHeldOutUser(u) !== heldOut) return;
      const n = upperBound(acts, cutoff - 1);
      this.trainCount[u] = n;
      if (n >= 2) this.trainable.push(u);
    });
    if (this.trainable.length === 0) throw new RangeError(`no ${heldOut ? 'held-out' : 'training'} user has two positive actions before the cutoff`);
  }

  /** Users (of the chosen population) with at least two positive actions before the cutoff. */
  get trainableUsers(): readonly number[] {
    return this.trainable;
  }

  /** Items the user engaged with before the cutoff. */
  ownPositives(user: number): ReadonlySet<number> {
    let s = this.ownCache.get(user);
    if (!s) {
      const acts = this.world.positives[user] ?? [];
      s = new Set(acts.slice(0, this.trainCount[user] ?? 0).map((a) => a.itemIndex));
      this.ownCache.set(user, s);
    }
    return s;
  }

  /** Draws one batch; the same random state always gives the same batch. */
  sample(rng: SeededRandom): ExampleBatch {
    const batch: ExampleBatch = { sequences: [], users: [], targets: [], ownPositives: [] };
    let tries = 0;
    while (batch.sequences.length < this.options.batchSize) {
      if (++tries > this.options.batchSize * 50) throw new RangeError(`could not fill a batch of ${this.options.batchSize} with targets`);
      const user = this.trainable[rng.int(this.trainable.length)] as number;
      const n = this.trainCount[user] as number;
      const anchor = (this.world.positives[user] as PositiveAction[])[rng.int(n - 1)] as PositiveAction;
      const seq = sequenceAt(this.world, user, anchor.timestampMs, this.options.maxLen);
      const row = batch.sequences.length;
      const targets = this.targetsFor(user, seq, row, rng);
      if (targets.length === 0) continue;
      batch.sequences.push(seq);
      batch.users.push(user);
      batch.targets.push(...targets);
      batch.ownPositives.push(this.ownPositives(user));
    }
    return batch;
  }

  private targetsFor(user: number, seq: BuiltSequence, row: number, rng: SeededRandom): Target[] {
    const acts = this.world.positives[user] as PositiveAction[];
    const limit = this.trainCount[user] as number; // targets stay before the cutoff
    const windowMs = this.options.windowDays * DAY_MS;
    const window = (ts: number): [number, number] => [Math.min(upperBound(acts, ts), limit), Math.min(upperBound(acts, ts + windowMs), limit)];
    const next = (ts: number): number | undefined => {
      const i = upperBound(acts, ts);
      return i < limit ? (acts[i] as PositiveAction).itemIndex : undefined;
    };
    const pick = ([from, to]: [number, number]): number => (acts[from + rng.int(to - from)] as PositiveAction).itemIndex;
    const P = this.options.targetsPerSequence;
    const out: Target[] = [];
    const ts0 = seq.rows[0]?.timestampMs ?? 0;
    switch (this.options.objective) {
      case 'next-action': {
        const item = next(ts0);
        if (item !== undefined) out.push({ row, position: 0, itemIndex: item });
        break;
      }
      case 'sasrec':
        seq.rows.forEach((r, position) => {
          const item = next(r.timestampMs);
          if (item !== undefined) out.push({ row, position, itemIndex: item });
        });
        break;
      case 'all-action': {
        const w = window(ts0);
        if (w[1] > w[0]) for (let k = 0; k < P; k++) out.push({ row, position: 0, itemIndex: pick(w) });
        break;
      }
      case 'dense-all-action': {
        const candidates = seq.rows.map((r, position) => ({ position, w: window(r.timestampMs) })).filter((c) => c.w[1] > c.w[0]);
        // Partial Fisher-Yates: P distinct positions, uniformly.
        for (let k = 0; k < Math.min(P, candidates.length); k++) {
          const j = k + rng.int(candidates.length - k);
          const c = candidates[j] as (typeof candidates)[number];
          candidates[j] = candidates[k] as (typeof candidates)[number];
          candidates[k] = c;
          out.push({ row, position: c.position, itemIndex: pick(c.w) });
        }
        break;
      }
    }
    return out;
  }
}
