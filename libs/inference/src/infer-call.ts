import { type Span } from '@opentelemetry/api';
import { type Logger } from 'pino';
import { ModelInferResponse, type ModelInferRequest } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';
import { type InferenceMetrics } from './inference-metrics';
import { checkInferEnvelope } from './infer-request-edge';
import { type ModelLifecycle } from './model-lifecycle';
import { REJECTION_CODES, type RejectionLog } from './rejection-log';
import { checkModelName, checkVersion } from './request-checks';
import { decodeInferInputs, encodeInferOutputs } from './tensor-codec';

/** What one inference runs under: the call's deadline, cancellation, span and logger. */
export interface InferScope {
  deadline: Date | undefined;
  signal: AbortSignal;
  span: Span;
  logger: Logger;
}

/** What the inference path needs from the worker. */
export interface InferDeps {
  lifecycle: ModelLifecycle;
  metrics: InferenceMetrics | undefined;
  rejections: RejectionLog;
}

// The execution provider of a served version ("unknown" once it has been unloaded).
function servedProvider(lifecycle: ModelLifecycle, name: string, version: string): string {
  try {
    return lifecycle.ready(name, version).instance.provider;
  } catch {
    return 'unknown';
  }
}

/**
 * One ModelInfer request, for the unary method and for each message of a
 * stream: checks the names, resolves the model (so failures count against
 * it), decodes, runs it through the model's batcher and encodes the answer.
 * Refused requests are counted per model and logged with the trace id.
 * Thrown by: everything that fails — as PinrankError.
 */
export async function inferCall(deps: InferDeps, req: ModelInferRequest, scope: InferScope): Promise<{ response: ModelInferResponse; model: string }> {
  checkInferEnvelope(req);
  const name = checkModelName(req.modelName, 'model_name');
  const wanted = checkVersion(req.modelVersion, 'model_version');
  const label = deps.lifecycle.ready(name, wanted).version;
  try {
    let decoded;
    try {
      decoded = decodeInferInputs(req);
    } catch (err) {
      deps.metrics?.rejected(name, label, 'invalid');
      throw err;
    }
    const result = await deps.lifecycle.infer(name, wanted, decoded.inputs, req.outputs.map((o) => o.name), {
      deadline: scope.deadline?.getTime(),
      signal: scope.signal,
    });
    scope.span.setAttributes({
      'pinrank.model.name': name,
      'pinrank.model.version': result.version,
      'pinrank.execution_provider': servedProvider(deps.lifecycle, name, result.version),
    });
    const encoded = encodeInferOutputs(result.outputs, decoded.raw);
    const response = ModelInferResponse.fromPartial({
      modelName: name,
      modelVersion: result.version,
      id: req.id,
      outputs: encoded.outputs,
      rawOutputContents: encoded.rawOutputContents,
    });
    return { response, model: name };
  } catch (err) {
    // The runtime's own words (node names, internal state) stay in the log, with the trace id.
    if (err instanceof PinrankError && err.cause instanceof Error) scope.logger.warn({ model: name, code: err.code, cause: err.cause.message }, 'inference failed');
    if (err instanceof PinrankError && REJECTION_CODES.has(err.code)) {
      deps.rejections.record(scope.logger, { model: name, version: label, code: err.code, reason: err.message });
    }
    throw err;
  }
}
