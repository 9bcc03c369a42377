import { embedding, layerNorm, linear } from '../blocks/basic';
import { MASK_NEGATIVE, type Ops } from '../ops/ops';

/** The sizes the split encoder needs (a subset of TransactEncoderHyperparams). */
export interface SplitEncoderShape {
  actionVocab: number;
  dAction: number;
  dContent: number;
  heads: number;
  ffnDim: number;
  layers: number;
  firstK: number;
}

/** transact_encoder's inputs, by role. */
export interface EncoderInputs<T> {
  /** seq_action_types [U,S] */
  types: T;
  /** seq_item_vectors [U,S,dContent] */
  items: T;
  /** seq_ages_s [U,S] */
  ages: T;
  /** cand_vectors [N,dContent] */
  cand: T;
  /** cand_user_idx [N] */
  idx: T;
}

/**
 * The "split" form of transact_encoder: the same function as the gathered
 * form (same parameters, same outputs up to float rounding), arranged so
 * that work that depends only on the user is done once per user row and so
 * that ONNX Runtime's CPU kernels see few, large operations.
 *
 * Layer 0 (its input is concat(sequence row, candidate)): with q = q_s + q_c,
 * k = k_s + k_c, v = v_s + v_c (sequence part per user row, candidate part per
 * candidate), the score of query i on key j is q_s,i·k_s,j + q_c·k_s,j plus
 * terms that do not depend on j and cancel in the softmax, and the weights
 * sum to one, so
 *
 *   out_i = Σ_j E_ij w_j v_s,j / Σ_j E_ij w_j + v_c,   E_ij = exp(A_ij − max_j A_ij),  w_j = exp(c_j − max_j c_j)
 *
 * with A = q_s k_sᵀ/√dh per user row ([U,H,S,S], masked keys at −1e9 so E is 0
 * there) and c_j = q_c·k_s,j/√dh per candidate ([N,H,S]). Per candidate only one
 * product E·[w⊙v_s | w] remains (`gatherCombine`: the user's E is broadcast, not
 * copied, when the batch has one user row); no per-candidate q/k/v, scores or
 * softmax exist. Numerically, E_ij·w_j ≥ exp(−gap) where gap = max A_i + max c −
 * max(A_i + c) is how far the two maxima are apart; float32 keeps full relative
 * precision while gap < ~80 (docs/models.md: measured agreement with the
 * gathered form on simulator data); the
 * denominator gets 1e-30 so even a total underflow stays finite.
 *
 * Trailing rows that are padding for every user row in the call are cut
 * first (`Ops.trimPadding`): they are never keys and their outputs are
 * dropped, so a short sequence costs its length, not S.
 *
 * Every layer: matrix products on [N·S, d] rows so ONNX Runtime turns them into
 * Gemm with the residual as its C input (the output-projection and second FFN
 * biases are folded into the preceding LayerNorm's beta, and the products that
 * read that output get `b − b_fold·W` as their bias); plain LayerNormalization
 * (ONNX Runtime's SkipLayerNormalization fusion of Add + LayerNorm is slower on
 * CPU); layers ≥ 1 use the fused attention op (`Ops.attention`). The pooled and
 * first-K outputs read the masks per user row and touch only K rows for first-K.
 *
 * Training note: layer 0 forms no attention weights, so it has no attention
 * dropout, and the sublayer dropouts act on the inputs of the output and
 * second FFN products (so each product and its residual stay one Gemm).
 */
export function splitEncoderForward<T>(ops: Ops<T>, io: EncoderInputs<T>, hp: SplitEncoderShape, dropout: number): T {
  const dSeq = hp.dAction + hp.dContent;
  const d = dSeq + hp.dContent;
  const { cand, idx } = io;
  const param = (name: string, shape: number[], init: 'glorot' | 'zeros' | 'ones' = 'zeros'): T => ops.param(name, shape, { kind: init });
  // A row counts when it is a real action (type > 0) no later than the request (age >= 0); 0 / −1e9 as a key bias.
  const realRows = ops.mul(ops.greater(ops.toFloat(io.types), ops.scalar(0)), ops.greaterOrEqual(io.ages, ops.scalar(0))); // [U,S]
  const allRows = ops.concat([embedding(ops, 'action_type', io.types, hp.actionVocab, hp.dAction), io.items], -1); // [U,S,dSeq]
  // Rows after every user's last real row influence nothing (they are no key, and their outputs are dropped): cut them.
  const [seqRows, userMask] = ops.trimPadding([allRows, realRows], realRows) as [T, T]; // [U,S′,dSeq], [U,S′]
  const userBias = ops.mul(ops.sub(ops.scalar(1), userMask), ops.scalar(MASK_NEGATIVE)); // [U,S′]
  const rows = (t: T): T => ops.reshape(t, [-1, d]); // [N·S, d]

  // Layer 0: attention split into per-user and per-candidate parts; its constant-per-candidate terms join the residual.
  const first = splitFirstAttention(ops, 'encoder.0.attn', seqRows, cand, idx, userBias, hp);
  const out0 = (name: string, shape: number[]): T => param(`encoder.0.attn.out.${name}`, shape, name === 'weight' ? 'glorot' : 'zeros');
  const candConst = ops.add(ops.matmul(first.candValue, out0('weight', [d, d])), out0('bias', [d])); // [N,d]
  // Residual x0 + candConst, x0 = concat(sequence row, candidate): [sequence row, 0] per user row + [0, candidate] + candConst per candidate.
  // Zeros shaped like `like` on every axis but the last (constants broadcast, so no gradient path runs through them).
  const zeros = (like: T, width: number, rank: number): T => ops.broadcastLike(ops.constant(new Float32Array(width), [...new Array<number>(rank - 1).fill(1), width]), like);
  const seqPadded = ops.concat([seqRows, zeros(seqRows, hp.dContent, 3)], -1); // [U,S′,d]
  const candPadded = ops.add(ops.concat([zeros(cand, dSeq, 2), cand], -1), candConst); // [N,d]
  const residual0 = ops.gatherCombine('add', seqPadded, idx, ops.expandDims(candPadded, 1)); // [N,S′,d] (the shape reference too)
  let y = residualProduct(ops, rows(first.mixed), out0('weight', [d, d]), rows(residual0), dropout); // x + attention(x)
  let x = postNormTail(ops, 'encoder.0', y, d, hp.ffnDim, dropout, hp.layers > 1 ? 'encoder.1.attn.out.bias' : undefined);

  // Layers ≥ 1: x already holds + the out-projection bias of this layer (folded into the previous LayerNorm).
  const keyMask = ops.gather(userMask, idx); // [N,S]
  for (let l = 1; l < hp.layers; l++) {
    const p = `encoder.${l}`;
    const w = param(`${p}.attn.qkv.weight`, [d, 3 * d], 'glorot');
    const outBias = param(`${p}.attn.out.bias`, [d]);
    const qkvBias = ops.sub(param(`${p}.attn.qkv.bias`, [3 * d]), ops.reshape(ops.matmul(ops.reshape(outBias, [1, d]), w), [-1]));
    const part = (k: number): T => ops.reshapeLike(ops.matmul(x, ops.slice(w, 1, k * d, (k + 1) * d)), residual0);
    const attended = ops.attention(part(0), part(1), part(2), qkvBias, keyMask, hp.heads); // [N,S,d]
    y = residualProduct(ops, rows(attended), param(`${p}.attn.out.weight`, [d, d], 'glorot'), x, dropout);
    x = postNormTail(ops, p, y, d, hp.ffnDim, dropout, l + 1 < hp.layers ? `encoder.${l + 1}.attn.out.bias` : undefined);
  }
  return compress(ops, ops.reshapeLike(x, residual0), userMask, userBias, idx, d, hp.firstK);
}

/**
 * LN1(y) → FFN → LN2 on [rows, d], with the FFN's second bias folded into
 * LN1's beta (so the FFN's last product takes the residual as its only
 * addend) and, when given, the parameter `foldNext` added to LN2's beta.
 */
function postNormTail<T>(ops: Ops<T>, prefix: string, y: T, d: number, ffnDim: number, dropout: number, foldNext: string | undefined): T {
  const bias2 = ops.param(`${prefix}.ffn.1.bias`, [d], { kind: 'zeros' });
  const w1 = ops.param(`${prefix}.ffn.0.weight`, [d, ffnDim], { kind: 'glorot' });
  const bias1 = ops.sub(ops.param(`${prefix}.ffn.0.bias`, [ffnDim], { kind: 'zeros' }), ops.reshape(ops.matmul(ops.reshape(bias2, [1, d]), w1), [-1]));
  const h = layerNormFolded(ops, `${prefix}.ln1`, y, d, bias2); // LN1(y) + b2
  const hidden = ops.relu(ops.matmulAdd(h, w1, bias1));
  const y2 = residualProduct(ops, hidden, ops.param(`${prefix}.ffn.1.weight`, [ffnDim, d], { kind: 'glorot' }), h, dropout);
  const next = foldNext === undefined ? undefined : ops.param(foldNext, [d], { kind: 'zeros' });
  return layerNormFolded(ops, `${prefix}.ln2`, y2, d, next);
}

/** residual + dropout(a)·w: one Gemm with the residual as its addend (dropout is the identity when serving). */
function residualProduct<T>(ops: Ops<T>, a: T, w: T, residual: T, dropout: number): T {
  return ops.matmulAdd(ops.dropout(a, dropout), w, residual);
}

/** `layerNorm` with a vector added to its beta (the output plus that vector). */
function layerNormFolded<T>(ops: Ops<T>, prefix: string, x: T, d: number, extra: T | undefined): T {
  if (extra === undefined) return layerNorm(ops, prefix, x, d);
  const gamma = ops.param(`${prefix}.gamma`, [d], { kind: 'ones' });
  const beta = ops.param(`${prefix}.beta`, [d], { kind: 'zeros' });
  return ops.layerNorm(x, gamma, ops.add(beta, extra), 1e-5);
}

/** Layer 0's attention in split form (see `splitEncoderForward`): mixed [N,S,H,dh] without v_c, and v_c [N,d]. */
function splitFirstAttention<T>(
  ops: Ops<T>,
  prefix: string,
  seqRows: T,
  cand: T,
  idx: T,
  userBias: T,
  hp: SplitEncoderShape,
): { mixed: T; candValue: T } {
  const dSeq = hp.dAction + hp.dContent;
  const d = dSeq + hp.dContent;
  const heads = hp.heads;
  const dh = d / heads;
  if (!Number.isInteger(dh)) throw new TypeError(`transact_encoder: d_model ${d} is not divisible by heads ${heads}`);
  const w = ops.param(`${prefix}.qkv.weight`, [d, 3 * d], { kind: 'glorot' });
  const b = ops.param(`${prefix}.qkv.bias`, [3 * d], { kind: 'zeros' });
  const seqPart = ops.matmul(seqRows, ops.slice(w, 0, 0, dSeq)); // [U,S,3d], once per user row
  const candPart = ops.add(ops.matmul(cand, ops.slice(w, 0, dSeq, d)), b); // [N,3d], once per candidate
  const toHeads = (t: T, start: number): T => ops.transpose(ops.reshape(ops.slice(t, -1, start, start + d), [0, 0, heads, dh]), [0, 2, 1, 3]); // [U,H,S,dh]
  const qs = toHeads(seqPart, 0);
  const ks = toHeads(seqPart, d);
  const vs = toHeads(seqPart, 2 * d);
  const scale = ops.scalar(1 / Math.sqrt(dh));
  // Per user row: E = exp(A − rowmax A), masked keys 0.
  const scores = ops.add(ops.mul(ops.matmul(qs, ops.transpose(ks, [0, 1, 3, 2])), scale), ops.reshape(userBias, [0, 1, 1, -1]));
  const e = ops.exp(ops.sub(scores, ops.reduceMax(scores, -1, true))); // [U,H,S,S]
  // Per candidate: c_j = q_c·k_s,j / √dh as a column [N,H,S,1], masked keys −1e9; w = exp(c − max c).
  const qc = ops.reshape(ops.slice(candPart, -1, 0, d), [0, heads, dh, 1]); // [N,H,dh,1]
  const c = ops.gatherCombine('add', ops.reshape(userBias, [0, 1, -1, 1]), idx, ops.mul(ops.gatherCombine('matmul', ks, idx, qc), scale));
  const weight = ops.exp(ops.sub(c, ops.reduceMax(c, 2, true))); // [N,H,S,1]
  // E · [w ⊙ v_s | w]: numerator and denominator in one product.
  const ones = ops.add(ops.mul(ops.slice(vs, -1, 0, 1), ops.scalar(0)), ops.scalar(1));
  const weighted = ops.gatherCombine('mul', ops.concat([vs, ones], -1), idx, weight); // [N,H,S,dh+1]
  const r = ops.gatherCombine('matmul', e, idx, weighted); // [N,H,S,dh+1]
  const mixed = ops.div(ops.slice(r, -1, 0, dh), ops.add(ops.slice(r, -1, dh, dh + 1), ops.scalar(1e-30))); // [N,H,S,dh]
  return { mixed: ops.transpose(mixed, [0, 2, 1, 3]), candValue: ops.slice(candPart, -1, 2 * d, 3 * d) };
}

/**
 * The output: concat(Linear(max-pool over real rows), first K rows zeroed
 * where masked). Only the first K rows are copied for the second part; K zero
 * rows are appended so a sequence shorter than K still gives K rows.
 */
function compress<T>(ops: Ops<T>, h: T, userMask: T, userBias: T, idx: T, d: number, firstK: number): T {
  const pooled = ops.gatherCombine('mul', ops.reduceMax(userMask, 1, true), idx, ops.reduceMax(ops.gatherCombine('add', ops.expandDims(userBias, -1), idx, h), 1, false));
  const head = ops.gatherCombine('mul', ops.expandDims(ops.slice(userMask, 1, 0, firstK), -1), idx, ops.slice(h, 1, 0, firstK)); // [N,≤K,d]
  const zeroRows = ops.add(ops.mul(ops.slice(head, 1, 0, 1), ops.scalar(0)), ops.constant(new Float32Array(firstK * d), [1, firstK, d]));
  const first = ops.reshape(ops.slice(ops.concat([head, zeroRows], 1), 1, 0, firstK), [0, firstK * d]);
  return ops.concat([linear(ops, 'pool_proj', pooled, d, d), first], -1);
}
