import { ModelInferRequest, type ModelInferResponse } from '@pinrank/proto';
import { callUnary, PinrankError, type CallContext, type ErrorCode } from '@pinrank/service-kit';
import { type RequestDeadline } from './deadline';
import { type RoutedModel } from './model-set';
import { encodeInputs, type RouterTensor } from './tensors';
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

// Worth another worker: this one is down, draining, overloaded, or lacks the model.
const TRY_ANOTHER = new Set<ErrorCode>(['UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'NOT_FOUND', 'CANCELLED']);

/** Per-call context of {@link inferOnPool}. */
export interface InferCall {
  deadline: RequestDeadline;
  maxAttempts: number;
  requestId: string;
  /** The incoming call: its cancellation cancels ours and its span is our parent. */
  parent?: CallContext;
  /** No fallback follows this call: try a worker skipped after a failure rather than giving up. */
  lastResort?: boolean;
}

/**
 * Runs one ModelInfer (raw little-endian inputs) of the pinned model version
 * on a worker of `pool`, moving to another worker when one is unavailable.
 * Thrown by: no usable worker — PoolUnavailableError; the deadline —
 * DEADLINE_EXCEEDED; a worker refusing the request — INTERNAL naming model and worker.
 */
export async function inferOnPool(
  pool: WorkerPool,
  model: RoutedModel,
  tensors: ReadonlyArray<readonly [string, RouterTensor]>,
  call: InferCall,
): Promise<ModelInferResponse> {
  const { inputs, raw } = encodeInputs(tensors);
  const request = ModelInferRequest.fromPartial({ modelName: model.name, modelVersion: model.pinned ? model.version : '', id: call.requestId, inputs, rawInputContents: raw });
  const tried = new Set<string>();
  let lastError: unknown;
  for (let attempt = 0; attempt < call.maxAttempts; attempt++) {
    const endpoint = pool.pick(tried, { includeSkipped: call.lastResort === true && tried.size === 0 });
    if (!endpoint) break;
    tried.add(endpoint.address);
    const deadline = call.deadline.forCall(`${model.name} on the ${pool.name} pool`);
    // One attempt gets at most half of the time left, so a hung worker (a cut
    // link keeps its channel and health stream "open") leaves time for another
    // worker or the declared fallback pool.
    const attemptMs = Math.max(1, Math.floor((deadline.getTime() - Date.now()) / 2));
    try {
      const res = await callUnary(endpoint.client.modelInfer.bind(endpoint.client), request, {
        ...(call.parent ? { parent: call.parent } : {}),
        timeoutMs: attemptMs,
        retry: false,
      });
      pool.reportSuccess(endpoint.address);
      return res;
    } catch (err) {
      if (call.parent?.signal.aborted) throw new PinrankError('CANCELLED', 'request cancelled', { cause: err });
      const e = PinrankError.from(err);
      if (e.code === 'DEADLINE_EXCEEDED') {
        if (Date.now() >= deadline.getTime()) {
          throw new PinrankError('DEADLINE_EXCEEDED', `${model.name} on ${pool.name} worker ${endpoint.address} did not answer before the deadline`, { cause: err });
        }
        // Only this attempt's share ran out: treat the worker as hung and skip it for a while.
        pool.reportFailure(endpoint.address, 'timeout');
        lastError = err;
        continue;
      }
      if (!TRY_ANOTHER.has(e.code)) {
        throw new PinrankError('INTERNAL', `${model.name}/${model.version} on ${pool.name} worker ${endpoint.address} failed: ${e.code}: ${e.message}`, { cause: err });
      }
      pool.reportFailure(endpoint.address);
      lastError = err;
    }
  }
  const why = tried.size === 0 ? 'no healthy worker' : `${tried.size} worker(s) tried, all unavailable`;
  throw new PoolUnavailableError(pool.name, `${pool.name} pool: ${why} for ${model.name}`, { cause: lastError });
}
