import * as tf from '@tensorflow/tfjs';
import { randomValues } from '../src/testing/reference';

/** Sizes of the benchmark block (TransAct: S=100, d 96 = action 32 + item 32 + candidate 32, FFN 32). */
export interface BlockSizes {
  batch: number;
  seqLen: number;
  heads: number;
  layers: number;
  ffn: number;
  firstK: number;
  numActions: number;
  numItems: number;
}

/** The sizes the benchmark uses unless told otherwise. */
export const DEFAULT_SIZES: BlockSizes = {
  batch: 128,
  seqLen: 100,
  heads: 2,
  layers: 2,
  ffn: 32,
  firstK: 10,
  numActions: 16,
  numItems: 4000,
};

const PART = 32;
const D_MODEL = 3 * PART;

/** One training batch: action/item ids per position, candidate ids, and the key padding bias. */
export interface Batch {
  actions: tf.Tensor2D;
  items: tf.Tensor2D;
  candidates: tf.Tensor1D;
  keyBias: tf.Tensor4D;
}

let seed = 1;
function param(shape: number[], scale: number): tf.Variable {
  const count = shape.reduce((a, b) => a * b, 1);
  const values = randomValues(count, seed++).map((v) => v * scale);
  return ownedVariable(tf.tensor(values, shape, 'float32'));
}

/** A variable that does not keep its initial tensor alive. */
function ownedVariable(initial: tf.Tensor): tf.Variable {
  const v = tf.variable(initial);
  initial.dispose();
  return v;
}

function ids(count: number, max: number, s: number): Int32Array {
  return Int32Array.from(randomValues(count, s), (v) => Math.floor(((v + 1) / 2) * max) % max);
}

/** A deterministic synthetic batch with sequences of random length (the rest is padding). */
export function makeBatch(sizes: BlockSizes): Batch {
  const { batch, seqLen } = sizes;
  const lengths = ids(batch, seqLen, 99).map((l) => Math.max(1, l));
  const bias = new Float32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) for (let s = lengths[b] ?? seqLen; s < seqLen; s++) bias[b * seqLen + s] = -1e9;
  return {
    actions: tf.tensor2d(ids(batch * seqLen, sizes.numActions, 97), [batch, seqLen], 'int32'),
    items: tf.tensor2d(ids(batch * seqLen, sizes.numItems, 98), [batch, seqLen], 'int32'),
    candidates: tf.tensor1d(ids(batch, sizes.numItems, 96), 'int32'),
    keyBias: tf.tensor4d(bias, [batch, 1, 1, seqLen]),
  };
}

interface LayerParams {
  wQkv: tf.Variable;
  bQkv: tf.Variable;
  wOut: tf.Variable;
  bOut: tf.Variable;
  ln1: [tf.Variable, tf.Variable];
  w1: tf.Variable;
  b1: tf.Variable;
  w2: tf.Variable;
  b2: tf.Variable;
  ln2: [tf.Variable, tf.Variable];
}

/** The block's trainable variables. */
export interface BlockParams {
  actionTable: tf.Variable;
  itemTable: tf.Variable;
  layers: LayerParams[];
  wPool: tf.Variable;
  wUser: tf.Variable;
}

/** Creates the variables with fixed pseudo-random initial values. */
export function createParams(sizes: BlockSizes): BlockParams {
  seed = 1;
  const norm = (): [tf.Variable, tf.Variable] => [ownedVariable(tf.ones([D_MODEL])), ownedVariable(tf.zeros([D_MODEL]))];
  const layers = Array.from({ length: sizes.layers }, () => ({
    wQkv: param([D_MODEL, 3 * D_MODEL], 0.15),
    bQkv: param([3 * D_MODEL], 0.01),
    wOut: param([D_MODEL, D_MODEL], 0.15),
    bOut: param([D_MODEL], 0.01),
    ln1: norm(),
    w1: param([D_MODEL, sizes.ffn], 0.15),
    b1: param([sizes.ffn], 0.01),
    w2: param([sizes.ffn, D_MODEL], 0.3),
    b2: param([D_MODEL], 0.01),
    ln2: norm(),
  }));
  return {
    actionTable: param([sizes.numActions, PART], 0.5),
    itemTable: param([sizes.numItems, PART], 0.5),
    layers,
    wPool: param([D_MODEL, D_MODEL], 0.15),
    wUser: param([(sizes.firstK + 1) * D_MODEL, PART], 0.05),
  };
}

/** Every variable of the block, in a fixed order. */
export function allVariables(p: BlockParams): tf.Variable[] {
  const layerVars = p.layers.flatMap((l) => [l.wQkv, l.bQkv, l.wOut, l.bOut, ...l.ln1, l.w1, l.b1, l.w2, l.b2, ...l.ln2]);
  return [p.actionTable, p.itemTable, ...layerVars, p.wPool, p.wUser];
}

function dense(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const rows = x.reshape([-1, x.shape[x.rank - 1] ?? 1]);
  const y = tf.matMul(rows, w);
  return (b != null ? tf.add(y, b) : y).reshape([...x.shape.slice(0, -1), w.shape[1] ?? 1]);
}

function layerNorm(x: tf.Tensor, [gamma, beta]: [tf.Tensor, tf.Tensor]): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
}

function encoderLayer(x: tf.Tensor, l: LayerParams, keyBias: tf.Tensor, sizes: BlockSizes): tf.Tensor {
  const { batch, seqLen, heads } = sizes;
  const dh = D_MODEL / heads;
  const toHeads = (t: tf.Tensor): tf.Tensor => t.reshape([batch, seqLen, heads, dh]).transpose([0, 2, 1, 3]);
  const [q, k, v] = tf.split(dense(x, l.wQkv, l.bQkv), 3, -1).map(toHeads) as [tf.Tensor, tf.Tensor, tf.Tensor];
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), keyBias);
  const context = tf.matMul(tf.softmax(scores), v).transpose([0, 2, 1, 3]).reshape([batch, seqLen, D_MODEL]);
  const h = layerNorm(tf.add(x, dense(context, l.wOut, l.bOut)), l.ln1);
  const ffn = dense(tf.relu(dense(h, l.w1, l.b1)), l.w2, l.b2);
  return layerNorm(tf.add(h, ffn), l.ln2);
}

/** log Σ exp over the last axis: `tf.logSumExp` for the stock run, the custom-gradient one for the fast run. */
export type LogSumExp = (x: tf.Tensor, axis: number) => tf.Tensor;

/**
 * Forward pass and loss: embeddings by gather, early fusion with the candidate (tiled along the
 * sequence), post-norm encoder layers, first-K rows + max-pool, and an in-batch softmax loss.
 */
export function blockLoss(p: BlockParams, data: Batch, sizes: BlockSizes, lse: LogSumExp): tf.Scalar {
  const { batch, seqLen, firstK } = sizes;
  const candidate = tf.gather(p.itemTable, data.candidates);
  const rows = tf.concat(
    [
      tf.gather(p.actionTable, data.actions),
      tf.gather(p.itemTable, data.items),
      tf.tile(candidate.reshape([batch, 1, PART]), [1, seqLen, 1]),
    ],
    -1,
  );
  let x = rows;
  for (const l of p.layers) x = encoderLayer(x, l, data.keyBias, sizes);
  const pooled = dense(tf.max(x, 1), p.wPool);
  const first = tf.slice(x, [0, 0, 0], [batch, firstK, D_MODEL]).reshape([batch, firstK * D_MODEL]);
  const user = dense(tf.concat([pooled, first], -1), p.wUser);
  const logits = tf.matMul(user, candidate, false, true);
  const positive = tf.sum(tf.mul(user, candidate), -1);
  return tf.mean(tf.sub(lse(logits, -1), positive)) as tf.Scalar;
}
