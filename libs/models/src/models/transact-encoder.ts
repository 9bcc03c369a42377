import { z } from 'zod';
import { keyMaskBias } from '../blocks/attention';
import { embedding, linear } from '../blocks/basic';
import { type TransformerBlockOptions, postNormBlock } from '../blocks/transformer';
import { type Ops } from '../ops/ops';
import {
  type ModelSpec,
  buildConfig,
  floatFeed,
  int64Feed,
  requireInput,
  sampleSequences,
} from './model-definition';
import { splitEncoderForward } from './transact-encoder-split';

/** Hyperparameters of transact_encoder, with their defaults (see docs/models.md for the choice). */
export const transactEncoderHyperparams = z
  .object({
    /** Action type vocabulary (proto ActionType ids; 0 = padding). */
    actionVocab: z.number().int().min(2).default(8),
    /** Action type embedding width. */
    dAction: z.number().int().min(1).default(32),
    /** Content vector width (sequence items and candidates). */
    dContent: z.number().int().min(1).default(32),
    heads: z.number().int().min(1).default(2),
    ffnDim: z.number().int().min(1).default(32),
    layers: z.number().int().min(1).default(2),
    /** Output rows kept besides the max-pool. */
    firstK: z.number().int().min(1).default(10),
    dropout: z.number().min(0).max(0.9).default(0.1),
    /**
     * How the graph is arranged; same weights, same function, not part of the
     * weights. "split" (the default since version 4): layer 0 split into
     * per-user and per-candidate parts, fused attention, Gemm-friendly rows
     * (see transact-encoder-split.ts). "gathered" (versions 1–3): the user's
     * rows gathered per candidate before layer 0.
     */
    form: z.enum(['split', 'gathered']).default('split'),
    /**
     * Gathered form only: compute the first projection as (sequence part per
     * user row) + (candidate part per candidate) instead of projecting the
     * per-candidate concatenation.
     */
    factorised: z.boolean().default(true),
  })
  .strict();
/** Resolved transact_encoder hyperparameters. */
export type TransactEncoderHyperparams = z.infer<typeof transactEncoderHyperparams>;

/**
 * Per-request bounds of transact_encoder: S up to the longest sequence the
 * feature-server serves, and attention work N×S×S up to one full batch at
 * the served length (4096 candidates × S 100): about 3 GB of activations on
 * CPU. Larger requests would cost seconds and gigabytes (S 1000 × 128 rows
 * took 11 s and 3.9 GB on one core).
 */
const TRANSACT_LIMITS = { axes: { S: 1000 }, work: { axes: ['N', 'S', 'S'], max: 4096 * 100 * 100 } };

/** Width of one fused row: action embedding + sequence item + candidate. */
export function transactModelDim(hp: TransactEncoderHyperparams): number {
  return hp.dAction + 2 * hp.dContent;
}

/**
 * TransAct encoder (heavy, GPU placement). Each user's sequence arrives once
 * as a user row; `cand_user_idx` names each candidate's row and the graph
 * gathers per candidate. Early fusion by concatenation, post-norm encoder
 * without positional encoding; rows with type 0 or a negative age are
 * excluded from attention keys, pooling and the first-K rows.
 */
export function transactEncoder(overrides: Record<string, unknown> = {}): ModelSpec {
  const hp = transactEncoderHyperparams.parse(overrides);
  const d = transactModelDim(hp);
  const outDim = (hp.firstK + 1) * d;
  const block: TransformerBlockOptions = { dModel: d, heads: hp.heads, ffnDim: hp.ffnDim, activation: 'relu', dropout: hp.dropout };
  const spec: ModelSpec = {
    name: 'transact_encoder',
    description: `TransAct realtime-sequence encoder: early fusion, ${hp.layers}-layer post-norm encoder (d ${d}, FFN ${hp.ffnDim}, ${hp.heads} heads), Linear(max-pool) + first ${hp.firstK} rows`,
    hyperparams: hp,
    graphFormHyperparams: ['form', 'factorised'],
    inputs: [
      { name: 'seq_action_types', dtype: 'int64', shape: ['U', 'S'] },
      { name: 'seq_item_vectors', dtype: 'float32', shape: ['U', 'S', hp.dContent] },
      { name: 'seq_ages_s', dtype: 'float32', shape: ['U', 'S'] },
      { name: 'cand_vectors', dtype: 'float32', shape: ['N', hp.dContent] },
      { name: 'cand_user_idx', dtype: 'int64', shape: ['N'] },
    ],
    outputs: [{ name: 'encoded', dtype: 'float32', shape: ['N', outDim] }],
    forward<T>(ops: Ops<T>, inputs: Readonly<Record<string, T>>): Record<string, T> {
      const types = requireInput(inputs, 'seq_action_types');
      const ages = requireInput(inputs, 'seq_ages_s');
      const cand = requireInput(inputs, 'cand_vectors');
      const idx = requireInput(inputs, 'cand_user_idx');
      if (hp.form === 'split') {
        const io = { types, ages, cand, idx, items: requireInput(inputs, 'seq_item_vectors') };
        return { encoded: splitEncoderForward(ops, io, hp, hp.dropout) };
      }
      // A row counts when it is a real action (type > 0) no later than the request (age >= 0).
      const userMask = ops.mul(ops.greater(ops.toFloat(types), ops.scalar(0)), ops.greaterOrEqual(ages, ops.scalar(0)));
      const seqRows = ops.concat(
        [embedding(ops, 'action_type', types, hp.actionVocab, hp.dAction), requireInput(inputs, 'seq_item_vectors')],
        -1,
      );
      const mask = ops.gather(userMask, idx); // [N, S]
      const bias = keyMaskBias(ops, mask);
      const seqPerCand = ops.gather(seqRows, idx); // [N, S, dAction + dContent]
      const x = ops.concat([seqPerCand, ops.broadcastLike(ops.expandDims(cand, 1), seqPerCand)], -1); // [N, S, d]
      let h = x;
      for (let l = 0; l < hp.layers; l++) {
        const prefix = `encoder.${l}`;
        const qkv = l === 0 && hp.factorised ? factorisedQkv(ops, `${prefix}.attn.qkv`, seqRows, cand, idx, hp) : undefined;
        h = postNormBlock(ops, prefix, h, bias, block, qkv);
      }
      const rowMask = ops.expandDims(mask, -1); // [N, S, 1]
      const kept = ops.mul(h, rowMask);
      // Max over real rows only; a candidate whose user has no real rows pools to zeros.
      const shifted = ops.add(kept, ops.mul(ops.sub(rowMask, ops.scalar(1)), ops.scalar(1e9)));
      const pooled = ops.mul(ops.reduceMax(shifted, 1, false), ops.reduceMax(mask, 1, true));
      // K zero rows appended first, so a sequence shorter than K still gives K rows (the missing ones zero).
      const zeroRows = ops.add(ops.mul(ops.slice(kept, 1, 0, 1), ops.scalar(0)), ops.constant(new Float32Array(hp.firstK * d), [1, hp.firstK, d]));
      const first = ops.reshape(ops.slice(ops.concat([kept, zeroRows], 1), 1, 0, hp.firstK), [0, hp.firstK * d]);
      return { encoded: ops.concat([linear(ops, 'pool_proj', pooled, d, d), first], -1) };
    },
    config(version, options = {}) {
      return buildConfig(spec, version, {
        placement: 'gpu',
        executionProviders: ['cuda', 'webgpu', 'cpu'],
        batching: {
          mode: 'user_rows',
          maxBatchSize: 4096,
          maxQueueDelayMs: 2,
          queueLimit: 64,
          userInputs: ['seq_action_types', 'seq_item_vectors', 'seq_ages_s'],
          indexInput: 'cand_user_idx',
        },
        warmup: { runs: 2, batchSize: 500 },
        inputValues: {
          seq_action_types: { min: 0, max: hp.actionVocab - 1 },
          cand_user_idx: { min: 0, indexOf: 'seq_action_types' },
        },
        limits: TRANSACT_LIMITS,
        description: spec.description,
        ...(options.pinnerformerVersion ? { pinnerformerVersion: options.pinnerformerVersion } : {}),
      });
    },
    sampleFeeds(rng, size) {
      const users = size.users ?? 1;
      const seqLen = size.seqLen ?? 100;
      const seq = sampleSequences(rng, users, seqLen, hp.dContent);
      return {
        seq_action_types: int64Feed([users, seqLen], (i) => seq.types[i]!),
        seq_item_vectors: { dtype: 'float32', shape: [users, seqLen, hp.dContent], data: seq.vectors },
        seq_ages_s: floatFeed([users, seqLen], (i) => seq.ages[i]!),
        cand_vectors: floatFeed([size.batch, hp.dContent], () => rng.normal() * 0.3),
        cand_user_idx: int64Feed([size.batch], (i) => i % users),
      };
    },
  };
  return spec;
}

/**
 * The first layer's qkv projection of concat(seq row, candidate), split by
 * rows of its weight: seqRows·W[:dSeq] once per user row (then gathered per
 * candidate) + (cand·W[dSeq:] + b) once per candidate, added by broadcast.
 */
function factorisedQkv<T>(ops: Ops<T>, prefix: string, seqRows: T, cand: T, idx: T, hp: TransactEncoderHyperparams): T {
  const d = transactModelDim(hp);
  const dSeq = hp.dAction + hp.dContent;
  const w = ops.param(`${prefix}.weight`, [d, 3 * d], { kind: 'glorot' });
  const b = ops.param(`${prefix}.bias`, [3 * d], { kind: 'zeros' });
  const seqPart = ops.gather(ops.matmul(seqRows, ops.slice(w, 0, 0, dSeq)), idx); // [N, S, 3d]
  const candPart = ops.add(ops.matmul(cand, ops.slice(w, 0, dSeq, d)), b); // [N, 3d]
  return ops.add(seqPart, ops.expandDims(candPart, 1));
}
