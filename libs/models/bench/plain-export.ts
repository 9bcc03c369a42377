// The benchmark's baseline: transact_encoder as a mainstream exporter writes a
// plain per-pair model. It is the graph torch.onnx (TorchScript exporter,
// opset 17) produces for a standard PyTorch module —
//
//   x = cat(emb(types[idx]), items[idx], cand[:, None].expand(-1, S, -1))  # sequence tiled per candidate
//   x = nn.TransformerEncoder(nn.TransformerEncoderLayer(96, 2, 32, 0, 'relu', batch_first=True), 2)(x, src_key_padding_mask)
//   out = cat(pool_proj(masked max over S), masked first K rows)
//
// — written op for op as that exporter lays out nn.MultiheadAttention
// (F.multi_head_attention_forward with need_weights=False, so scaled dot-product
// attention): MatMul + Add for each Linear, the packed in-projection unflattened
// to (3, E) and indexed, per-head Reshape/Transpose, q and kᵀ each scaled by
// √(1/√dh), MatMul, Add of the padding mask, Softmax, MatMul, the permute back,
// the out-projection, Add + LayerNormalization, the ReLU feed-forward. Nothing
// is shared per user: every (user, candidate) pair runs the whole encoder.
//
// Two layouts: 'batch-first' keeps the Transposes batch_first=True puts around
// every attention block (what the exporter emits); 'sequence-first' is the same
// module with batch_first=False, fed [S, N, E] (one transpose at the input, none
// per layer). Two ways to run its Add + LayerNormalization: 'exporter' leaves
// them on the exporter's 3-D tensors, where ONNX Runtime (graph optimisation
// level "all") fuses them into its contrib SkipLayerNormalization — on this
// CPU that fused kernel is about 2× slower than the two ops apart — and 'rows'
// applies them to [N·S, E] rows, which the fusion skips (what Python's
// disabled_optimizers=["SkipLayerNormFusion"] would give; the Node binding has
// no such option). The benchmark reports the fastest exporter form and the
// fastest of all four as the stricter baseline.
//
// The weights are the served model's, by the same names; the benchmark checks
// every variant's outputs against the served model (max |diff| ≤ 1e-4) before
// timing anything, in every run including --smoke.
import { type Ops, type TransactEncoderHyperparams, type WeightStore, transactEncoder, transactModelDim } from '../src/index';
import { type OnnxValue, OnnxGraphBuilder } from '../src/internal';

/** Layout of the plain export (see the file header). */
export type PlainLayout = 'batch-first' | 'sequence-first';
/** Where the residual Add + LayerNormalization run (see the file header). */
export type PlainNorm = 'exporter' | 'rows';

/** A large finite negative for masked keys (the exporter's -inf would turn an all-padding row into NaN). */
const MASKED = -1e9;

/** The plain per-pair export of transact_encoder with `weights` (same inputs and output as the served model). */
export function plainExport(weights: WeightStore, hp: TransactEncoderHyperparams, layout: PlainLayout, norm: PlainNorm = 'exporter'): Uint8Array {
  const spec = transactEncoder({ ...hp });
  const g = new OnnxGraphBuilder(weights, `transact_encoder_plain_${layout}`);
  const input = (name: string): OnnxValue => g.input(spec.inputs.find((io) => io.name === name)!);
  const types = input('seq_action_types');
  const items = input('seq_item_vectors');
  const ages = input('seq_ages_s');
  const cand = input('cand_vectors');
  const idx = input('cand_user_idx');
  const encoded = forward(g, { types, items, ages, cand, idx }, hp, layout, norm);
  g.output(encoded, spec.outputs[0]!);
  return g.toBytes(`plain per-pair export (${layout}, ${norm} norm)`);
}

interface PlainInputs<T> {
  types: T;
  items: T;
  ages: T;
  cand: T;
  idx: T;
}

function forward<T>(ops: Ops<T>, i: PlainInputs<T>, hp: TransactEncoderHyperparams, layout: PlainLayout, norm: PlainNorm): T {
  const d = transactModelDim(hp);
  const param = (name: string, shape: number[]): T => ops.param(name, shape, { kind: 'zeros' });
  const linear = (prefix: string, x: T, inDim: number, outDim: number): T =>
    ops.add(ops.matmul(x, param(`${prefix}.weight`, [inDim, outDim])), param(`${prefix}.bias`, [outDim]));
  // x + y, then LayerNorm: on the tensors as they are, or on [rows, d] (same values).
  const addNorm = (prefix: string, x: T, y: T): T => {
    const ln = (t: T): T => ops.layerNorm(t, param(`${prefix}.gamma`, [d]), param(`${prefix}.beta`, [d]), 1e-5);
    if (norm === 'exporter') return ln(ops.add(x, y));
    return ops.reshapeLike(ln(ops.add(ops.reshape(x, [-1, d]), ops.reshape(y, [-1, d]))), x);
  };
  // Per pair: index the user's rows for each candidate, then tile the candidate along the sequence.
  const types = ops.gather(i.types, i.idx); // [N,S]
  const ages = ops.gather(i.ages, i.idx);
  const rows = ops.concat([ops.gather(param('action_type.table', [hp.actionVocab, hp.dAction]), types), ops.gather(i.items, i.idx)], -1);
  let x = ops.concat([rows, ops.broadcastLike(ops.expandDims(i.cand, 1), rows)], -1); // [N,S,E]
  const mask = ops.mul(ops.greater(ops.toFloat(types), ops.scalar(0)), ops.greaterOrEqual(ages, ops.scalar(0))); // [N,S]
  // key_padding_mask → float mask viewed as [N, heads, 1, S] (expand + reshape in the exporter's graph).
  const keyBias = ops.reshape(ops.mul(ops.sub(ops.scalar(1), mask), ops.scalar(MASKED)), [0, 1, 1, -1]);
  const seqFirst = layout === 'sequence-first';
  if (seqFirst) x = ops.transpose(x, [1, 0, 2]); // [S,N,E]
  for (let l = 0; l < hp.layers; l++) {
    const p = `encoder.${l}`;
    const attended = attention(ops, `${p}.attn`, seqFirst ? x : ops.transpose(x, [1, 0, 2]), keyBias, d, hp.heads);
    x = addNorm(`${p}.ln1`, x, seqFirst ? attended : ops.transpose(attended, [1, 0, 2]));
    const ff = linear(`${p}.ffn.1`, ops.relu(linear(`${p}.ffn.0`, x, d, hp.ffnDim)), hp.ffnDim, d);
    x = addNorm(`${p}.ln2`, x, ff);
  }
  if (seqFirst) x = ops.transpose(x, [1, 0, 2]); // [N,S,E]
  const rowMask = ops.expandDims(mask, -1);
  const kept = ops.mul(x, rowMask);
  const pooled = ops.mul(
    ops.reduceMax(ops.add(kept, ops.mul(ops.sub(rowMask, ops.scalar(1)), ops.scalar(-MASKED))), 1, false),
    ops.reduceMax(mask, 1, true),
  );
  const first = ops.reshape(ops.slice(kept, 1, 0, hp.firstK), [0, hp.firstK * d]);
  return ops.concat([linear('pool_proj', pooled, d, d), first], -1);
}

/** F.multi_head_attention_forward over x [S, B, E] (self-attention, packed in-projection, SDPA); returns [S, B, E]. */
function attention<T>(ops: Ops<T>, prefix: string, x: T, keyBias: T, e: number, heads: number): T {
  const dh = e / heads;
  const proj = ops.add(ops.matmul(x, ops.param(`${prefix}.qkv.weight`, [e, 3 * e], { kind: 'zeros' })), ops.param(`${prefix}.qkv.bias`, [3 * e], { kind: 'zeros' }));
  // proj.unflatten(-1, (3, E)).unsqueeze(0).transpose(0, -2).squeeze(-2) → [3, S, B, E]; q, k, v = proj[0], proj[1], proj[2]
  const packed = ops.transpose(ops.reshape(proj, [0, 0, 3, e]), [2, 0, 1, 3]);
  // proj[k]: the index drops the leading axis (a size-1 move, then a reshape)
  const part = (k: number): T => ops.reshape(ops.transpose(ops.slice(packed, 0, k, k + 1), [1, 2, 3, 0]), [0, 0, -1]);
  // q.view(S, B*heads, dh).transpose(0, 1).view(B, heads, S, dh)
  const toHeads = (t: T): T => ops.transpose(ops.reshape(t, [0, 0, heads, dh]), [1, 2, 0, 3]);
  const scale = ops.scalar(Math.sqrt(1 / Math.sqrt(dh)));
  const q = ops.mul(toHeads(part(0)), scale);
  const kT = ops.mul(ops.transpose(toHeads(part(1)), [0, 1, 3, 2]), scale);
  const v = toHeads(part(2));
  const weights = ops.softmax(ops.add(ops.matmul(q, kT), keyBias)); // [B, heads, S, S]
  // attn_output.permute(2, 0, 1, 3).view(S * B, E) → out_proj → view(S, B, E)
  const mixed = ops.reshape(ops.transpose(ops.matmul(weights, v), [2, 0, 1, 3]), [0, 0, e]);
  return ops.add(ops.matmul(mixed, ops.param(`${prefix}.out.weight`, [e, e], { kind: 'zeros' })), ops.param(`${prefix}.out.bias`, [e], { kind: 'zeros' }));
}
