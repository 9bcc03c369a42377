import { type Span } from '@opentelemetry/api';
import { type Logger } from 'pino';
import { ModelInferResponse, type ModelInferRequest } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';
import { type InferenceMetrics } from './inference-metrics';
import { chainTarget, FIRST_VERSION_PARAM, splitChainInputs } from './chained-infer';
import { type HostTensor } from './host-tensor';
import { checkInferEnvelope } from './infer-request-edge';
import { type ModelLifecycle } from './model-lifecycle';
import { REJECTION_CODES, type RejectionLog } from './rejection-log';
import { checkModelName, checkVersion } from './request-checks';
import { checkNoCancelParam, requestDeadline, requestTimeoutMs } from './request-params';
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
 * it), decodes, runs it through the model's batcher (and, for a chained
 * request, the second model's: chained-infer.ts) and encodes the answer.
 * Refused requests are counted per model and logged with the trace id.
 * Thrown by: everything that fails — as PinrankError.
 */
export async function inferCall(deps: InferDeps, req: ModelInferRequest, scope: InferScope): Promise<{ response: ModelInferResponse; model: string }> {
  checkInferEnvelope(req);
  checkNoCancelParam(req);
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
    const then = chainTarget(req);
    const schedule = { deadline: requestDeadline(scope.deadline, requestTimeoutMs(req))?.getTime(), signal: scope.signal };
    const requested = req.outputs.map((o) => o.name);
    let served: { name: string; version: string; outputs: Array<[string, HostTensor]>; firstVersion?: string };
    if (then) {
      const firstConfig = deps.lifecycle.ready(name, wanted).instance.config;
      const secondConfig = deps.lifecycle.ready(then.name, then.version).instance.config;
      const split = splitChainInputs(decoded.inputs, firstConfig, secondConfig);
      const first = await deps.lifecycle.infer(name, wanted, split.first, split.links, schedule);
      const second = await deps.lifecycle.infer(then.name, then.version, { ...split.second, ...Object.fromEntries(first.outputs) }, requested, schedule);
      served = { name: then.name, version: second.version, outputs: second.outputs, firstVersion: first.version };
    } else {
      const result = await deps.lifecycle.infer(name, wanted, decoded.inputs, requested, schedule);
      served = { name, version: result.version, outputs: result.outputs };
    }
    scope.span.setAttributes({
      'pinrank.model.name': name,
      'pinrank.model.version': served.firstVersion ?? served.version,
      'pinrank.execution_provider': servedProvider(deps.lifecycle, served.name, served.version),
      ...(then ? { 'pinrank.model.then_name': served.name, 'pinrank.model.then_version': served.version } : {}),
    });
    const encoded = encodeInferOutputs(served.outputs, decoded.raw);
    const response = ModelInferResponse.fromPartial({
      modelName: served.name,
      modelVersion: served.version,
      id: req.id,
      outputs: encoded.outputs,
      rawOutputContents: encoded.rawOutputContents,
      ...(served.firstVersion !== undefined ? { parameters: { [FIRST_VERSION_PARAM]: { parameterChoice: { $case: 'stringParam', value: served.firstVersion } } } } : {}),
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
