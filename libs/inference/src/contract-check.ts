import { PinrankError } from '@pinrank/service-kit';
import { ContractError, type ModelConfig, type TensorDType, type TensorSpec } from '@pinrank/contracts';
import { type InferenceSession } from 'onnxruntime-node';
import { OIP_DATATYPES, type TensorMap } from './host-tensor';

// The one place that compares a model with its config: when a release entry
// is built (libs/models, exact) and when a worker loads a version (here).

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

/** Options of {@link sessionContractProblems}. */
export interface ContractCheckOptions {
  /**
   * The config must describe the model completely: every axis the config fixes
   * is fixed in the model too, and every model output is declared. For entries
   * whose config is written from the model (the release build). Default false:
   * a worker serves a model whose config fixes axes the graph leaves open, and
   * ignores outputs nobody asks for.
   */
  exact?: boolean;
}

/** The signature of an onnxruntime-node session (its input and output metadata). */
export function sessionSignature(session: Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>): SessionSignature {
  const describe = (m: InferenceSession.ValueMetadata): SessionTensorInfo =>
    m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: undefined, shape: [] };
  return { inputs: session.inputMetadata.map(describe), outputs: session.outputMetadata.map(describe) };
}

/**
 * Compares a session's declared inputs and outputs with the model's config and
 * returns every mismatch as a sentence (empty when they agree). A config axis of
 * -1 accepts any session axis; a fixed axis must equal the session's where the
 * session fixes it (and, with `exact`, the session must fix it).
 */
export function sessionContractProblems(session: SessionSignature, config: ModelConfig, options: ContractCheckOptions = {}): string[] {
  const exact = options.exact ?? false;
  const problems: string[] = [];
  compareSide('input', config.inputs, session.inputs, exact, problems);
  compareSide('output', config.outputs, session.outputs, exact, problems);
  const undeclared = (side: string, specs: readonly TensorSpec[], infos: readonly SessionTensorInfo[]): void => {
    const declared = new Set(specs.map((t) => t.name));
    for (const s of infos) if (!declared.has(s.name)) problems.push(`the model has ${side} "${s.name}", which the config does not declare`);
  };
  undeclared('input', config.inputs, session.inputs);
  if (exact) undeclared('output', config.outputs, session.outputs);
  return problems;
}

/**
 * Checks a model against its config. Thrown by: any problem listed by
 * {@link sessionContractProblems} — a ContractError naming the model, each
 * mismatch and `source`.
 */
export function checkSessionAgainstConfig(session: SessionSignature, config: ModelConfig, source = `${config.name}/${config.version}`, options: ContractCheckOptions = {}): void {
  const problems = sessionContractProblems(session, config, options);
  if (problems.length > 0) throw new ContractError(`model ${config.name} version ${config.version} does not match its config: ${problems.join('; ')}`, source);
}

function compareSide(side: string, specs: readonly TensorSpec[], infos: readonly SessionTensorInfo[], exact: boolean, problems: string[]): void {
  const byName = new Map(infos.map((i) => [i.name, i]));
  for (const spec of specs) {
    const info = byName.get(spec.name);
    if (!info) {
      problems.push(`config ${side} "${spec.name}" is not an ${side} of the model (it has ${infos.map((i) => i.name).join(', ') || 'none'})`);
      continue;
    }
    if (info.type !== spec.dtype) problems.push(`${side} "${spec.name}": config says ${spec.dtype}, the model has ${info.type ?? 'a non-tensor'}`);
    // A non-tensor (or a tensor of unknown rank) has no dims to compare.
    if (info.type === undefined || info.shape.length === 0) continue;
    if (info.shape.length !== spec.shape.length) {
      problems.push(`${side} "${spec.name}": config has rank ${spec.shape.length} [${spec.shape.join(',')}], the model has rank ${info.shape.length} [${info.shape.join(',')}]`);
      continue;
    }
    spec.shape.forEach((d, axis) => {
      if (d === -1) return;
      const m = info.shape[axis];
      const fixed = typeof m === 'number' && m >= 0;
      if (fixed && m !== d) problems.push(`${side} "${spec.name}" axis ${axis}: config says ${d}, the model has ${m}`);
      else if (!fixed && exact) problems.push(`${side} "${spec.name}" axis ${axis}: config says ${d}, the model leaves it dynamic (${String(m)})`);
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
