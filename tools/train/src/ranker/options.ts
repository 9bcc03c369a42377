import { DEFAULT_LABEL_WEIGHTS, HEADS, OUTCOMES, type LabelWeights } from './loss';

/** How transact_encoder's output is compressed before the heads (ablations; only the default exports). */
export const COMPRESSIONS = ['pool+firstK', 'firstK', 'pool'] as const;
/** One of `COMPRESSIONS`. */
export type Compression = (typeof COMPRESSIONS)[number];

/** The model variant trained: the full ranker or one of the ablations. */
export interface RankerVariant {
  /** Use transact_encoder + ranking_heads; false trains ranking_heads_lite (no sequence). Default true. */
  sequence?: boolean;
  /** Feed PinnerFormer vectors; false zeroes them and sets the missing flag. Default true. */
  pinnerformer?: boolean;
  /** Output compression. Default `pool+firstK` (Linear(max-pool) + first K rows, the served form). */
  compression?: Compression;
  /** Apply the random time-window mask in training. Default true. */
  timeWindowMask?: boolean;
}

/** Options of `trainRanker`. */
export interface RankerTrainOptions {
  /** World directory written by `pinrank simulate`. Required. */
  worldDir: string;
  /** Folder of PinnerFormer snapshots (`<version>/users.vec` + `items.vec`, as `pinrank embed` writes). Required. */
  snapshotsDir: string;
  /** Run directory (checkpoint/, curve.csv, weights). Required. */
  runDir: string;
  variant?: RankerVariant;
  /** Optimiser steps. Default 300. */
  steps?: number;
  /** Requests (pages of one user, sharing one sequence) per batch. Default 24. */
  requestsPerBatch?: number;
  /** Impressions per request page. Default 6. */
  pageSize?: number;
  /** Sequence rows fed to the encoder in training (no positional encoding, so serving may use more). Default 32. */
  trainSeqLen?: number;
  /** Sequence rows at serving (dense features are computed at this length, as the router does). Default 100. */
  serveSeqLen?: number;
  /** Adam learning rate. Default 0.001. */
  learningRate?: number;
  /** Seed of initialisation, batch order and time windows. Default 1. */
  seed?: number;
  /** Days at the end of the world held out for evaluation. Default 7. */
  evalDays?: number;
  /** Share of users held out of training. Default 0.1. */
  heldOutUserFraction?: number;
  /** Probability that a batch gets a time-window mask. Default 0.5. */
  timeWindowProb?: number;
  /** Largest window T in seconds (T is uniform in (0, max]). Default 3600. */
  timeWindowMaxS?: number;
  /** Label-weight matrix rows by outcome (`OUTCOMES`), columns by head (`HEADS`). Default `DEFAULT_LABEL_WEIGHTS`. */
  labelWeights?: LabelWeights;
  /** transact_encoder hyperparameter overrides. Default `{ dropout: 0 }` (dropout masks are not seeded). */
  encoder?: Record<string, unknown>;
  /** ranking heads hyperparameter overrides. Default none. */
  heads?: Record<string, unknown>;
  /** Steps between checkpoints. Default 100. */
  checkpointEvery?: number;
  /** Continue from the run directory's checkpoint. Default false. */
  resume?: boolean;
  /** Called after every step. */
  onStep?: (step: number, steps: number, loss: number) => void;
}

/** Options with every default filled in. */
export type ResolvedRankerOptions = Required<Omit<RankerTrainOptions, 'onStep' | 'variant'>> & {
  variant: Required<RankerVariant>;
  onStep?: RankerTrainOptions['onStep'];
};

/** Fills the defaults and validates. Thrown by: a missing path or an out-of-range option (TypeError). */
export function resolveRankerOptions(o: RankerTrainOptions): ResolvedRankerOptions {
  for (const k of ['worldDir', 'snapshotsDir', 'runDir'] as const)
    if (typeof o[k] !== 'string' || o[k].length === 0) throw new TypeError(`${k} is required`);
  const r: ResolvedRankerOptions = {
    worldDir: o.worldDir,
    snapshotsDir: o.snapshotsDir,
    runDir: o.runDir,
    variant: {
      sequence: o.variant?.sequence ?? true,
      pinnerformer: o.variant?.pinnerformer ?? true,
      compression: o.variant?.compression ?? 'pool+firstK',
      timeWindowMask: o.variant?.timeWindowMask ?? true,
    },
    steps: o.steps ?? 300,
    requestsPerBatch: o.requestsPerBatch ?? 24,
    pageSize: o.pageSize ?? 6,
    trainSeqLen: o.trainSeqLen ?? 32,
    serveSeqLen: o.serveSeqLen ?? 100,
    learningRate: o.learningRate ?? 0.001,
    seed: o.seed ?? 1,
    evalDays: o.evalDays ?? 7,
    heldOutUserFraction: o.heldOutUserFraction ?? 0.1,
    timeWindowProb: o.timeWindowProb ?? 0.5,
    timeWindowMaxS: o.timeWindowMaxS ?? 3600,
    labelWeights: o.labelWeights ?? DEFAULT_LABEL_WEIGHTS,
    encoder: { dropout: 0, ...o.encoder },
    heads: { ...o.heads },
    checkpointEvery: o.checkpointEvery ?? 100,
    resume: o.resume ?? false,
    ...(o.onStep ? { onStep: o.onStep } : {}),
  };
  const positiveInts = ['steps', 'requestsPerBatch', 'pageSize', 'trainSeqLen', 'serveSeqLen', 'checkpointEvery'] as const;
  for (const k of positiveInts) if (!Number.isInteger(r[k]) || r[k] < 1) throw new TypeError(`${k} must be a positive integer, got ${r[k]}`);
  if (r.trainSeqLen > r.serveSeqLen) throw new TypeError(`trainSeqLen (${r.trainSeqLen}) must not exceed serveSeqLen (${r.serveSeqLen})`);
  if (!(r.learningRate > 0)) throw new TypeError(`learningRate must be > 0, got ${r.learningRate}`);
  if (!(r.timeWindowProb >= 0 && r.timeWindowProb <= 1)) throw new TypeError(`timeWindowProb must be in [0, 1]`);
  if (!(r.timeWindowMaxS > 0)) throw new TypeError(`timeWindowMaxS must be > 0`);
  if (!(COMPRESSIONS as readonly string[]).includes(r.variant.compression))
    throw new TypeError(`compression must be one of ${COMPRESSIONS.join(', ')}`);
  if (!r.variant.sequence && r.variant.compression !== 'pool+firstK') throw new TypeError('compression variants need the sequence model');
  if (r.labelWeights.length !== OUTCOMES.length || r.labelWeights.some((row) => row.length !== HEADS.length || row.some((w) => !(w >= 0))))
    throw new TypeError(`labelWeights must be ${OUTCOMES.length}×${HEADS.length} non-negative numbers`);
  return r;
}
