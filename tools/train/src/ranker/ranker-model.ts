import type * as TF from '@tensorflow/tfjs';
import {
  TfOps,
  feedToTf,
  rankingHeads,
  rankingHeadsLite,
  transactEncoder,
  transactModelDim,
  type ModelSpec,
  type TransactEncoderHyperparams,
  type WeightStore,
} from '@pinrank/models';
import { type RankerBatch } from './batch';
import { type Compression, type ResolvedRankerOptions } from './options';

/** The models of one variant with their weight stores and TensorFlow.js ops. */
export interface RankerModel {
  /** transact_encoder (absent for the no-sequence variant). */
  encoder?: { spec: ModelSpec; store: WeightStore; ops: TfOps };
  /** ranking_heads or ranking_heads_lite. */
  heads: { spec: ModelSpec; store: WeightStore; ops: TfOps };
  compression: Compression;
}

/** The specs of a variant: transact_encoder + ranking_heads, or ranking_heads_lite alone. */
export function rankerSpecs(o: Pick<ResolvedRankerOptions, 'variant' | 'encoder' | 'heads'>): { encoder?: ModelSpec; heads: ModelSpec } {
  if (!o.variant.sequence) return { heads: rankingHeadsLite(o.heads) };
  const encoder = transactEncoder(o.encoder);
  const hp = encoder.hyperparams as TransactEncoderHyperparams;
  return { encoder, heads: rankingHeads({ dEncoded: (hp.firstK + 1) * transactModelDim(hp), ...o.heads }) };
}

/** Wraps stores into TfOps (training: variables, dropout on). */
export function rankerModel(
  specs: { encoder?: ModelSpec; heads: ModelSpec },
  stores: { encoder?: WeightStore; heads: WeightStore },
  compression: Compression,
  training: boolean,
): RankerModel {
  const mk = (store: WeightStore): TfOps => new TfOps(store, { trainable: training, training });
  return {
    ...(specs.encoder && stores.encoder ? { encoder: { spec: specs.encoder, store: stores.encoder, ops: mk(stores.encoder) } } : {}),
    heads: { spec: specs.heads, store: stores.heads, ops: mk(stores.heads) },
    compression,
  };
}

/**
 * The joint forward pass: transact_encoder → (output compression) →
 * ranking heads, or the lite heads alone. The compression ablations zero the
 * dropped part of `encoded` (the served graph keeps both parts).
 */
export function rankerForward(tf: typeof TF, m: RankerModel, batch: RankerBatch): TF.Tensor {
  const heads: Record<string, TF.Tensor> = Object.fromEntries(Object.entries(batch.heads).map(([k, v]) => [k, feedToTf(v)]));
  if (m.encoder) {
    const inputs = Object.fromEntries(Object.entries(batch.encoder).map(([k, v]) => [k, feedToTf(v)]));
    let encoded = m.encoder.spec.forward(m.encoder.ops, inputs)['encoded'] as TF.Tensor;
    if (m.compression !== 'pool+firstK') {
      const hp = m.encoder.spec.hyperparams as TransactEncoderHyperparams;
      const d = transactModelDim(hp);
      const keep = new Float32Array((hp.firstK + 1) * d);
      if (m.compression === 'pool') keep.fill(1, 0, d);
      else keep.fill(1, d);
      encoded = tf.mul(encoded, tf.tensor1d(keep));
    }
    heads['encoded'] = encoded;
  }
  return m.heads.spec.forward(m.heads.ops, heads)['probs'] as TF.Tensor;
}

/** Frees the variables of a model. */
export function disposeRankerModel(m: RankerModel): void {
  m.encoder?.ops.dispose();
  m.heads.ops.dispose();
}
