import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TensorMap } from '@pinrank/inference';
import { GetEmbeddingsRequest, GetRealtimeSequenceRequest, RetrieveRequest, VectorKind, type GetEmbeddingsResponse, type RetrieveResponse } from '@pinrank/proto';
import { RequestDeadline } from '../deadline';
import { FallbackPolicy } from '../fallback-policy';
import { PoolUnavailableError, type Inference, type ModelCall, type ModelCallResult } from '../infer-client';
import { loadModelSet, type ModelSet, type PoolName } from '../model-set';
import { Popularity } from '../popularity';
import { type RankDeps } from '../rank-request';
import { RequestContext } from '../request-context';
import { withRouterDefaults, type RouterOptions } from '../router-options';
import { emptySequence, sequenceFromProto } from '../sequence';
import { StageClock, type Clock } from '../stage-clock';
import { upstreamError, type SequenceQuery, type SequenceResult, type UpstreamCallOptions, type Upstreams } from '../upstreams';
import { fakeGetEmbeddings, fakeRetrieve, fakeSequence, fakeStoreData, itemIds, type FakeFeatureServerData, type FakeStoreData } from './fake-upstreams';
import { computeReference, writeTestModelConfigs } from './fake-worker';
import { ITEM_COUNT, PF_VERSION, SEQUENCES, STORE_USERS, indexOf, popularityOf } from './router-harness';

// The pipeline's dependencies in this process, for unit specs of its stages:
// the same fake feature-server and embedding-store answers and the same fake
// models as the gRPC fakes (fake-upstreams.ts, fake-worker.ts), without the
// network, with a log of when each call started and ended and gates that hold a call.

/** The calls the in-process upstreams log. */
export type UpstreamCallName = 'sequence' | 'content' | 'tower' | 'retrieve';

/** Upstreams answering with the fake data in this process. */
export class InProcessUpstreams implements Upstreams {
  /** "<call>:start" and "<call>:end" in the order they happened. */
  readonly events: string[] = [];
  readonly embeddingRequests: GetEmbeddingsRequest[] = [];
  /** A feature-server failure to report instead of a sequence; default none. */
  sequenceFailure: string | undefined;
  private readonly gates = new Map<UpstreamCallName, Promise<void>>();

  constructor(
    readonly features: FakeFeatureServerData,
    readonly store: FakeStoreData,
  ) {}

  /** Holds the next calls of `name` (after they start) until the returned function is called. */
  hold(name: UpstreamCallName): () => void {
    let release = (): void => undefined;
    this.gates.set(name, new Promise<void>((r) => (release = r)));
    return () => {
      this.gates.delete(name);
      release();
    };
  }

  private async logged<T>(name: UpstreamCallName, fn: () => Promise<T>): Promise<T> {
    this.events.push(`${name}:start`);
    try {
      await this.gates.get(name);
      return await fn();
    } finally {
      this.events.push(`${name}:end`);
    }
  }

  sequence(q: SequenceQuery): Promise<SequenceResult> {
    return this.logged('sequence', async () => {
      if (this.sequenceFailure) return { sequence: emptySequence(q.length, q.width), failure: this.sequenceFailure };
      const res = fakeSequence(this.features, GetRealtimeSequenceRequest.fromPartial({ userId: q.userId, maxLen: q.length, asOfMs: q.asOfMs, includeRecords: q.includeRecords }));
      return { sequence: sequenceFromProto(res, q.width), failure: undefined };
    });
  }

  getEmbeddings(req: Partial<GetEmbeddingsRequest>, _o: UpstreamCallOptions): Promise<GetEmbeddingsResponse> {
    const full = GetEmbeddingsRequest.fromPartial(req);
    this.embeddingRequests.push(full);
    return this.logged(full.kind === VectorKind.VECTOR_KIND_CONTENT ? 'content' : 'tower', () =>
      fakeGetEmbeddings(this.store, full).catch((err: unknown) => {
        throw upstreamError('embedding-store GetEmbeddings', err);
      }),
    );
  }

  retrieve(req: Partial<RetrieveRequest>, _o: UpstreamCallOptions): Promise<RetrieveResponse> {
    return this.logged('retrieve', async () => {
      try {
        return fakeRetrieve(this.store, RetrieveRequest.fromPartial(req));
      } catch (err) {
        throw upstreamError('embedding-store Retrieve', err);
      }
    });
  }

  async snapshotVersions(): Promise<Set<string>> {
    return new Set([this.store.snapshotVersion]);
  }

  close(): void {}
}

/** One model call the in-process inference served. */
export interface InProcessCall {
  model: string;
  /** The model chained after `model` in the same call. */
  then?: string;
  pool: PoolName;
  lastResort: boolean;
  shapes: Record<string, number[]>;
}

/** The fake models (computeReference) in this process; a pool in `down` has no usable worker. */
export class InProcessInference implements Inference {
  readonly calls: InProcessCall[] = [];
  readonly down = new Set<PoolName>();

  async run(call: ModelCall): Promise<ModelCallResult> {
    this.calls.push({
      model: call.model.name,
      ...(call.then ? { then: call.then.name } : {}),
      pool: call.pool,
      lastResort: call.lastResort,
      shapes: Object.fromEntries(call.inputs.map(([n, t]) => [n, [...t.dims]])),
    });
    if (this.down.has(call.pool)) throw new PoolUnavailableError(call.pool, `${call.pool} pool: no healthy worker for ${call.model.name}`);
    const inputs = Object.fromEntries(call.inputs) as TensorMap;
    let out = computeReference(call.model.name, inputs);
    if (call.then) out = computeReference(call.then.name, { ...inputs, [out.name]: out.tensor });
    const [rows, cols] = out.tensor.dims;
    if (out.name !== call.output.name || rows !== call.output.rows || cols !== call.output.cols) throw new Error(`unexpected output ${out.name} [${rows},${cols}]`);
    return { data: out.tensor.data as Float32Array, modelVersion: call.model.version, ...(call.then ? { thenVersion: call.then.version } : {}) };
  }
}

/** The pipeline over in-process fakes, with the router test data (router-harness.ts). */
export interface PipelineFixture {
  deps: RankDeps;
  models: ModelSet;
  upstreams: InProcessUpstreams;
  inference: InProcessInference;
  /** A request context with a 1 s budget on `clock` (default performance.now). */
  context(clock?: Clock): RequestContext;
  close(): Promise<void>;
}

/** Builds the pipeline over the test models and data; `options` override the router's (e.g. gpuFallback, chunkSize). */
export async function pipelineFixture(options: Partial<RouterOptions> = {}): Promise<PipelineFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ranker-pipeline-'));
  const repo = join(dir, 'models');
  await writeTestModelConfigs(repo, PF_VERSION);
  const o = withRouterDefaults({ featureServer: 'in-process', embeddingStore: 'in-process', gpuWorkers: ['gpu'], cpuWorkers: ['cpu'], modelRepository: repo, sequenceLength: 12, chunkSize: 8, ...options });
  const models = await loadModelSet(o);
  const items = itemIds(ITEM_COUNT);
  const upstreams = new InProcessUpstreams({ sequences: SEQUENCES, itemIndex: indexOf }, fakeStoreData({ items, users: STORE_USERS, snapshotVersion: 'snap-7', producerModelVersion: PF_VERSION, index: indexOf }));
  const inference = new InProcessInference();
  const fallback = new FallbackPolicy({ mode: o.gpuFallback, liteModelName: o.models.lite, hasHealthyWorker: (pool) => !inference.down.has(pool) });
  const popularity = Popularity.fromEntries(items.map((id) => [id, popularityOf(id)]), 100);
  return {
    deps: { options: o, upstreams, inference, fallback, popularity },
    models,
    upstreams,
    inference,
    context: (clock) => new RequestContext({ deadline: RequestDeadline.fromCall(undefined, 1000, 5), requestId: 'test-request', ...(clock ? { clock: new StageClock(clock) } : {}) }),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
