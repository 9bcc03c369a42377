import { type InferParameter, type ModelInferRequest } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';
import { type ModelConfig } from '@pinrank/contracts';
import { type TensorMap } from './host-tensor';
import { checkModelName, checkVersion } from './request-checks';

// A chained ModelInfer: one request runs a model and feeds its outputs to a
// second model on the same worker, and answers with the second model's
// outputs. The router uses it for transact_encoder → ranking_heads when both
// are placed in one pool, so the [N, 1056] encoder output never leaves the
// worker (no encode, no network, no decode and re-encode at the router).
// Triton does the same with ensembles and business-logic scripting; here the
// request names the step in its parameters:
//   pinrank.then_model          the second model (required to chain)
//   pinrank.then_model_version  its version ("" or absent: the newest ready)
// The request's inputs are split by the two configs: those the first model
// names go to it, the rest to the second; every output of the first model
// that the second names as an input links them. The answer carries the
// second model's name and version, and the first model's version in the
// parameter pinrank.first_model_version.

/** Request parameter naming the model that runs on the first one's outputs. */
export const THEN_MODEL_PARAM = 'pinrank.then_model';
/** Request parameter naming that model's version; absent or "": the newest ready one. */
export const THEN_VERSION_PARAM = 'pinrank.then_model_version';
/** Response parameter: the version of the first model that served a chained request. */
export const FIRST_VERSION_PARAM = 'pinrank.first_model_version';

const invalid = (message: string): PinrankError => new PinrankError('INVALID_ARGUMENT', message);

function stringParam(p: InferParameter | undefined, key: string): string | undefined {
  if (p === undefined) return undefined;
  if (p.parameterChoice?.$case !== 'stringParam') throw invalid(`parameters["${key}"] must be a string parameter`);
  return p.parameterChoice.value;
}

/** The second model a request chains to, or undefined for a plain request. Thrown by: a malformed name or version (INVALID_ARGUMENT). */
export function chainTarget(req: ModelInferRequest): { name: string; version: string } | undefined {
  const name = stringParam(req.parameters[THEN_MODEL_PARAM], THEN_MODEL_PARAM);
  const version = stringParam(req.parameters[THEN_VERSION_PARAM], THEN_VERSION_PARAM);
  if (name === undefined) {
    if (version !== undefined) throw invalid(`parameters["${THEN_VERSION_PARAM}"] is set but "${THEN_MODEL_PARAM}" is not; name the model to chain to`);
    return undefined;
  }
  checkModelName(name, `parameters["${THEN_MODEL_PARAM}"]`);
  if (name === req.modelName) throw invalid(`parameters["${THEN_MODEL_PARAM}"] names the requested model itself; a chain runs two different models`);
  return { name, version: checkVersion(version ?? '', `parameters["${THEN_VERSION_PARAM}"]`) };
}

/** A chained request's inputs, split between the two models, and the first model's outputs the second takes. */
export interface ChainInputs {
  first: TensorMap;
  second: TensorMap;
  /** Output names of the first model that are input names of the second. */
  links: string[];
}

/**
 * Splits `inputs` by the two configs. Thrown by: no output of the first
 * model that the second takes, an input the request sends for a linked name,
 * or one that neither model takes — INVALID_ARGUMENT naming it.
 */
export function splitChainInputs(inputs: TensorMap, first: ModelConfig, second: ModelConfig): ChainInputs {
  const firstInputs = new Set(first.inputs.map((t) => t.name));
  const secondInputs = new Set(second.inputs.map((t) => t.name));
  const links = first.outputs.map((t) => t.name).filter((n) => secondInputs.has(n));
  if (links.length === 0) {
    throw invalid(`${second.name} takes no output of ${first.name} (outputs: ${first.outputs.map((t) => t.name).join(', ')}); they cannot be chained`);
  }
  const out: ChainInputs = { first: {}, second: {}, links };
  for (const [name, tensor] of Object.entries(inputs)) {
    if (links.includes(name)) throw invalid(`input "${name}" is ${first.name}'s output, which the chain passes to ${second.name}; do not send it`);
    const toFirst = firstInputs.has(name);
    if (toFirst) out.first[name] = tensor;
    if (secondInputs.has(name)) out.second[name] = tensor;
    else if (!toFirst) throw invalid(`input "${name}" is taken by neither ${first.name} nor ${second.name}`);
  }
  return out;
}
