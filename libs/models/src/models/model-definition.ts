import { type ModelConfig, type ValueDomain, parseModelConfig } from '@pinrank/contracts';
import { type OnnxIoSpec } from '../ops/onnx-ops';
import { type Ops } from '../ops/ops';
import { type SeededRandom } from '../weights/seeded-random';

/** The models this library defines (each is one ONNX model in the repository). */
export const MODEL_NAMES = ['pinnerformer', 'pinnerformer_item', 'transact_encoder', 'ranking_heads', 'ranking_heads_lite'] as const;
/** Name of a model this library defines. */
export type ModelName = (typeof MODEL_NAMES)[number];
/** Models whose inputs include PinnerFormer vectors: their configs name the PinnerFormer version. */
export const PINNERFORMER_CONSUMERS: readonly ModelName[] = ['ranking_heads', 'ranking_heads_lite'];

/** A host-side tensor fed to either backend (int64 ids become int32 for TensorFlow.js). */
export type FeedTensor =
  | { dtype: 'float32'; shape: number[]; data: Float32Array }
  | { dtype: 'int64'; shape: number[]; data: BigInt64Array };
/** Named input tensors of one call. */
export type Feeds = Record<string, FeedTensor>;

/** Sizes of generated sample inputs (warm-up, smoke tests, tests, benchmarks). */
export interface SampleSize {
  /** Rows of the batch axis (candidates, users or items). */
  batch: number;
  /** User rows for models that stack users (transact_encoder). Default 1. */
  users?: number;
  /** Sequence length for sequence inputs with a dynamic length. Default 100. */
  seqLen?: number;
}

/** Per-build facts that are not architecture: the version and where features came from. */
export interface ConfigOptions {
  /** PinnerFormer version whose vectors this model's features came from (heads models). */
  pinnerformerVersion?: string;
}

/** A graph written against `Ops` with named inputs and outputs: a whole model, or one block under test. */
export interface GraphSpec {
  readonly name: string;
  readonly description: string;
  readonly inputs: readonly OnnxIoSpec[];
  readonly outputs: readonly OnnxIoSpec[];
  /** The forward pass; `inputs` holds one value per input name, the result one per output name. */
  forward<T>(ops: Ops<T>, inputs: Readonly<Record<string, T>>): Record<string, T>;
}

/**
 * A model with its hyperparameters fixed: its tensor contract, its forward
 * pass written once against `Ops`, and its serving config.
 */
export interface ModelSpec extends GraphSpec {
  readonly name: ModelName;
  /** Resolved hyperparameters (defaults filled in); stored with the weights. */
  readonly hyperparams: Readonly<Record<string, unknown>>;
  /**
   * Hyperparameters that only choose how the graph is arranged, not what it
   * computes (re-emitting a version resets them to their defaults). Default none.
   */
  readonly graphFormHyperparams?: readonly string[];
  /** The model's config.json content for `version`. */
  config(version: string, options?: ConfigOptions): ModelConfig;
  /** Random, valid inputs of the given size. */
  sampleFeeds(rng: SeededRandom, size: SampleSize): Feeds;
}

/** The parts of a config that differ between models. */
export type ConfigParts = Pick<ModelConfig, 'placement' | 'executionProviders' | 'batching' | 'warmup' | 'description'> &
  Partial<Pick<ModelConfig, 'heads' | 'pinnerformerVersion' | 'limits'>> & {
    /** Value domains of integer inputs (e.g. an embedding lookup's vocabulary), by input name. */
    inputValues?: Readonly<Record<string, ValueDomain>>;
  };

/**
 * Builds and validates a config from a model's I/O specs (symbolic axes
 * become -1). Thrown by: value domains or limits naming inputs or axes the
 * model does not have (TypeError), or a config the schema refuses.
 */
export function buildConfig(spec: Pick<ModelSpec, 'name' | 'inputs' | 'outputs'>, version: string, parts: ConfigParts): ModelConfig {
  const { inputValues = {}, ...rest } = parts;
  const toTensorSpec = (io: OnnxIoSpec): ModelConfig['inputs'][number] => ({
    name: io.name,
    dtype: io.dtype,
    shape: io.shape.map((d) => (typeof d === 'number' ? d : -1)),
  });
  for (const name of Object.keys(inputValues)) {
    if (!spec.inputs.some((io) => io.name === name)) throw new TypeError(`${spec.name}: value domain for "${name}", which is not an input`);
  }
  const axes = new Set(spec.inputs.flatMap((io) => io.shape.filter((d): d is string => typeof d === 'string')));
  for (const axis of [...Object.keys(parts.limits?.axes ?? {}), ...(parts.limits?.work?.axes ?? [])]) {
    if (!axes.has(axis)) throw new TypeError(`${spec.name}: limits name axis "${axis}"; the inputs' axes are ${[...axes].join(', ')}`);
  }
  const config = {
    name: spec.name,
    version,
    platform: 'onnxruntime_onnx',
    inputs: spec.inputs.map((io) => ({ ...toTensorSpec(io), ...(inputValues[io.name] ? { values: inputValues[io.name] } : {}) })),
    outputs: spec.outputs.map(toTensorSpec),
    ...rest,
  };
  return parseModelConfig(config, `${spec.name}/${version} (built)`);
}

/** Reads a required input from a forward pass's inputs (a clear error if the caller forgot one). */
export function requireInput<T>(inputs: Readonly<Record<string, T>>, name: string): T {
  const v = inputs[name];
  if (v === undefined) throw new TypeError(`missing input "${name}"`);
  return v;
}

/** A float32 feed filled by `fill(i)`. */
export function floatFeed(shape: number[], fill: (i: number) => number): FeedTensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = fill(i);
  return { dtype: 'float32', shape, data };
}

/** An int64 feed filled by `fill(i)`. */
export function int64Feed(shape: number[], fill: (i: number) => number): FeedTensor {
  const data = new BigInt64Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = BigInt(fill(i));
  return { dtype: 'int64', shape, data };
}

/**
 * A random newest-first action sequence batch [rows, seqLen]: each row holds
 * a random number of real actions (types 1..5, increasing ages) then padding
 * (type 0, zero vectors, age -1). Used by sample inputs of sequence models.
 */
export function sampleSequences(
  rng: SeededRandom,
  rows: number,
  seqLen: number,
  dContent: number,
): { types: number[]; ages: number[]; vectors: Float32Array; lengths: number[] } {
  const types: number[] = [];
  const ages: number[] = [];
  const vectors = new Float32Array(rows * seqLen * dContent);
  const lengths: number[] = [];
  for (let r = 0; r < rows; r++) {
    const length = 1 + rng.int(seqLen);
    lengths.push(length);
    let age = rng.uniform(1, 600);
    for (let s = 0; s < seqLen; s++) {
      const real = s < length;
      types.push(real ? 1 + rng.int(5) : 0);
      ages.push(real ? age : -1);
      age += rng.uniform(5, 3600);
      if (real) for (let k = 0; k < dContent; k++) vectors[(r * seqLen + s) * dContent + k] = rng.normal() * 0.3;
    }
  }
  return { types, ages, vectors, lengths };
}
