import { PinrankError } from '@pinrank/service-kit';
import { type ModelConfig, type TensorDType, type TensorSpec } from '@pinrank/contracts';
import { OIP_DATATYPES, type TensorMap } from './host-tensor';

/** What an ONNX session declares about one input or output: element type and dims (a string names a symbolic axis). */
export interface SessionTensorInfo {
  name: string;
  /** ONNX Runtime tensor type name ('float32', 'int64', ...), or undefined for a non-tensor value. */
  type: string | undefined;
  shape: ReadonlyArray<number | string>;
}

/** The declared inputs and outputs of a loaded ONNX session. */
export interface SessionSignature {
  inputs: SessionTensorInfo[];
  outputs: SessionTensorInfo[];
}

/**
 * Compares a session's declared inputs and outputs with the model's config and
 * returns every mismatch as a sentence (empty when they agree). A config axis of
 * -1 accepts any session axis; fixed axes must be equal where the session fixes them.
 */
export function sessionContractProblems(session: SessionSignature, config: ModelConfig): string[] {
  const problems: string[] = [];
  compareSide('input', config.inputs, session.inputs, problems);
  compareSide('output', config.outputs, session.outputs, problems);
  const configured = new Set(config.inputs.map((t) => t.name));
  for (const s of session.inputs) {
    if (!configured.has(s.name)) problems.push(`the model needs input "${s.name}", which the config does not declare`);
  }
  return problems;
}

function compareSide(side: string, specs: readonly TensorSpec[], infos: readonly SessionTensorInfo[], problems: string[]): void {
  const byName = new Map(infos.map((i) => [i.name, i]));
  for (const spec of specs) {
    const info = byName.get(spec.name);
    if (!info) {
      problems.push(`config ${side} "${spec.name}" is not a ${side} of the model (it has ${infos.map((i) => i.name).join(', ') || 'none'})`);
      continue;
    }
    if (info.type !== spec.dtype) problems.push(`${side} "${spec.name}": config says ${spec.dtype}, the model has ${info.type ?? 'a non-tensor'}`);
    if (info.shape.length !== spec.shape.length) {
      problems.push(`${side} "${spec.name}": config has rank ${spec.shape.length} [${spec.shape.join(',')}], the model has rank ${info.shape.length} [${info.shape.join(',')}]`);
      continue;
    }
    spec.shape.forEach((d, axis) => {
      const m = info.shape[axis];
      if (d !== -1 && typeof m === 'number' && m >= 0 && m !== d) {
        problems.push(`${side} "${spec.name}" axis ${axis}: config says ${d}, the model has ${m}`);
      }
    });
  }
}

/**
 * Checks a request's inputs against the model's config: every declared input
 * present, nothing extra, datatype and rank as declared, fixed axes equal.
 * Thrown by: any mismatch — as INVALID_ARGUMENT naming the input and what was expected.
 */
export function checkInputsAgainstConfig(inputs: TensorMap, config: ModelConfig): void {
  const declared = new Map(config.inputs.map((t) => [t.name, t]));
  for (const name of Object.keys(inputs)) {
    if (!declared.has(name)) {
      throw new PinrankError('INVALID_ARGUMENT', `model "${config.name}" has no input "${name}"; its inputs are ${describeSpecs(config.inputs)}`);
    }
  }
  for (const spec of config.inputs) {
    const t = inputs[spec.name];
    const expected = `expected ${OIP_DATATYPES[spec.dtype]} [${spec.shape.join(',')}]`;
    if (!t) throw new PinrankError('INVALID_ARGUMENT', `model "${config.name}": input "${spec.name}" is missing (${expected})`);
    const got = `got ${OIP_DATATYPES[t.dtype]} [${t.dims.join(',')}]`;
    if (t.dtype !== spec.dtype || t.dims.length !== spec.shape.length || spec.shape.some((d, k) => d !== -1 && t.dims[k] !== d)) {
      throw new PinrankError('INVALID_ARGUMENT', `model "${config.name}": input "${spec.name}" ${expected}, ${got}`);
    }
  }
}

/** Checks requested output names; an empty list means all outputs. Thrown by: an unknown name — as INVALID_ARGUMENT. */
export function resolveRequestedOutputs(requested: readonly string[], config: ModelConfig): string[] {
  const all = config.outputs.map((t) => t.name);
  if (requested.length === 0) return all;
  for (const name of requested) {
    if (!all.includes(name)) {
      throw new PinrankError('INVALID_ARGUMENT', `model "${config.name}" has no output "${name}"; its outputs are ${all.join(', ')}`);
    }
  }
  return [...new Set(requested)];
}

function describeSpecs(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `${s.name} ${OIP_DATATYPES[s.dtype as TensorDType]} [${s.shape.join(',')}]`).join(', ');
}
