import { z } from 'zod';
import { causalBiasNewestFirst, keyMaskBias } from '../blocks/attention';
import { embedding, l2Normalize, layerNorm, linear, mlp } from '../blocks/basic';
import { preNormBlock } from '../blocks/transformer';
import { type Ops } from '../ops/ops';
import { type ModelSpec, buildConfig, floatFeed, int64Feed, requireInput, sampleSequences } from './model-definition';

/** Hyperparameters of the PinnerFormer user encoder, with their defaults (see docs/models.md). */
export const pinnerformerHyperparams = z
  .object({
    /** M: actions per user, newest first. */
    maxLen: z.number().int().min(2).default(128),
    dContent: z.number().int().min(1).default(32),
    actionVocab: z.number().int().min(2).default(8),
    surfaceVocab: z.number().int().min(1).default(8),
    dActionEmbedding: z.number().int().min(1).default(8),
    dSurfaceEmbedding: z.number().int().min(1).default(8),
    /** Periods (seconds) of the sin/cos time features, each with a learned phase. */
    periodsS: z.array(z.number().positive()).min(1).default([86_400, 604_800]),
    /** H: transformer width. */
    hidden: z.number().int().min(1).default(64),
    layers: z.number().int().min(1).default(2),
    heads: z.number().int().min(1).default(2),
    /** FFN width (4H in the published model). */
    ffnDim: z.number().int().min(1).default(256),
    /** D: embedding width. */
    outDim: z.number().int().min(1).default(64),
    dropout: z.number().min(0).max(0.9).default(0.1),
  })
  .strict();
/** Resolved PinnerFormer hyperparameters. */
export type PinnerformerHyperparams = z.infer<typeof pinnerformerHyperparams>;

/** Per-action feature width before the input projection. */
export function pinnerformerFeatureDim(hp: PinnerformerHyperparams): number {
  return hp.dContent + hp.dActionEmbedding + hp.dSurfaceEmbedding + 1 + 2 + 2 * hp.periodsS.length;
}

/**
 * The PinnerFormer output at every position, [B, M, D], L2-normalised.
 * Sequences are newest first (position 0 = newest), padded at the end; the
 * causal mask lets a position see itself and older actions only, which is
 * what makes the dense all-action loss legal in training.
 */
export function pinnerformerSequence<T>(ops: Ops<T>, inputs: Readonly<Record<string, T>>, hp: PinnerformerHyperparams): T {
  const types = requireInput(inputs, 'action_types');
  const ages = requireInput(inputs, 'ages_s');
  const M = hp.maxLen;
  const mask = ops.mul(ops.greater(ops.toFloat(types), ops.scalar(0)), ops.greaterOrEqual(ages, ops.scalar(0)));
  const hours = (t: T): T => ops.log(ops.add(ops.mul(ops.relu(t), ops.scalar(1 / 3600)), ops.scalar(1)));
  // Gap to the previous (older) action: the next position holds it; the last position has none.
  const older = ops.concat([ops.slice(ages, 1, 1, M), ops.slice(ages, 1, M - 1, M)], 1);
  const angle = ops.add(
    ops.mul(ops.expandDims(ages, -1), ops.constant(hp.periodsS.map((p) => (2 * Math.PI) / p), [hp.periodsS.length])),
    ops.param('time.phase', [hp.periodsS.length], { kind: 'uniform', low: 0, high: 2 * Math.PI }),
  );
  const features = ops.concat(
    [
      requireInput(inputs, 'item_vectors'),
      embedding(ops, 'action_type', types, hp.actionVocab, hp.dActionEmbedding),
      embedding(ops, 'surface', requireInput(inputs, 'surfaces'), hp.surfaceVocab, hp.dSurfaceEmbedding),
      ops.expandDims(requireInput(inputs, 'log_durations'), -1),
      ops.expandDims(hours(ages), -1),
      ops.expandDims(hours(ops.sub(older, ages)), -1),
      ops.sin(angle),
      ops.cos(angle),
    ],
    -1,
  );
  let h = ops.add(
    linear(ops, 'input_proj', features, pinnerformerFeatureDim(hp), hp.hidden),
    ops.param('position.table', [M, hp.hidden], { kind: 'normal', std: 0.02 }),
  );
  const bias = ops.add(keyMaskBias(ops, mask), causalBiasNewestFirst(ops, M));
  const block = { dModel: hp.hidden, heads: hp.heads, ffnDim: hp.ffnDim, activation: 'gelu' as const, dropout: hp.dropout };
  for (let l = 0; l < hp.layers; l++) h = preNormBlock(ops, `encoder.${l}`, h, bias, block);
  h = layerNorm(ops, 'out_norm', h, hp.hidden);
  return l2Normalize(ops, mlp(ops, 'out_mlp', h, [hp.hidden, hp.hidden, hp.outDim], 'gelu'));
}

/** PinnerFormer user encoder (batch, CPU placement): the newest position's output is the user embedding. */
export function pinnerformer(overrides: Record<string, unknown> = {}): ModelSpec {
  const hp = pinnerformerHyperparams.parse(overrides);
  const M = hp.maxLen;
  const spec: ModelSpec = {
    name: 'pinnerformer',
    description: `PinnerFormer user encoder: causal pre-norm transformer (M ${M}, H ${hp.hidden}, L ${hp.layers}, D ${hp.outDim}) over newest-first actions`,
    hyperparams: hp,
    inputs: [
      { name: 'action_types', dtype: 'int64', shape: ['B', M] },
      { name: 'item_vectors', dtype: 'float32', shape: ['B', M, hp.dContent] },
      { name: 'surfaces', dtype: 'int64', shape: ['B', M] },
      { name: 'log_durations', dtype: 'float32', shape: ['B', M] },
      { name: 'ages_s', dtype: 'float32', shape: ['B', M] },
    ],
    outputs: [{ name: 'user_embedding', dtype: 'float32', shape: ['B', hp.outDim] }],
    forward<T>(ops: Ops<T>, inputs: Readonly<Record<string, T>>): Record<string, T> {
      const all = pinnerformerSequence(ops, inputs, hp);
      return { user_embedding: ops.reshape(ops.slice(all, 1, 0, 1), [0, hp.outDim]) };
    },
    config(version, options = {}) {
      return buildConfig(spec, version, {
        placement: 'cpu',
        executionProviders: ['cpu'],
        batching: { mode: 'concat', maxBatchSize: 256, maxQueueDelayMs: 5, queueLimit: 64, userInputs: [] },
        warmup: { runs: 1, batchSize: 8 },
        inputValues: {
          action_types: { min: 0, max: hp.actionVocab - 1 },
          surfaces: { min: 0, max: hp.surfaceVocab - 1 },
        },
        description: spec.description,
        ...(options.pinnerformerVersion ? { pinnerformerVersion: options.pinnerformerVersion } : {}),
      });
    },
    sampleFeeds(rng, size) {
      const seq = sampleSequences(rng, size.batch, M, hp.dContent);
      return {
        action_types: int64Feed([size.batch, M], (i) => seq.types[i]!),
        item_vectors: { dtype: 'float32', shape: [size.batch, M, hp.dContent], data: seq.vectors },
        surfaces: int64Feed([size.batch, M], (i) => (seq.types[i] ? rng.int(Math.min(5, hp.surfaceVocab)) : 0)),
        log_durations: floatFeed([size.batch, M], (i) => (seq.types[i] ? Math.log1p(rng.uniform(0, 120)) : 0)),
        ages_s: floatFeed([size.batch, M], (i) => seq.ages[i]!),
      };
    },
  };
  return spec;
}

/** Hyperparameters of the PinnerFormer item tower. */
export const pinnerformerItemHyperparams = z
  .object({
    dContent: z.number().int().min(1).default(32),
    hidden: z.number().int().min(1).default(64),
    outDim: z.number().int().min(1).default(64),
  })
  .strict();

/** PinnerFormer item tower (CPU placement): MLP over the content vector, L2-normalised. */
export function pinnerformerItem(overrides: Record<string, unknown> = {}): ModelSpec {
  const hp = pinnerformerItemHyperparams.parse(overrides);
  const spec: ModelSpec = {
    name: 'pinnerformer_item',
    description: `PinnerFormer item tower: MLP ${hp.dContent}→${hp.hidden}→${hp.outDim} over the content vector, L2-normalised`,
    hyperparams: hp,
    inputs: [{ name: 'item_vectors', dtype: 'float32', shape: ['N', hp.dContent] }],
    outputs: [{ name: 'item_embedding', dtype: 'float32', shape: ['N', hp.outDim] }],
    forward<T>(ops: Ops<T>, inputs: Readonly<Record<string, T>>): Record<string, T> {
      const h = mlp(ops, 'tower', requireInput(inputs, 'item_vectors'), [hp.dContent, hp.hidden, hp.outDim], 'gelu');
      return { item_embedding: l2Normalize(ops, h) };
    },
    config(version, options = {}) {
      return buildConfig(spec, version, {
        placement: 'cpu',
        executionProviders: ['cpu'],
        batching: { mode: 'concat', maxBatchSize: 8192, maxQueueDelayMs: 2, queueLimit: 64, userInputs: [] },
        warmup: { runs: 1, batchSize: 64 },
        description: spec.description,
        ...(options.pinnerformerVersion ? { pinnerformerVersion: options.pinnerformerVersion } : {}),
      });
    },
    sampleFeeds(rng, size) {
      return { item_vectors: floatFeed([size.batch, hp.dContent], () => rng.normal() * 0.3) };
    },
  };
  return spec;
}
