import { ContractError, type ModelConfig, type TensorSpec } from '@pinrank/contracts';
import { type InferenceSession } from 'onnxruntime-node';

/** What `checkSessionAgainstConfig` needs from a session (an onnxruntime-node InferenceSession has it). */
export type SessionIo = Pick<InferenceSession, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'>;

/**
 * Lists every way a loaded model's inputs and outputs differ from its config:
 * a name on one side only, a different element type, a different rank, or a
 * fixed dimension that differs (-1 in the config matches any dimension).
 */
export function diffSessionAgainstConfig(session: SessionIo, config: ModelConfig): string[] {
  return [
    ...diffSide('input', session.inputNames, session.inputMetadata, config.inputs),
    ...diffSide('output', session.outputNames, session.outputMetadata, config.outputs),
  ];
}

/**
 * Checks a loaded model against its config (the contract check at load).
 * Thrown by: any difference listed by `diffSessionAgainstConfig`, as a
 * ContractError naming the model, each mismatch and the source.
 */
export function checkSessionAgainstConfig(session: SessionIo, config: ModelConfig, source = `${config.name}/${config.version}`): void {
  const problems = diffSessionAgainstConfig(session, config);
  if (problems.length > 0)
    throw new ContractError(`model ${config.name} version ${config.version} does not match its config: ${problems.join('; ')}`, source);
}

function diffSide(
  side: 'input' | 'output',
  names: readonly string[],
  metadata: readonly InferenceSession.ValueMetadata[],
  declared: readonly TensorSpec[],
): string[] {
  const problems: string[] = [];
  const byName = new Map(metadata.map((m) => [m.name, m]));
  for (const spec of declared) {
    if (!names.includes(spec.name)) {
      problems.push(`config ${side} "${spec.name}" is missing from the model (the model's ${side}s: ${names.join(', ')})`);
      continue;
    }
    const meta = byName.get(spec.name);
    if (!meta || !meta.isTensor) {
      problems.push(`${side} "${spec.name}" is not a tensor in the model`);
      continue;
    }
    if (meta.type !== spec.dtype) problems.push(`${side} "${spec.name}" is ${meta.type} in the model but ${spec.dtype} in the config`);
    const shape = meta.shape;
    if (shape.length > 0) {
      const shown = `[${shape.map((d) => String(d)).join(', ')}] in the model but [${spec.shape.join(', ')}] in the config`;
      if (shape.length !== spec.shape.length) problems.push(`${side} "${spec.name}" has shape ${shown}`);
      else if (spec.shape.some((d, i) => d !== -1 && typeof shape[i] === 'number' && shape[i] !== d))
        problems.push(`${side} "${spec.name}" has shape ${shown}`);
      else if (spec.shape.some((d, i) => d !== -1 && typeof shape[i] !== 'number'))
        problems.push(`${side} "${spec.name}" has a dynamic axis where the config fixes one: ${shown}`);
    }
  }
  const declaredNames = new Set(declared.map((s) => s.name));
  for (const n of names) if (!declaredNames.has(n)) problems.push(`model ${side} "${n}" is not declared in the config`);
  return problems;
}
