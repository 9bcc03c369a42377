import { decodeInferOutput, encodeInferInputs, FIRST_VERSION_PARAM, THEN_MODEL_PARAM, THEN_VERSION_PARAM, type EncodedInputs } from '@pinrank/inference';
import { ModelInferRequest, type ModelInferResponse } from '@pinrank/proto';
import { callUnary, callViaStream, PinrankError } from '@pinrank/service-kit';
import { ATTEMPT_RULES, attemptTimeoutMs, classifyAttemptFailure, mayRetrySameWorker, mayUseSkippedWorker, type AttemptFailure } from './fallback-policy';
import { type NamedTensors } from './model-inputs';
import { type PoolName, type RoutedModel } from './model-set';
import { OverloadError } from './overload-error';
import { type RequestContext } from './request-context';
import { fromPeer } from './upstreams';
import { type WorkerPool } from './worker-pool';

/** Thrown when no worker of a pool could run a call: none healthy, or every one tried was unavailable or failed the call. */
export class PoolUnavailableError extends Error {
  override readonly name = 'PoolUnavailableError';
  constructor(
    readonly pool: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Options of {@link inferOnPool}. */
export interface InferOnPoolOptions {
  /** Workers tried before the pool counts as gone (RANKER_MAX_INFER_ATTEMPTS). */
  maxAttempts: number;
  /** No fallback follows this call (see fallback-policy.ts, mayUseSkippedWorker). */
  lastResort: boolean;
  /** A model the worker runs on this model's outputs in the same call (chained-infer.ts in @pinrank/inference); the answer is its outputs. */
  then?: RoutedModel | undefined;
}

/**
 * Runs one ModelInfer (raw little-endian inputs) of the model on a worker of
 * `pool` (on the worker's open ModelStreamInfer call when the pool has one,
 * else or when it cannot carry it as the unary call), moving to another
 * worker as fallback-policy.ts's ATTEMPT_RULES say.
 * Thrown by: no usable worker, or every worker tried failed the call —
 * PoolUnavailableError (a fallback may follow); every worker tried that
 * answered was busy — RESOURCE_EXHAUSTED (OverloadError 'pool_busy', no
 * fallback: a busy pool is not a gone one); the deadline — DEADLINE_EXCEEDED;
 * cancellation — CANCELLED; a worker refusing the request — INTERNAL naming
 * model and worker.
 */
export async function inferOnPool(pool: WorkerPool, model: RoutedModel, tensors: NamedTensors, o: InferOnPoolOptions, ctx: RequestContext): Promise<ModelInferResponse> {
  let encoded: EncodedInputs;
  try {
    encoded = encodeInferInputs(tensors);
  } catch (err) {
    throw new PinrankError('INTERNAL', `the router built malformed ${model.name} inputs: ${(err as Error).message}`, { cause: err });
  }
  const then = o.then;
  const parameters = then
    ? {
        [THEN_MODEL_PARAM]: { parameterChoice: { $case: 'stringParam' as const, value: then.name } },
        [THEN_VERSION_PARAM]: { parameterChoice: { $case: 'stringParam' as const, value: then.pinned ? then.version : '' } },
      }
    : {};
  const request = ModelInferRequest.fromPartial({ modelName: model.name, modelVersion: model.pinned ? model.version : '', id: ctx.requestId, parameters, ...encoded });
  const tried = new Set<string>();
  const failures: AttemptFailure[] = [];
  let lastError: unknown;
  let retriedSame = false;
  for (let attempt = 0; attempt < o.maxAttempts; attempt++) {
    let endpoint = pool.pick(tried, { includeSkipped: mayUseSkippedWorker(o.lastResort, tried.size) });
    const last = failures[failures.length - 1];
    if (!endpoint && last !== undefined && mayRetrySameWorker(o.lastResort, last, retriedSame)) {
      endpoint = pool.pick(undefined, { includeSkipped: true });
      retriedSame = true;
    }
    if (!endpoint) break;
    tried.add(endpoint.address);
    const deadline = ctx.deadline.forCall(`${model.name} on the ${pool.name} pool`);
    try {
      const somethingFollows = !o.lastResort || (attempt + 1 < o.maxAttempts && pool.healthyCount() > tried.size);
      const timeoutMs = attemptTimeoutMs(deadline.getTime() - Date.now(), somethingFollows);
      const { client, stream } = endpoint;
      const res = await callViaStream(stream, request, ctx.callOptions(timeoutMs, false), (o) => callUnary(client.modelInfer.bind(client), request, o));
      pool.reportSuccess(endpoint.address);
      return res;
    } catch (err) {
      if (ctx.cancelled) throw new PinrankError('CANCELLED', 'request cancelled', { cause: err });
      const e = PinrankError.from(err);
      const failure = classifyAttemptFailure(e.code, Date.now() >= deadline.getTime());
      if (failure === 'deadline') {
        throw new PinrankError('DEADLINE_EXCEEDED', `${model.name} on ${pool.name} worker ${endpoint.address} did not answer before the deadline`, { cause: err });
      }
      const rule = ATTEMPT_RULES[failure];
      if (rule.eject) pool.reportFailure(endpoint.address, rule.eject);
      if (!rule.tryAnother) {
        throw new PinrankError('INTERNAL', `${model.name}/${model.version} on ${pool.name} worker ${endpoint.address} failed: ${e.code}: ${e.message}`, { cause: err });
      }
      failures.push(failure);
      lastError = err;
    }
  }
  const busy = failures.filter((f) => f === 'overloaded').length;
  if (busy > 0) {
    throw new OverloadError('pool_busy', `${pool.name} pool busy: ${busy} of ${failures.length} worker(s) tried for ${model.name} had no room (${PinrankError.from(lastError).message}); retry later`, { cause: lastError });
  }
  const errors = failures.filter((f) => f === 'worker-error').length;
  const why = tried.size === 0 ? 'no healthy worker' : errors > 0 ? `${failures.length} attempt(s) failed (${errors} worker error(s))` : `${tried.size} worker(s) tried, all unavailable`;
  throw new PoolUnavailableError(pool.name, `${pool.name} pool: ${why} for ${model.name}`, { cause: lastError });
}

/** One model call of a request, as a stage of the pipeline makes it. */
export interface ModelCall {
  model: RoutedModel;
  pool: PoolName;
  inputs: NamedTensors;
  /** The FP32 output read back, and its expected shape [rows, cols]. */
  output: { name: string; rows: number; cols: number };
  /** No fallback follows this call. */
  lastResort: boolean;
  /** Run this model on the worker on `model`'s outputs (both on `pool`); `output` is then its output. */
  then?: RoutedModel;
}

/** A model call's output and the version that served it. */
export interface ModelCallResult {
  data: Float32Array;
  /** The version the worker reports (the routed one when it reports none). */
  modelVersion: string;
  /** For a chained call: the version of `then` that served it. */
  thenVersion?: string;
}

/** How the pipeline runs a model: on the worker pools in production. */
export interface Inference {
  /** Thrown by: as {@link inferOnPool}, and INTERNAL for an output that does not match the call. */
  run(call: ModelCall, ctx: RequestContext): Promise<ModelCallResult>;
  /** Whether every worker of `pool` runs `first` on a CPU and has `then` ready (WorkerPool.computesOnCpuWith); absent: never. */
  computesOnCpuWith?(pool: PoolName, first: RoutedModel, then: RoutedModel): boolean;
}

/** A routed model as a call names it: its version when pinned, else '' (whichever the worker serves). */
const asCalled = (m: RoutedModel): { name: string; version: string } => ({ name: m.name, version: m.pinned ? m.version : '' });

/** Model calls over the worker pools. */
export class PoolInference implements Inference {
  constructor(
    private readonly pools: Readonly<Record<PoolName, WorkerPool>>,
    private readonly maxAttempts: number,
  ) {}

  computesOnCpuWith(pool: PoolName, first: RoutedModel, then: RoutedModel): boolean {
    return this.pools[pool].computesOnCpuWith(asCalled(first), asCalled(then));
  }

  async run(call: ModelCall, ctx: RequestContext): Promise<ModelCallResult> {
    const { model, output } = call;
    const res = await inferOnPool(this.pools[call.pool], model, call.inputs, { maxAttempts: this.maxAttempts, lastResort: call.lastResort, then: call.then }, ctx);
    const out = fromPeer(`${model.name} worker`, () => decodeInferOutput(res, output.name, { dtype: 'float32', dims: [output.rows, output.cols] }));
    if (!call.then) return { data: out.data as Float32Array, modelVersion: res.modelVersion || model.version };
    const first = res.parameters[FIRST_VERSION_PARAM]?.parameterChoice;
    // A worker that does not chain answers with the first model's outputs, which the decode above already refused.
    return {
      data: out.data as Float32Array,
      modelVersion: first?.$case === 'stringParam' && first.value ? first.value : model.version,
      thenVersion: res.modelVersion || call.then.version,
    };
  }
}
