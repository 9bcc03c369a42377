import { type Ops } from '../ops/ops';
import { type Activation, layerNorm, mlp } from './basic';
import { type AttentionOptions, multiHeadAttention } from './attention';

/** Shape of one transformer block. */
export interface TransformerBlockOptions extends AttentionOptions {
  ffnDim: number;
  activation: Activation;
  /** Layer norm epsilon. Default 1e-5 (the PyTorch default). */
  eps?: number;
}

/**
 * Post-norm transformer block (the PyTorch TransformerEncoderLayer default):
 * x = LN1(x + MHA(x)); x = LN2(x + FFN(x)). `qkv` optionally replaces the
 * first projection (used for the factorised early-fusion projection).
 */
export function postNormBlock<T>(ops: Ops<T>, prefix: string, x: T, bias: T, options: TransformerBlockOptions, qkv?: T): T {
  const { dModel: d, ffnDim, activation, dropout = 0, eps = 1e-5 } = options;
  const attended = ops.dropout(multiHeadAttention(ops, `${prefix}.attn`, x, bias, options, qkv), dropout);
  const h = layerNorm(ops, `${prefix}.ln1`, ops.add(x, attended), d, eps);
  const fed = ops.dropout(mlp(ops, `${prefix}.ffn`, h, [d, ffnDim, d], activation), dropout);
  return layerNorm(ops, `${prefix}.ln2`, ops.add(h, fed), d, eps);
}

/** Pre-norm transformer block: x = x + MHA(LN1(x)); x = x + FFN(LN2(x)). */
export function preNormBlock<T>(ops: Ops<T>, prefix: string, x: T, bias: T, options: TransformerBlockOptions): T {
  const { dModel: d, ffnDim, activation, dropout = 0, eps = 1e-5 } = options;
  const attended = multiHeadAttention(ops, `${prefix}.attn`, layerNorm(ops, `${prefix}.ln1`, x, d, eps), bias, options);
  const h = ops.add(x, ops.dropout(attended, dropout));
  const fed = mlp(ops, `${prefix}.ffn`, layerNorm(ops, `${prefix}.ln2`, h, d, eps), [d, ffnDim, d], activation);
  return ops.add(h, ops.dropout(fed, dropout));
}
