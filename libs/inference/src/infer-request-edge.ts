import { type ModelInferRequest } from '@pinrank/proto';
import { MAX_RPC_ID_BYTES, PinrankError, quote } from '@pinrank/service-kit';

/** Most inputs, or requested outputs, one ModelInfer request may name. */
export const MAX_INFER_TENSORS = 64;
/** Most dimensions of one input tensor. */
export const MAX_TENSOR_RANK = 8;
/** Longest input or output name, in UTF-8 bytes. */
export const MAX_TENSOR_NAME_BYTES = 128;

// The forms model configs allow (libs/contracts): anything else cannot name a served model.
const MODEL_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const MODEL_VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const invalid = (message: string): PinrankError => new PinrankError('INVALID_ARGUMENT', message);

/**
 * Checks a model name and (optional) version from a request before any
 * message repeats them: they must have the form model configs allow.
 * Thrown by: an empty or malformed name or version — INVALID_ARGUMENT.
 */
export function checkModelRef(name: string, version: string, field = 'model_name'): void {
  if (!name) throw invalid(`${field}: required`);
  if (!MODEL_NAME.test(name)) throw invalid(`${field}: ${quote(name)} is not a model name (1-64 characters of a-z, 0-9 and _, starting with a letter)`);
  if (version && !MODEL_VERSION.test(version)) {
    throw invalid(`model_version: ${quote(version)} is not a model version (1-64 characters of A-Z a-z 0-9 . _ -, or empty for the newest)`);
  }
}

function checkTensorName(name: string, field: string): void {
  if (Buffer.byteLength(name, 'utf8') > MAX_TENSOR_NAME_BYTES) throw invalid(`${field}: ${quote(name)} is longer than ${MAX_TENSOR_NAME_BYTES} bytes`);
}

/**
 * Checks the parts of a ModelInfer request that error messages repeat or
 * that size what decoding allocates: model name and version, request id,
 * tensor counts, names, datatypes and shape ranks. Thrown by: any of them
 * out of bounds — INVALID_ARGUMENT naming the field.
 */
export function checkInferEnvelope(req: ModelInferRequest): void {
  checkModelRef(req.modelName, req.modelVersion);
  if (Buffer.byteLength(req.id, 'utf8') > MAX_RPC_ID_BYTES) throw invalid(`id: ${quote(req.id)} is longer than ${MAX_RPC_ID_BYTES} bytes`);
  if (req.inputs.length > MAX_INFER_TENSORS) throw invalid(`inputs: ${req.inputs.length} tensors; at most ${MAX_INFER_TENSORS}`);
  if (req.outputs.length > MAX_INFER_TENSORS) throw invalid(`outputs: ${req.outputs.length} requested; at most ${MAX_INFER_TENSORS}`);
  req.inputs.forEach((input, i) => {
    checkTensorName(input.name, `inputs[${i}].name`);
    if (input.datatype.length > 16) throw invalid(`inputs[${i}].datatype: ${quote(input.datatype)} is not a datatype`);
    if (input.shape.length > MAX_TENSOR_RANK) throw invalid(`inputs[${i}].shape: ${input.shape.length} dimensions; at most ${MAX_TENSOR_RANK}`);
  });
  req.outputs.forEach((output, i) => checkTensorName(output.name, `outputs[${i}].name`));
}
