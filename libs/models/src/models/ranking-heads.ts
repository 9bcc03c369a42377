import { z } from 'zod';
import { cosine, layerNorm, linear, mlp } from '../blocks/basic';
import { crossNetwork } from '../blocks/dcn';
import { type Ops } from '../ops/ops';
import { type ModelName, type ModelSpec, buildConfig, floatFeed, requireInput } from './model-definition';

/** Hyperparameters of ranking_heads and ranking_heads_lite, with their defaults (see docs/models.md). */
export const rankingHeadsHyperparams = z
  .object({
    /** Width of transact_encoder's output; 0 for the lite model (no sequence features). */
    dEncoded: z.number().int().min(0).default(1056),
    dPinnerformer: z.number().int().min(1).default(64),
    dDense: z.number().int().min(0).default(4),
    crossLayers: z.number().int().min(0).default(2),
    /** Rank of the cross layers' matrices; null for full rank. */
    crossRank: z.number().int().min(1).nullable().default(32),
    /** Hidden widths of the MLP after the cross layers. */
    mlpDims: z.array(z.number().int().min(1)).default([128, 64]),
    /** Output columns, in order (one sigmoid each). */
    heads: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/)).min(1).default(['save', 'click', 'hide']),
  })
  .strict();
/** Resolved ranking heads hyperparameters. */
export type RankingHeadsHyperparams = z.infer<typeof rankingHeadsHyperparams>;

/** Width of the heads' input row: [LN(encoded)], user vector, item vector, their cosine, dense features. */
export function rankingHeadsInputDim(hp: RankingHeadsHyperparams): number {
  return hp.dEncoded + 2 * hp.dPinnerformer + 1 + hp.dDense;
}

/** ranking_heads (CPU placement): sequence features + PinnerFormer vectors → DCN v2 → MLP → one sigmoid per head. */
export function rankingHeads(overrides: Record<string, unknown> = {}): ModelSpec {
  return defineHeads('ranking_heads', rankingHeadsHyperparams.parse(overrides));
}

/** ranking_heads_lite (CPU placement): the same without sequence features (degraded serving, no-sequence baseline). */
export function rankingHeadsLite(overrides: Record<string, unknown> = {}): ModelSpec {
  return defineHeads('ranking_heads_lite', rankingHeadsHyperparams.parse({ dEncoded: 0, crossRank: null, ...overrides }));
}

function defineHeads(name: ModelName, hp: RankingHeadsHyperparams): ModelSpec {
  if (name === 'ranking_heads' && hp.dEncoded === 0) throw new TypeError('ranking_heads needs dEncoded > 0 (use ranking_heads_lite)');
  if (name === 'ranking_heads_lite' && hp.dEncoded !== 0) throw new TypeError('ranking_heads_lite takes no sequence features (dEncoded 0)');
  const dIn = rankingHeadsInputDim(hp);
  const withSequence = hp.dEncoded > 0;
  const pfInputs = [
    { name: 'user_pf', dtype: 'float32' as const, shape: ['N', hp.dPinnerformer] },
    { name: 'item_pf', dtype: 'float32' as const, shape: ['N', hp.dPinnerformer] },
    { name: 'dense_features', dtype: 'float32' as const, shape: ['N', hp.dDense] },
  ];
  const spec: ModelSpec = {
    name,
    description: `${withSequence ? 'Ranking heads' : 'Ranking heads without sequence features'}: ${hp.crossLayers} DCN v2 cross layers (${hp.crossRank === null ? 'full rank' : `rank ${hp.crossRank}`}) over ${dIn} features → MLP [${hp.mlpDims.join(', ')}] → sigmoid per head`,
    hyperparams: hp,
    inputs: withSequence ? [{ name: 'encoded', dtype: 'float32', shape: ['N', hp.dEncoded] }, ...pfInputs] : pfInputs,
    outputs: [{ name: 'probs', dtype: 'float32', shape: ['N', hp.heads.length] }],
    forward<T>(ops: Ops<T>, inputs: Readonly<Record<string, T>>): Record<string, T> {
      const user = requireInput(inputs, 'user_pf');
      const item = requireInput(inputs, 'item_pf');
      const parts = [user, item, cosine(ops, user, item), requireInput(inputs, 'dense_features')];
      if (withSequence) parts.unshift(layerNorm(ops, 'encoded_norm', requireInput(inputs, 'encoded'), hp.dEncoded));
      const x0 = ops.concat(parts, -1);
      const crossed = crossNetwork(ops, 'cross', x0, dIn, hp.crossLayers, hp.crossRank ?? undefined);
      const hidden = mlp(ops, 'mlp', crossed, [dIn, ...hp.mlpDims], 'relu', 'relu');
      const lastDim = hp.mlpDims[hp.mlpDims.length - 1] ?? dIn;
      return { probs: ops.sigmoid(linear(ops, 'heads', hidden, lastDim, hp.heads.length)) };
    },
    config(version, options = {}) {
      return buildConfig(spec, version, {
        placement: 'cpu',
        executionProviders: ['cpu'],
        batching: { mode: 'concat', maxBatchSize: 4096, maxQueueDelayMs: 1, queueLimit: 128, userInputs: [] },
        warmup: { runs: 2, batchSize: 500 },
        heads: hp.heads,
        description: spec.description,
        ...(options.pinnerformerVersion ? { pinnerformerVersion: options.pinnerformerVersion } : {}),
      });
    },
    sampleFeeds(rng, size) {
      const unit = (): ((i: number) => number) => {
        const raw = Array.from({ length: size.batch * hp.dPinnerformer }, () => rng.normal());
        return (i) => {
          const row = Math.floor(i / hp.dPinnerformer) * hp.dPinnerformer;
          const norm = Math.hypot(...raw.slice(row, row + hp.dPinnerformer));
          return raw[i]! / norm;
        };
      };
      const feeds = {
        user_pf: floatFeed([size.batch, hp.dPinnerformer], unit()),
        item_pf: floatFeed([size.batch, hp.dPinnerformer], unit()),
        dense_features: floatFeed([size.batch, hp.dDense], () => rng.uniform(0, 2)),
      };
      return withSequence ? { encoded: floatFeed([size.batch, hp.dEncoded], () => rng.normal()), ...feeds } : feeds;
    },
  };
  return spec;
}
