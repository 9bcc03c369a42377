import { decodeInferOutput, encodeInferInputs, type EncodedInputs } from '@pinrank/inference';
import { ModelInferRequest, type ModelInferResponse } from '@pinrank/proto';
import { callUnary, PinrankError } from '@pinrank/service-kit';
import { ATTEMPT_RULES, attemptTimeoutMs, classifyAttemptFailure, mayUseSkippedWorker } from './fallback-policy';
import { type NamedTensors } from './model-inputs';
import { type PoolName, type RoutedModel } from './model-set';
import { type RequestContext } from './request-context';
import { fromPeer } from './upstreams';
import { type WorkerPool } from './worker-pool';

/** Thrown when no worker of a pool could run a call: none healthy, or every one tried was unavailable or saturated. */
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
}

/**
 * Runs one ModelInfer (raw little-endian inputs) of the model on a worker of
 * `pool`, moving to another worker as fallback-policy.ts's ATTEMPT_RULES say.
 * Thrown by: no usable worker — PoolUnavailableError; the deadline —
 * DEADLINE_EXCEEDED; cancellation — CANCELLED; a worker refusing the request — INTERNAL naming model and worker.
 */
export async function inferOnPool(pool: WorkerPool, model: RoutedModel, tensors: NamedTensors, o: InferOnPoolOptions, ctx: RequestContext): Promise<ModelInferResponse> {
  let encoded: EncodedInputs;
  try {
    encoded = encodeInferInputs(tensors);
  } catch (err) {
    throw new PinrankError('INTERNAL', `the router built malformed ${model.name} inputs: ${(err as Error).message}`, { cause: err });
  }
  const request = ModelInferRequest.fromPartial({ modelName: model.name, modelVersion: model.pinned ? model.version : '', id: ctx.requestId, ...encoded });
  const tried = new Set<string>();
  let lastError: unknown;
  for (let attempt = 0; attempt < o.maxAttempts; attempt++) {
    const endpoint = pool.pick(tried, { includeSkipped: mayUseSkippedWorker(o.lastResort, tried.size) });
    if (!endpoint) break;
    tried.add(endpoint.address);
    const deadline = ctx.deadline.forCall(`${model.name} on the ${pool.name} pool`);
    try {
      const res = await callUnary(endpoint.client.modelInfer.bind(endpoint.client), request, ctx.callOptions(attemptTimeoutMs(deadline.getTime() - Date.now()), false));
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
      lastError = err;
    }
  }
  const why = tried.size === 0 ? 'no healthy worker' : `${tried.size} worker(s) tried, all unavailable`;
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
}

/** A model call's output and the version that served it. */
export interface ModelCallResult {
  data: Float32Array;
  /** The version the worker reports (the routed one when it reports none). */
  modelVersion: string;
}

/** How the pipeline runs a model: on the worker pools in production. */
export interface Inference {
  /** Thrown by: as {@link inferOnPool}, and INTERNAL for an output that does not match the call. */
  run(call: ModelCall, ctx: RequestContext): Promise<ModelCallResult>;
}

/** Model calls over the worker pools. */
export class PoolInference implements Inference {
  constructor(
    private readonly pools: Readonly<Record<PoolName, WorkerPool>>,
    private readonly maxAttempts: number,
  ) {}

  async run(call: ModelCall, ctx: RequestContext): Promise<ModelCallResult> {
    const { model, output } = call;
    const res = await inferOnPool(this.pools[call.pool], model, call.inputs, { maxAttempts: this.maxAttempts, lastResort: call.lastResort }, ctx);
    const out = fromPeer(`${model.name} worker`, () => decodeInferOutput(res, output.name, { dtype: 'float32', dims: [output.rows, output.cols] }));
    return { data: out.data as Float32Array, modelVersion: res.modelVersion || model.version };
  }
}
