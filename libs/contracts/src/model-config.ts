import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ContractError } from './contract-error';
import { parseWith } from './schema-errors';

/** Element types a model tensor may have. */
export const TENSOR_DTYPES = ['float32', 'int64', 'int32', 'float64', 'bool'] as const;
/** Element type of a model tensor. */
export type TensorDType = (typeof TENSOR_DTYPES)[number];

/** Execution providers pinrank knows, in the order of the published preference. */
export const EXECUTION_PROVIDERS = ['webgpu', 'cuda', 'cpu'] as const;
/** An ONNX Runtime execution provider name. */
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be 1-64 characters of a-z, 0-9 and _, starting with a letter');
const version = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -');

const valueDomainSchema = z
  .object({
    min: z.number().int('must be an integer').optional(),
    max: z.number().int('must be an integer').optional(),
    indexOf: z.string().min(1).optional(),
  })
  .strict()
  .refine((v) => v.min === undefined || v.max === undefined || v.min <= v.max, 'min must be <= max');

const tensorSpecSchema = z
  .object({
    name: z.string().min(1, 'must not be empty'),
    dtype: z.enum(TENSOR_DTYPES, { error: `must be one of ${TENSOR_DTYPES.join(', ')}` }),
    shape: z
      .array(z.number().int().min(-1, 'dimensions are >= 1, or -1 for a dynamic axis').refine((d) => d !== 0, 'a dimension of 0 is not allowed'))
      .min(1, 'must have at least one dimension'),
    values: valueDomainSchema.optional(),
  })
  .strict();

const axisName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/, 'axis names are the model\'s symbolic dimension names (letters, digits, _)');

const limitsSchema = z
  .object({
    axes: z.record(axisName, z.number().int().min(1, 'must be an integer >= 1')).default({}),
    work: z
      .object({
        axes: z.array(axisName).min(1, 'name at least one axis'),
        max: z.number().int().min(1, 'must be an integer >= 1'),
      })
      .strict()
      .optional(),
  })
  .strict();

const batchingSchema = z
  .object({
    mode: z.enum(['none', 'concat', 'user_rows'], { error: 'must be none, concat or user_rows' }),
    maxBatchSize: z.number().int().min(1, 'must be an integer >= 1'),
    maxQueueDelayMs: z.number().min(0, 'must be >= 0').max(1000, 'must be <= 1000 ms'),
    queueLimit: z.number().int().min(1, 'must be an integer >= 1'),
    userInputs: z.array(z.string().min(1)).default([]),
    indexInput: z.string().min(1).optional(),
  })
  .strict();

const modelConfigSchema = z
  .object({
    name,
    version,
    platform: z.literal('onnxruntime_onnx', { error: 'must be "onnxruntime_onnx"' }),
    inputs: z.array(tensorSpecSchema).min(1, 'a model needs at least one input'),
    outputs: z.array(tensorSpecSchema).min(1, 'a model needs at least one output'),
    placement: z.enum(['gpu', 'cpu'], { error: 'must be gpu or cpu' }),
    executionProviders: z
      .array(z.enum(EXECUTION_PROVIDERS, { error: `must be one of ${EXECUTION_PROVIDERS.join(', ')}` }))
      .min(1, 'name at least one execution provider (cpu is always available)'),
    batching: batchingSchema,
    // Synthetic runs before the version reports ready: `runs` at each of `batchSizes` (or the one `batchSize`) rows.
    warmup: z
      .object({ runs: z.number().int().min(0).max(100), batchSize: z.number().int().min(1), batchSizes: z.array(z.number().int().min(1)).min(1).max(16).optional() })
      .strict()
      .default({ runs: 1, batchSize: 1 }),
    pinnerformerVersion: version.optional(),
    heads: z.array(z.string().min(1)).min(1).optional(),
    limits: limitsSchema.optional(),
    description: z.string().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const inputNames = new Set<string>();
    c.inputs.forEach((t, i) => {
      if (inputNames.has(t.name)) ctx.addIssue({ code: 'custom', path: ['inputs', i, 'name'], message: `duplicate input name "${t.name}"` });
      inputNames.add(t.name);
    });
    const outputNames = new Set<string>();
    c.outputs.forEach((t, i) => {
      if (outputNames.has(t.name)) ctx.addIssue({ code: 'custom', path: ['outputs', i, 'name'], message: `duplicate output name "${t.name}"` });
      outputNames.add(t.name);
    });
    c.batching.userInputs.forEach((n, i) => {
      if (!inputNames.has(n)) ctx.addIssue({ code: 'custom', path: ['batching', 'userInputs', i], message: `"${n}" is not one of the model's inputs` });
    });
    if (c.batching.mode === 'user_rows') {
      if (!c.batching.indexInput)
        ctx.addIssue({ code: 'custom', path: ['batching', 'indexInput'], message: 'user_rows batching needs indexInput (the int64 input naming each row\'s user)' });
      else if (!inputNames.has(c.batching.indexInput))
        ctx.addIssue({ code: 'custom', path: ['batching', 'indexInput'], message: `"${c.batching.indexInput}" is not one of the model's inputs` });
      if (c.batching.userInputs.length === 0)
        ctx.addIssue({ code: 'custom', path: ['batching', 'userInputs'], message: 'user_rows batching needs at least one user input' });
    }
    c.inputs.forEach((t, i) => {
      if (!t.values) return;
      if (t.dtype !== 'int64' && t.dtype !== 'int32')
        ctx.addIssue({ code: 'custom', path: ['inputs', i, 'values'], message: `value domains apply to integer inputs; "${t.name}" is ${t.dtype}` });
      if (t.values.indexOf !== undefined && !inputNames.has(t.values.indexOf))
        ctx.addIssue({ code: 'custom', path: ['inputs', i, 'values', 'indexOf'], message: `"${t.values.indexOf}" is not one of the model's inputs` });
    });
    if (c.heads && c.outputs[0] && c.outputs[0].shape.length !== 2)
      ctx.addIssue({ code: 'custom', path: ['outputs', 0, 'shape'], message: 'a heads model has a 2-D output [N, heads]' });
  });

/** One input or output of a model: name, element type and shape (-1 marks a dynamic axis). */
export type TensorSpec = z.infer<typeof tensorSpecSchema>;
/**
 * The values an integer input may hold in one request: `min`..`max`
 * (inclusive), and with `indexOf` a row index of that input's axis 0.
 */
export type ValueDomain = z.infer<typeof valueDomainSchema>;
/**
 * Per-request bounds by the model's symbolic axis names: the longest each
 * axis may be, and the most work (product of axis lengths) one request or
 * one batch may ask for.
 */
export type RequestLimitsConfig = z.infer<typeof limitsSchema>;
/** How the dynamic batcher stacks requests for this model. */
export type BatchingConfig = z.infer<typeof batchingSchema>;
/** The config of one model version (`<model>/<version>/config.json`); see docs/formats.md. */
export type ModelConfig = z.infer<typeof modelConfigSchema>;

/**
 * Validates a model config object. Thrown by: every field that is missing,
 * of the wrong type, out of range, or inconsistent (duplicate tensor names,
 * batching inputs that the model does not have) — as a ContractError naming it.
 */
export function parseModelConfig(json: unknown, source: string): ModelConfig {
  return parseWith(modelConfigSchema, json, source);
}

/** Reads and validates a `config.json` file. */
export async function loadModelConfig(path: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ContractError('cannot read model config', path, undefined, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ContractError(`not valid JSON: ${(cause as Error).message}`, path, undefined, { cause });
  }
  return parseModelConfig(json, path);
}
