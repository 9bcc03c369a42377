import { type ModelInferRequest } from '@pinrank/proto';
import { MAX_RPC_ID_BYTES, PinrankError, quote } from '@pinrank/service-kit';
import { checkModelName, checkVersion } from './request-checks';

/** Most inputs, or requested outputs, one ModelInfer request may name. */
export const MAX_INFER_TENSORS = 64;
/** Most dimensions of one input tensor. */
export const MAX_TENSOR_RANK = 8;
/** Longest input or output name, in UTF-8 bytes. */
export const MAX_TENSOR_NAME_BYTES = 128;

const invalid = (message: string): PinrankError => new PinrankError('INVALID_ARGUMENT', message);

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
  checkModelName(req.modelName, 'model_name');
  checkVersion(req.modelVersion, 'model_version');
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
