import { PinrankError } from '@pinrank/service-kit';
import { type ModelRepositoryParameter } from '@pinrank/proto';

// The formats a model config allows (libs/contracts): anything else names no model a worker can serve.
const MODEL_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Whether `name` is a name a model config can have (so it is safe to echo). */
export function isModelName(name: string): boolean {
  return MODEL_NAME.test(name);
}

/**
 * A model name from a request, checked before it is looked up or echoed.
 * Thrown by: an empty name or one no model can have — as INVALID_ARGUMENT
 * naming the field (never the value, which may be any size).
 */
export function checkModelName(name: string, field: string): string {
  if (!name) throw new PinrankError('INVALID_ARGUMENT', `${field} is empty`);
  if (!MODEL_NAME.test(name)) throw new PinrankError('INVALID_ARGUMENT', `${field}: model names are 1-64 characters of a-z, 0-9 and _, starting with a letter`);
  return name;
}

/** An optional version from a request ("" means the server's choice). Thrown by: a malformed version — as INVALID_ARGUMENT. */
export function checkVersion(version: string, field: string): string {
  if (version && !VERSION.test(version)) throw new PinrankError('INVALID_ARGUMENT', `${field}: versions are 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'`);
  return version;
}

/** Which protocol's repository request a message is, and the model it names. */
export interface RepositoryTarget {
  model: string;
  /** "triton": model_name in field 2; "kserve": KServe's model_name in field 1 (Triton's repository_name). */
  form: 'triton' | 'kserve';
}

/**
 * Reads a RepositoryModelLoad/Unload request in either protocol's form. Both
 * use the same method path; Triton puts the model name in field 2 (field 1 is
 * an optional repository name), KServe in field 1 with no field 2. So a
 * request with field 2 set is Triton's, and one with only field 1 set is
 * KServe's. The one message that reads differently is Triton's with a
 * repository name and no model name, which Triton itself refuses; here it is
 * taken as KServe's. Parameters: `allowed` names those accepted (and ignored).
 * Thrown by: no model name, a malformed one, or an unsupported parameter — as INVALID_ARGUMENT.
 */
export function repositoryTarget(
  req: { repositoryName: string; modelName: string; parameters: Record<string, ModelRepositoryParameter> },
  allowed: readonly string[] = [],
): RepositoryTarget {
  const form = req.modelName ? 'triton' : 'kserve';
  const raw = form === 'triton' ? req.modelName : req.repositoryName;
  if (!raw) throw new PinrankError('INVALID_ARGUMENT', 'model_name is empty (Triton: field 2; KServe: field 1)');
  const model = checkModelName(raw, 'model_name');
  const unsupported = Object.keys(req.parameters).filter((k) => !allowed.includes(k));
  if (unsupported.length > 0) {
    const named = unsupported.slice(0, 3).map((k) => (k.length > 40 ? `${k.slice(0, 40)}…` : k));
    throw new PinrankError(
      'INVALID_ARGUMENT',
      `parameters ${named.join(', ')}${unsupported.length > 3 ? ', ...' : ''} are not supported: models load from the repository's files (config.json beside model.onnx)`,
    );
  }
  return { model, form };
}
