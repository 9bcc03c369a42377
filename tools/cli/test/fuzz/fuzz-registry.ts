// Every public RPC the stack serves, where it runs, and how to fuzz it. The
// services come from the generated definitions in @pinrank/proto: a service
// or method missing here fails `registryProblems`, so a new RPC is fuzzed
// (generic cases from its proto schema) as soon as it is listed.
import * as proto from '@pinrank/proto';
import {
  EmbeddingStoreService,
  EmbeddingsLookup,
  EmbeddingsLookupResult,
  ExperimentsService,
  FeatureServerService,
  GRPCInferenceServiceService,
  GetEmbeddingsRequest,
  GetRealtimeSequenceRequest,
  GetRealtimeSequencesRequest,
  HealthService,
  IngestActionsRequest,
  ModelInferRequest,
  RankRequest,
  RankerService,
  RecommendRequest,
  RetrieveRequest,
  SequenceLookup,
  SequenceLookupResult,
} from '@pinrank/proto';
import { type Rng } from '@pinrank/sim';
import { type StackServiceName } from '../../src/stack/ephemeral-stack';
import { type CallShape } from './fuzz-client';

/** What seeds are built from: ids and names the running stack knows. */
export interface FuzzContext {
  users: readonly string[];
  items: readonly string[];
  nowMs: number;
}

/** Whether a call carries the admin token: admin methods are fuzzed past the check only where that cannot wreck the stack. */
export type AdminPolicy = 'never' | 'sometimes';

/** How one method is fuzzed besides the generic cases from its schema. */
export interface MethodPlan {
  admin?: AdminPolicy;
  /** Mostly valid requests (randomised), so cases reach deeper than the first check. */
  seed?: (rng: Rng, ctx: FuzzContext) => Buffer;
  /** For a stream answering each request with a status of its own (lookup streams): that status, read from one reply. */
  replyStatus?: (reply: Buffer) => { code: number; message: string } | undefined;
}

/** One service on some processes. */
export interface FuzzTarget {
  /** Full service name, e.g. `pinrank.v1.Ranker`. */
  service: string;
  /** Method paths and shapes; from the generated definition, or listed for services without one (reflection). */
  methods: Array<{ key: string; path: string; shape: CallShape }>;
  processes: readonly StackServiceName[];
  plans: Readonly<Record<string, MethodPlan>>;
}

type DefinitionLike = Record<string, { path: string; requestStream: boolean; responseStream: boolean; requestSerialize: unknown }>;

function isDefinition(value: unknown): value is DefinitionLike {
  if (typeof value !== 'object' || value === null) return false;
  const methods = Object.values(value);
  return methods.length > 0 && methods.every((m) => typeof m === 'object' && m !== null && typeof (m as { path?: unknown }).path === 'string' && 'requestSerialize' in m);
}

const shapeOf = (m: { requestStream: boolean; responseStream: boolean }): CallShape =>
  m.requestStream ? (m.responseStream ? 'bidi' : 'client_stream') : m.responseStream ? 'server_stream' : 'unary';

function methodsOf(definition: DefinitionLike): FuzzTarget['methods'] {
  return Object.entries(definition).map(([key, m]) => ({ key, path: m.path, shape: shapeOf(m) }));
}

function serviceName(definition: DefinitionLike): string {
  return Object.values(definition)[0]!.path.replace(/^\//, '').split('/')[0]!;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;
const ALL: readonly StackServiceName[] = ['embedding-store', 'feature-server', 'gpu-worker', 'cpu-worker', 'router'];

const D = 32;
const f32 = (n: number, rng: Rng): Buffer => Buffer.from(Float32Array.from({ length: n }, () => rng.normal()).buffer);
const i64 = (n: number, value: () => number): Buffer => Buffer.from(BigInt64Array.from({ length: n }, () => BigInt(value())).buffer);

/** A transact_encoder request with random sizes and values: mostly valid, sometimes one thing wrong. */
function encoderSeed(rng: Rng): Buffer {
  return Buffer.from(ModelInferRequest.encode(ModelInferRequest.fromPartial(encoderRequest(rng))).finish());
}

/** A transact_encoder request in its partial form, with the candidate rows it names. */
function encoderRequest(rng: Rng): Parameters<typeof ModelInferRequest.fromPartial>[0] & { rows: number } {
  const users = pick(rng, [1, 1, 1, 2, 0]);
  const s = pick(rng, [1, 5, 20, 100, 0, 1001]);
  const n = pick(rng, [1, 4, 16, 64, 0, 5000]);
  const typeMax = rng.chance(0.8) ? 8 : 20;
  const idxMax = rng.chance(0.9) ? users : users + 2;
  const seqS = rng.chance(0.9) ? s : s + 1;
  return {
    rows: n,
    modelName: 'transact_encoder',
    inputs: [
      { name: 'seq_action_types', datatype: 'INT64', shape: [users, s] },
      { name: 'seq_item_vectors', datatype: 'FP32', shape: [users, seqS, D] },
      { name: 'seq_ages_s', datatype: 'FP32', shape: [users, s] },
      { name: 'cand_vectors', datatype: 'FP32', shape: [n, D] },
      { name: 'cand_user_idx', datatype: 'INT64', shape: [n] },
    ],
    rawInputContents: [
      i64(users * s, () => rng.int(typeMax) - (rng.chance(0.02) ? 3 : 0)),
      f32(users * seqS * D, rng),
      f32(users * s, rng),
      f32(n * D, rng),
      i64(n, () => rng.int(Math.max(1, idxMax))),
    ],
  };
}

/**
 * Triton's per-request `timeout` (µs), a streamed message's `traceparent`, and
 * now and then our `cancel` (a cancellation on a stream, refused anywhere
 * else), often wrong: other types, negative, huge, garbage.
 */
function scheduleParams(
  rng: Rng,
): Record<string, { parameterChoice: { $case: 'int64Param'; value: number } | { $case: 'stringParam'; value: string } | { $case: 'doubleParam'; value: number } | { $case: 'boolParam'; value: boolean } }> {
  const timeout = pick(rng, [
    { $case: 'int64Param' as const, value: rng.int(2_000_000) },
    { $case: 'int64Param' as const, value: -rng.int(1000) - 1 },
    { $case: 'int64Param' as const, value: 2 ** 53 - 1 },
    { $case: 'doubleParam' as const, value: 0.5 },
    { $case: 'stringParam' as const, value: '100ms' },
  ]);
  const traceparent = pick(rng, ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'garbage', '\u0000\u00ff', 'x'.repeat(300), '']);
  return {
    ...(rng.chance(0.7) ? { timeout: { parameterChoice: timeout } } : {}),
    ...(rng.chance(0.5) ? { traceparent: { parameterChoice: { $case: 'stringParam' as const, value: traceparent } } } : {}),
    ...(rng.chance(0.1) ? { cancel: { parameterChoice: pick(rng, [{ $case: 'boolParam' as const, value: true }, { $case: 'boolParam' as const, value: false }, { $case: 'stringParam' as const, value: 'yes' }]) } } : {}),
  };
}

/** A chained transact_encoder → ranking_heads request (pinrank.then_model): the encoder's inputs and the heads' others, sometimes wrong. */
function chainedSeed(rng: Rng): Buffer {
  const { rows, ...req } = encoderRequest(rng);
  const n = rng.chance(0.85) ? rows : rows + 1;
  const extra: Array<[string, number]> = [
    ['user_pf', 64],
    ['item_pf', 64],
    ['dense_features', 4],
    ...(rng.chance(0.1) ? ([['encoded', 1056]] as Array<[string, number]>) : []),
    ...(rng.chance(0.05) ? ([['stray', 2]] as Array<[string, number]>) : []),
  ];
  const then = pick(rng, ['ranking_heads', 'ranking_heads', 'ranking_heads', 'ranking_heads_lite', 'transact_encoder', 'nope', '']);
  const parameters = {
    'pinrank.then_model': rng.chance(0.95) ? { parameterChoice: { $case: 'stringParam' as const, value: then } } : { parameterChoice: { $case: 'int64Param' as const, value: 3 } },
    ...(rng.chance(0.3) ? { 'pinrank.then_model_version': { parameterChoice: { $case: 'stringParam' as const, value: pick(rng, ['', '3', '99', 'bad version']) } } } : {}),
    ...(rng.chance(0.4) ? scheduleParams(rng) : {}),
  };
  return Buffer.from(
    ModelInferRequest.encode(
      ModelInferRequest.fromPartial({
        ...req,
        parameters,
        inputs: [...(req.inputs ?? []), ...extra.map(([name, d]) => ({ name, datatype: 'FP32', shape: [n, d] }))],
        rawInputContents: [...(req.rawInputContents ?? []), ...extra.map(([, d]) => f32(n * d, rng))],
      }),
    ).finish(),
  );
}

/** A ranking_heads or pinnerformer_item request: float inputs of random rows. */
function floatModelSeed(rng: Rng): Buffer {
  const n = pick(rng, [1, 8, 64, 0]);
  const heads = rng.chance(0.5);
  const inputs = heads
    ? [
        ['encoded', 1056],
        ['user_pf', 64],
        ['item_pf', 64],
        ['dense_features', 4],
      ]
    : [['item_vectors', 32]];
  return Buffer.from(
    ModelInferRequest.encode(
      ModelInferRequest.fromPartial({
        modelName: heads ? pick(rng, ['ranking_heads', 'ranking_heads_lite']) : 'pinnerformer_item',
        parameters: rng.chance(0.3) ? scheduleParams(rng) : {},
        inputs: inputs.map(([name, d]) => ({ name: name as string, datatype: 'FP32', shape: [n, d as number] })),
        rawInputContents: inputs.map(([, d]) => f32(n * (d as number), rng)),
      }),
    ).finish(),
  );
}

const INFERENCE_PLANS: Record<string, MethodPlan> = {
  serverLive: {},
  serverReady: {},
  modelReady: {},
  serverMetadata: {},
  modelMetadata: {},
  modelInfer: { seed: (rng) => (rng.chance(0.5) ? encoderSeed(rng) : rng.chance(0.4) ? chainedSeed(rng) : floatModelSeed(rng)) },
  // A bidirectional stream of the same requests (chained ones as the router sends them): each message is answered (or refused) on its own.
  modelStreamInfer: { seed: (rng) => (rng.chance(0.4) ? encoderSeed(rng) : rng.chance(0.5) ? chainedSeed(rng) : floatModelSeed(rng)) },
  modelConfig: {},
  modelStatistics: {},
  repositoryIndex: {},
  // Loading re-reads the repository; unloading with the token would take the stack's models away.
  repositoryModelLoad: { admin: 'sometimes' },
  repositoryModelUnload: { admin: 'never' },
};

/** A GetRealtimeSequence request: mostly known users, lengths and times in and out of range. */
function sequenceRequest(rng: Rng, ctx: FuzzContext): GetRealtimeSequenceRequest {
  return GetRealtimeSequenceRequest.fromPartial({ userId: pick(rng, ctx.users), maxLen: rng.int(1100) - 5, asOfMs: rng.chance(0.5) ? 0 : ctx.nowMs - rng.int(1e9), includeRecords: rng.chance(0.3) });
}

/** A GetEmbeddings request: known items, sometimes duplicated, any kind. */
function embeddingsRequest(rng: Rng, ctx: FuzzContext): GetEmbeddingsRequest {
  const ids = Array.from({ length: rng.int(80) }, () => pick(rng, ctx.items));
  return GetEmbeddingsRequest.fromPartial({ userId: rng.chance(0.7) ? pick(rng, ctx.users) : '', itemIds: rng.chance(0.8) ? [...new Set(ids)] : ids, kind: rng.int(4) });
}

/** The envelope of a lookup-stream message: ids that repeat, deadlines from none to tiny, trace contexts good and bad. */
function lookupEnvelope(rng: Rng): { requestId: number; timeoutMs: number; traceparent: string } {
  return {
    requestId: pick(rng, [1, 1, 2, 0, 0xffff_ffff, rng.nextU32()]),
    timeoutMs: pick(rng, [0, 1, 50, 2_000, 0xffff_ffff]),
    traceparent: pick(rng, ['', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'garbage', 'x'.repeat(5_000)]),
  };
}

/** Every service the stack serves publicly, by process. */
export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  {
    service: serviceName(FeatureServerService),
    methods: methodsOf(FeatureServerService),
    processes: ['feature-server'],
    plans: {
      ingestActions: {
        seed: (rng, ctx) =>
          Buffer.from(
            IngestActionsRequest.encode(
              IngestActionsRequest.fromPartial({
                actions: Array.from({ length: 1 + rng.int(5) }, () => ({
                  actionId: `fuzz-${rng.nextU32()}`,
                  userId: pick(rng, ctx.users),
                  itemId: pick(rng, ctx.items),
                  actionType: rng.int(7),
                  timestampMs: ctx.nowMs - rng.int(3_600_000) + (rng.chance(0.1) ? 10_000_000 : 0),
                  surface: rng.int(6),
                  durationMs: rng.int(100_000),
                })),
              }),
            ).finish(),
          ),
      },
      getRealtimeSequence: { seed: (rng, ctx) => Buffer.from(GetRealtimeSequenceRequest.encode(sequenceRequest(rng, ctx)).finish()) },
      streamRealtimeSequences: {
        seed: (rng, ctx) => Buffer.from(SequenceLookup.encode(SequenceLookup.fromPartial({ ...lookupEnvelope(rng), request: rng.chance(0.9) ? sequenceRequest(rng, ctx) : undefined })).finish()),
        replyStatus: (reply) => SequenceLookupResult.decode(reply).status,
      },
      getRealtimeSequences: {
        seed: (rng, ctx) =>
          Buffer.from(
            GetRealtimeSequencesRequest.encode(
              GetRealtimeSequencesRequest.fromPartial({
                userIds: Array.from({ length: pick(rng, [1, 3, 50, 1000]) }, () => pick(rng, ctx.users)),
                maxLen: pick(rng, [0, 10, 100, 1000]),
                asOfMs: 0,
              }),
            ).finish(),
          ),
      },
      deleteUser: { admin: 'sometimes' },
    },
  },
  {
    service: serviceName(EmbeddingStoreService),
    methods: methodsOf(EmbeddingStoreService),
    processes: ['embedding-store'],
    plans: {
      getEmbeddings: { seed: (rng, ctx) => Buffer.from(GetEmbeddingsRequest.encode(embeddingsRequest(rng, ctx)).finish()) },
      streamEmbeddings: {
        seed: (rng, ctx) => Buffer.from(EmbeddingsLookup.encode(EmbeddingsLookup.fromPartial({ ...lookupEnvelope(rng), request: rng.chance(0.9) ? embeddingsRequest(rng, ctx) : undefined })).finish()),
        replyStatus: (reply) => EmbeddingsLookupResult.decode(reply).status,
      },
      retrieve: {
        seed: (rng, ctx) =>
          Buffer.from(
            RetrieveRequest.encode(
              RetrieveRequest.fromPartial({
                query: rng.chance(0.6) ? { $case: 'userId', value: pick(rng, ctx.users) } : { $case: 'vector', value: { values: Array.from({ length: pick(rng, [64, 64, 3, 0]) }, () => rng.normal()) } },
                k: pick(rng, [1, 10, 100, 1000, 0, -1, 1001]),
                excludeItemIds: Array.from({ length: rng.int(20) }, () => pick(rng, ctx.items)),
              }),
            ).finish(),
          ),
      },
      listSnapshots: {},
      // Loads and activation only ever fail here (the fuzzer names no real snapshot files); deletes remove fuzzed users.
      loadSnapshot: { admin: 'sometimes' },
      activateSnapshot: { admin: 'sometimes' },
      loadCatalog: { admin: 'sometimes' },
      deleteUser: { admin: 'sometimes' },
    },
  },
  {
    service: serviceName(RankerService),
    methods: methodsOf(RankerService),
    processes: ['router'],
    plans: {
      rank: {
        seed: (rng, ctx) => {
          const weights: Record<string, number> = {};
          if (rng.chance(0.4)) for (const h of ['save', 'click', 'hide', 'like']) if (rng.chance(0.5)) weights[h] = rng.normal();
          const candidates = [...new Set(Array.from({ length: 1 + rng.int(40) }, () => (rng.chance(0.9) ? pick(rng, ctx.items) : `unknown-${rng.int(100)}`)))];
          return Buffer.from(
            RankRequest.encode(RankRequest.fromPartial({ userId: pick(rng, ctx.users), candidateItemIds: candidates, topK: rng.int(candidates.length + 2), headWeights: weights })).finish(),
          );
        },
      },
      recommend: {
        seed: (rng, ctx) =>
          Buffer.from(RecommendRequest.encode(RecommendRequest.fromPartial({ userId: pick(rng, ctx.users), k: pick(rng, [1, 10, 50, 0, 1001]), candidates: pick(rng, [0, 20, 100]) })).finish()),
      },
    },
  },
  {
    service: serviceName(ExperimentsService),
    methods: methodsOf(ExperimentsService),
    processes: ['router'],
    plans: { listExperiments: {}, getAssignment: {}, reloadExperiments: { admin: 'sometimes' } },
  },
  {
    service: serviceName(GRPCInferenceServiceService),
    methods: methodsOf(GRPCInferenceServiceService),
    processes: ['gpu-worker', 'cpu-worker'],
    plans: INFERENCE_PLANS,
  },
  { service: serviceName(HealthService), methods: methodsOf(HealthService), processes: ALL, plans: { check: {}, watch: {} } },
  {
    // Served by @grpc/reflection (no generated definition): raw and mutated list_services requests.
    service: 'grpc.reflection',
    methods: [
      { key: 'v1', path: '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', shape: 'bidi' },
      { key: 'v1alpha', path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', shape: 'bidi' },
    ],
    processes: ALL,
    plans: { v1: { seed: () => Buffer.from([0x3a, 0x00]) }, v1alpha: { seed: () => Buffer.from([0x3a, 0x00]) } },
  },
];

/**
 * Services of @pinrank/proto without a target, and methods without a plan.
 * Empty when every RPC is fuzzed; the fuzz suite fails otherwise.
 */
export function registryProblems(): string[] {
  const problems: string[] = [];
  for (const [exported, value] of Object.entries(proto)) {
    if (!isDefinition(value)) continue;
    const name = serviceName(value);
    const target = FUZZ_TARGETS.find((t) => t.service === name);
    if (!target) {
      problems.push(`${exported} (${name}) has no fuzz target: add it to FUZZ_TARGETS with the processes that serve it`);
      continue;
    }
    for (const key of Object.keys(value)) if (!target.plans[key]) problems.push(`${name}/${key} has no plan in the fuzz registry`);
  }
  for (const t of FUZZ_TARGETS) for (const m of t.methods) if (!t.plans[m.key]) problems.push(`${t.service}/${m.key} has no plan in the fuzz registry`);
  return problems;
}
