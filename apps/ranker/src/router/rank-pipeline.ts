import { DegradedFlag, VectorKind, type GetEmbeddingsResponse, type ModelInferResponse, type RankedItem, type StageTiming } from '@pinrank/proto';
import { PinrankError, type CallContext } from '@pinrank/service-kit';
import { type RequestDeadline } from './deadline';
import { inferOnPool, PoolUnavailableError } from './infer-client';
import { type ModelSet, type RoutedModel } from './model-set';
import { type Popularity } from './popularity';
import { type ResolvedRouterOptions } from './router-options';
import { denseFeatures, DENSE_FEATURES, rankByUtility, StageClock, type ScoredCandidate } from './scoring';
import { D_CONTENT, sequenceInputs } from './sequence';
import { floatTensor, readFloatOutput, TensorShapeError, type RouterTensor } from './tensors';
import { type SequenceResult, type Upstreams } from './upstreams';
import { type ExperimentScorer } from '@pinrank/contracts';
import { type WorkerPool } from './worker-pool';

/** What the pipeline ranks: validated ids and resolved weights. */
export interface RankInput {
  userId: string;
  candidates: readonly string[];
  /** Epoch ms; the sequence is taken as of this time. */
  requestTimeMs: number;
  topK: number;
  weights: Record<string, number>;
  /** A sequence already being fetched (Recommend fetches it to find exclusions). */
  sequence?: Promise<SequenceResult>;
  /** Snapshot version to pin (Recommend pins the one retrieval used; an experiment arm may pin one). */
  snapshotVersion?: string;
  /** The models to call (an experiment arm's pins); default the router's. */
  models?: ModelSet;
  /** "lite" scores with ranking_heads_lite alone (an experiment arm); default "full". */
  scorer?: ExperimentScorer;
}

/** Per-request context of the pipeline. */
export interface RankCall {
  deadline: RequestDeadline;
  requestId: string;
  /** The incoming call (cancellation, trace parent). */
  parent?: CallContext;
  /** Receives one line per degraded path, for the service log. */
  onDegraded?: (flag: DegradedFlag, reason: string) => void;
}

/** The ranking and everything the response and the request log report about it. */
export interface RankOutcome {
  items: RankedItem[];
  modelVersions: Record<string, string>;
  snapshotVersion: string;
  timings: StageTiming[];
  degraded: DegradedFlag[];
  unknownItemIds: string[];
}

/** What the pipeline runs against. */
export interface RankDeps {
  options: ResolvedRouterOptions;
  models: ModelSet;
  upstreams: Upstreams;
  pools: Record<'gpu' | 'cpu', WorkerPool>;
  popularity: Popularity;
}

const D_PF = 64;

/** Per-request state shared by the chunks of one Rank. */
interface RequestState {
  input: RankInput;
  call: RankCall;
  clock: StageClock;
  flags: Set<DegradedFlag>;
  versions: Record<string, string>;
  models: ModelSet;
  width: number;
  useLite: boolean;
  sequence: Promise<SequenceResult>;
  tower: Promise<TowerLookup>;
}

/** Tower vectors by item id and the user vector, from the pinned snapshot. */
interface TowerLookup {
  rowOf: Map<string, number>;
  vectors: Float32Array;
  user: Float32Array;
  userMissing: boolean;
  /** The snapshot version the tower lookup (user and item vectors) was answered from. */
  version: string;
}

/**
 * One Rank: sequence and embeddings in parallel (one pinned snapshot), the
 * encoder and heads per chunk on the pools their configs place them in, the
 * configured fallbacks, and the utility ranking.
 */
export class RankPipeline {
  constructor(private readonly deps: RankDeps) {}

  /** Ranks `input.candidates`; see the class comment. Thrown as PinrankError for every failure that has no degraded path. */
  async rank(input: RankInput, call: RankCall): Promise<RankOutcome> {
    const { options: o, upstreams } = this.deps;
    const models = input.models ?? this.deps.models;
    const clock = new StageClock();
    const flags = new Set<DegradedFlag>();
    const flag = (f: DegradedFlag, reason: string): void => {
      if (!flags.has(f)) call.onDegraded?.(f, reason);
      flags.add(f);
    };
    const sequence = (
      input.sequence ?? upstreams.sequence(input.userId, input.requestTimeMs, o.sequenceLength, false, o.sequenceTimeoutMs, call)
    ).then((r) => {
      const end = performance.now();
      clock.record('features', end - r.ms, end);
      if (r.failure) flag(DegradedFlag.DEGRADED_FLAG_SEQUENCE_UNAVAILABLE, r.failure);
      return r;
    });

    const embStart = performance.now();
    const content = await upstreams.getEmbeddings(
      { userId: '', itemIds: [...input.candidates], kind: VectorKind.VECTOR_KIND_CONTENT, snapshotVersion: input.snapshotVersion ?? '' },
      o.embeddingsTimeoutMs,
      call,
    );
    clock.record('embeddings', embStart, performance.now());
    const snapshotVersion = content.snapshotVersion || input.snapshotVersion || '';
    this.checkProducer(models, content, flag);
    const unknown = [...content.unknownItemIds];
    if (unknown.length > 0 && o.unknownCandidates === 'refuse') {
      throw new PinrankError('INVALID_ARGUMENT', `candidate_item_ids: ${unknown.length} unknown item(s): ${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ', ...' : ''}`);
    }
    const known = content.itemIds;
    const contentVectors = checked(() => floatTensor(content.itemVectors, 'content item_vectors'), 'embedding-store').data;
    if (contentVectors.length !== known.length * D_CONTENT) throw badUpstream(`content vectors hold ${contentVectors.length} values for ${known.length} items of ${D_CONTENT}`);

    if (known.length === 0) {
      flag(DegradedFlag.DEGRADED_FLAG_UNKNOWN_CANDIDATES_DROPPED, `all ${unknown.length} candidate(s) are unknown`);
      return { items: [], modelVersions: {}, snapshotVersion, timings: clock.timings(), degraded: [...flags].sort((a, b) => a - b), unknownItemIds: unknown };
    }
    const tower = this.lookupTower(models, input.userId, known, snapshotVersion, clock, call, flag);
    // The chunks await it; a failure must not surface as an unhandled rejection before they do.
    tower.catch(() => undefined);
    const chosenLite = input.scorer === 'lite';
    const useLite = chosenLite || (this.encoderPoolGone(models) && o.gpuFallback === 'lite');
    if (useLite && !chosenLite) flag(DegradedFlag.DEGRADED_FLAG_LITE_MODEL, `${models.encoder.placement} pool has no healthy worker`);
    if (chosenLite && !models.lite) throw new PinrankError('FAILED_PRECONDITION', `the lite scorer needs ${o.models.lite}, which is not in the model repository`);
    const state: RequestState = { input, call, clock, flags, versions: {}, models, width: models.encodedWidth, useLite, sequence, tower };

    const chunks: Promise<ScoredCandidate[]>[] = [];
    for (let start = 0; start < known.length; start += o.chunkSize) {
      const end = Math.min(known.length, start + o.chunkSize);
      chunks.push(this.runChunk(state, known.slice(start, end), contentVectors.subarray(start * D_CONTENT, end * D_CONTENT), flag));
    }
    const settled = await Promise.allSettled(chunks);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      // A pool with no usable worker for a call that has no fallback (the heads): the service is unavailable, not broken.
      if (failed.reason instanceof PoolUnavailableError) throw new PinrankError('UNAVAILABLE', failed.reason.message, { cause: failed.reason });
      throw failed.reason;
    }
    const scored = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
    const scoredIds = new Set(scored.map((c) => c.itemId));
    const towerUnknown = known.filter((id) => !scoredIds.has(id));
    unknown.push(...towerUnknown);
    if (unknown.length > 0) flag(DegradedFlag.DEGRADED_FLAG_UNKNOWN_CANDIDATES_DROPPED, `${unknown.length} candidate(s) without vectors dropped`);

    const headNames = models.heads.headNames;
    return {
      items: rankByUtility(scored, headNames, input.weights, input.topK),
      modelVersions: state.versions,
      // Content vectors belong to no snapshot: unpinned, the tower lookup names the version used.
      snapshotVersion: snapshotVersion || (await tower).version,
      timings: clock.timings(),
      degraded: [...flags].sort((a, b) => a - b),
      unknownItemIds: unknown,
    };
  }

  private checkProducer(models: ModelSet, res: GetEmbeddingsResponse, flag: (f: DegradedFlag, reason: string) => void): void {
    const want = models.pinnerformerVersion;
    const got = res.producerModelVersion;
    if (!want || !got || want === got) return;
    const msg = `snapshot ${res.snapshotVersion} was produced by PinnerFormer ${got}; the ranker models name ${want}`;
    if (this.deps.options.snapshotMismatch === 'refuse') throw new PinrankError('FAILED_PRECONDITION', msg);
    flag(DegradedFlag.DEGRADED_FLAG_SNAPSHOT_VERSION_MISMATCH, msg);
  }

  private async lookupTower(
    models: ModelSet,
    userId: string,
    itemIds: string[],
    snapshotVersion: string,
    clock: StageClock,
    call: RankCall,
    flag: (f: DegradedFlag, reason: string) => void,
  ): Promise<TowerLookup> {
    const start = performance.now();
    const res = await this.deps.upstreams.getEmbeddings(
      { userId, itemIds, kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion },
      this.deps.options.embeddingsTimeoutMs,
      call,
    );
    clock.record('embeddings', start, performance.now());
    if (snapshotVersion && res.snapshotVersion !== snapshotVersion) {
      throw badUpstream(`embedding-store answered snapshot ${res.snapshotVersion} for pinned version ${snapshotVersion}`);
    }
    this.checkProducer(models, res, flag);
    const vectors = res.itemIds.length > 0 ? checked(() => floatTensor(res.itemVectors, 'tower item_vectors'), 'embedding-store').data : new Float32Array(0);
    if (vectors.length !== res.itemIds.length * D_PF) throw badUpstream(`tower vectors hold ${vectors.length} values for ${res.itemIds.length} items of ${D_PF}`);
    const rowOf = new Map(res.itemIds.map((id, i) => [id, i]));
    const userMissing = !res.userFound || res.userVector.length === 0;
    if (!userMissing && res.userVector.length !== D_PF) throw badUpstream(`user vector has ${res.userVector.length} values, expected ${D_PF}`);
    if (userMissing) flag(DegradedFlag.DEGRADED_FLAG_USER_VECTOR_MISSING, `user ${userId} has no vector in snapshot ${res.snapshotVersion}`);
    return { rowOf, vectors, user: userMissing ? new Float32Array(D_PF) : Float32Array.from(res.userVector), userMissing, version: res.snapshotVersion };
  }

  private encoderPoolGone(models: ModelSet): boolean {
    const pool = this.deps.pools[models.encoder.placement];
    return pool.pick() === undefined;
  }

  private async runChunk(
    s: RequestState,
    ids: string[],
    cand: Float32Array,
    flag: (f: DegradedFlag, reason: string) => void,
  ): Promise<ScoredCandidate[]> {
    const { options: o } = this.deps;
    const { models, width } = s;
    const { sequence } = await s.sequence;
    let encoded: Float32Array | undefined;
    if (!s.useLite) {
      const inputs: Array<[string, RouterTensor]> = [
        ...sequenceInputs(sequence, ids.length, o.sequenceMode),
        ['cand_vectors', { dtype: 'float32', dims: [ids.length, D_CONTENT], data: cand }],
      ];
      try {
        const fallback = (o.gpuFallback === 'cpu_encoder' && models.encoder.placement !== 'cpu') || (o.gpuFallback === 'lite' && models.lite !== undefined);
        encoded = await this.infer(s, models.encoder, models.encoder.placement, inputs, 'encoder', 'encoded', ids.length, width, !fallback);
      } catch (err) {
        if (!(err instanceof PoolUnavailableError)) throw err;
        if (o.gpuFallback === 'cpu_encoder' && models.encoder.placement !== 'cpu') {
          flag(DegradedFlag.DEGRADED_FLAG_ENCODER_ON_CPU, err.message);
          encoded = await this.infer(s, models.encoder, 'cpu', inputs, 'encoder', 'encoded', ids.length, width, true);
        } else if (o.gpuFallback === 'lite' && models.lite) {
          flag(DegradedFlag.DEGRADED_FLAG_LITE_MODEL, err.message);
        } else {
          throw new PinrankError('UNAVAILABLE', `${err.message}; no fallback configured`, { cause: err });
        }
      }
    }
    const tower = await s.tower;
    const keep = ids.map((id, i) => [id, i, tower.rowOf.get(id)] as const).filter((t): t is readonly [string, number, number] => t[2] !== undefined);
    if (keep.length === 0) return [];
    const n = keep.length;
    const itemPf = new Float32Array(n * D_PF);
    const userPf = new Float32Array(n * D_PF);
    keep.forEach(([, , row], k) => {
      itemPf.set(tower.vectors.subarray(row * D_PF, (row + 1) * D_PF), k * D_PF);
      userPf.set(tower.user, k * D_PF);
    });
    const dense = denseFeatures(keep.map(([id]) => id), this.deps.popularity, sequence, tower.userMissing);
    const pfInputs: Array<[string, RouterTensor]> = [
      ['user_pf', { dtype: 'float32', dims: [n, D_PF], data: userPf }],
      ['item_pf', { dtype: 'float32', dims: [n, D_PF], data: itemPf }],
      ['dense_features', { dtype: 'float32', dims: [n, DENSE_FEATURES], data: dense }],
    ];
    let probs: Float32Array;
    let heads: string[];
    if (encoded) {
      const enc = n === ids.length ? encoded : gatherRows(encoded, keep.map(([, i]) => i), width);
      heads = models.heads.headNames;
      probs = await this.infer(s, models.heads, models.heads.placement, [['encoded', { dtype: 'float32', dims: [n, width], data: enc }], ...pfInputs], 'heads', 'probs', n, heads.length);
    } else {
      const lite = models.lite;
      if (!lite) throw new PinrankError('UNAVAILABLE', 'the lite model is not in the model repository');
      heads = lite.headNames;
      probs = await this.infer(s, lite, lite.placement, pfInputs, 'heads', 'probs', n, heads.length);
    }
    const H = heads.length;
    return keep.map(([id], k) => ({ itemId: id, probs: probs.subarray(k * H, (k + 1) * H) }));
  }

  private async infer(
    s: RequestState,
    model: RoutedModel,
    poolName: 'gpu' | 'cpu',
    inputs: Array<[string, RouterTensor]>,
    stage: string,
    output: string,
    rows: number,
    cols: number,
    lastResort = true,
  ): Promise<Float32Array> {
    const start = performance.now();
    let res: ModelInferResponse;
    try {
      res = await inferOnPool(this.deps.pools[poolName], model, inputs, {
        deadline: s.call.deadline,
        maxAttempts: this.deps.options.maxInferAttempts,
        requestId: s.call.requestId,
        lastResort,
        ...(s.call.parent ? { parent: s.call.parent } : {}),
      });
    } finally {
      s.clock.record(stage, start, performance.now());
    }
    s.versions[model.name] = res.modelVersion || model.version;
    return checked(() => readFloatOutput(res, output, rows, cols), `${model.name} worker`);
  }
}

function gatherRows(m: Float32Array, rows: readonly number[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, k) => out.set(m.subarray(r * width, (r + 1) * width), k * width));
  return out;
}

function badUpstream(message: string): PinrankError {
  return new PinrankError('INTERNAL', message);
}

function checked<T>(fn: () => T, who: string): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TensorShapeError) throw new PinrankError('INTERNAL', `${who} sent a malformed tensor: ${err.message}`, { cause: err });
    throw err;
  }
}
