import { type ExperimentScorer, type ExperimentsConfig } from '@pinrank/contracts';
import { type ModelSet } from '../model-set';
import { pickByShare, userPosition } from './user-hash';

/** One arm as the router serves it: its place and what it changes. */
export interface PlannedArm {
  layer: string;
  experiment: string;
  name: string;
  /** Share of the experiment's users. */
  fraction: number;
  /** Share of all users (holdout and layer traffic applied). */
  trafficShare: number;
  /** `layer/experiment/arm`: the key of its counters. */
  key: string;
  description: string | undefined;
  /** Model name → version this arm pins (as configured). */
  modelVersions: Record<string, string>;
  /** The router's models with this arm's pins applied; undefined when it pins none. */
  models: ModelSet | undefined;
  scorer: ExperimentScorer | undefined;
  headWeights: Record<string, number> | undefined;
  snapshotVersion: string | undefined;
}

/** An experiment of a layer with its arms. */
export interface PlannedExperiment {
  layer: string;
  name: string;
  traffic: number;
  salt: string;
  description: string | undefined;
  arms: PlannedArm[];
}

/** A layer: its experiments never share a user. */
export interface PlannedLayer {
  name: string;
  salt: string;
  experiments: PlannedExperiment[];
}

/** What the router does for one user's request. */
export interface Treatment {
  holdout: boolean;
  /** The user's arm in each layer that has one, in layer order. */
  arms: PlannedArm[];
  models: ModelSet;
  scorer: ExperimentScorer;
  /** Weights used when the request names none. */
  headWeights: Record<string, number>;
  /** Snapshot to pin; undefined = the active one. */
  snapshotVersion: string | undefined;
}

/** The experiment fields of a Rank or Recommend response for a user with this treatment. */
export function experimentFields(t: Treatment): { experiment: string; arm: string; assignments: Array<{ layer: string; experiment: string; arm: string }>; holdout: boolean } {
  return {
    experiment: t.arms[0]?.experiment ?? '',
    arm: t.arms[0]?.name ?? '',
    assignments: t.arms.map((a) => ({ layer: a.layer, experiment: a.experiment, arm: a.name })),
    holdout: t.holdout,
  };
}

/** The router's defaults, which every arm starts from. */
export interface PlanDefaults {
  models: ModelSet;
  headWeights: Record<string, number>;
}

/**
 * A validated experiment configuration ready to serve: deterministic
 * assignment (holdout first, then one position per layer, then one per
 * experiment, each hashed with its own salt) and the treatment of a user.
 * Immutable; a reload builds a new plan and swaps it in.
 */
export class ExperimentPlan {
  constructor(
    readonly layers: readonly PlannedLayer[],
    readonly holdout: { fraction: number; salt: string },
    private readonly defaults: PlanDefaults,
    /** Where the configuration came from (file path, "RANKER_EXPERIMENTS" or ""). */
    readonly source: string,
    /** The configuration's `version` label. */
    readonly version: string,
    readonly loadedAtMs: number,
    /** The configuration as parsed (undefined when none is configured). */
    readonly config: ExperimentsConfig | undefined,
  ) {}

  /** The plan of a router without experiments. */
  static none(defaults: PlanDefaults): ExperimentPlan {
    return new ExperimentPlan([], { fraction: 0, salt: 'holdout' }, defaults, '', '', Date.now(), undefined);
  }

  private readonly trafficShares = new Map<PlannedLayer, number[]>();
  private readonly armShares = new Map<PlannedExperiment, number[]>();

  /** Every arm, in configuration order. */
  get arms(): PlannedArm[] {
    return this.layers.flatMap((l) => l.experiments.flatMap((e) => e.arms));
  }

  /** Whether `userId` is held out of every experiment. */
  isHeldOut(userId: string): boolean {
    return this.holdout.fraction > 0 && userPosition(this.holdout.salt, userId) < this.holdout.fraction;
  }

  /** The user's arm in each layer (none for held-out users). */
  assign(userId: string): { holdout: boolean; arms: PlannedArm[] } {
    if (this.layers.length === 0) return { holdout: false, arms: [] };
    if (this.isHeldOut(userId)) return { holdout: true, arms: [] };
    const arms: PlannedArm[] = [];
    for (const layer of this.layers) {
      const e = layer.experiments[pickByShare(userPosition(layer.salt, userId), this.sharesOf(this.trafficShares, layer, layer.experiments, (x) => x.traffic))];
      if (!e) continue;
      const arm = e.arms[pickByShare(userPosition(e.salt, userId), this.sharesOf(this.armShares, e, e.arms, (a) => a.fraction))];
      if (arm) arms.push(arm);
    }
    return { holdout: false, arms };
  }

  private sharesOf<K, T>(cache: Map<K, number[]>, key: K, items: readonly T[], share: (t: T) => number): number[] {
    let shares = cache.get(key);
    if (!shares) {
      shares = items.map(share);
      cache.set(key, shares);
    }
    return shares;
  }

  /** What the user's requests are served with: the defaults with each of the user's arms applied (layers own disjoint parameters). */
  treatmentOf(userId: string): Treatment {
    const { holdout, arms } = this.assign(userId);
    const t: Treatment = { holdout, arms, models: this.defaults.models, scorer: 'full', headWeights: this.defaults.headWeights, snapshotVersion: undefined };
    for (const arm of arms) {
      if (arm.models) t.models = arm.models;
      if (arm.scorer) t.scorer = arm.scorer;
      if (arm.headWeights) t.headWeights = arm.headWeights;
      if (arm.snapshotVersion) t.snapshotVersion = arm.snapshotVersion;
    }
    return t;
  }
}
