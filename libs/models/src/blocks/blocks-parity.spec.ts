import { initTfBackend } from '../ops/tf-runtime';
import { type Ops } from '../ops/ops';
import { type Feeds, type GraphSpec, floatFeed, int64Feed } from '../models/model-definition';
import { runBothBackends } from '../testing/parity';
import { SeededRandom } from '../weights/seeded-random';
import { cosine, embedding, l2Normalize, layerNorm, linear, mlp } from './basic';
import { causalBiasNewestFirst, keyMaskBias, multiHeadAttention } from './attention';
import { postNormBlock, preNormBlock } from './transformer';
import { crossLayer } from './dcn';

const B = 3;
const S = 7;
const D = 8;
const TOLERANCE = 1e-4;

type Body = <T>(ops: Ops<T>, x: T, mask: T, ids: T) => T;

/** A graph with a float input x [B,S,D], a 0/1 key mask [B,S], ids [B,S] and one output. */
function graph(name: string, body: Body): GraphSpec {
  return {
    name,
    description: name,
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['B', 'S', D] },
      { name: 'mask', dtype: 'float32', shape: ['B', 'S'] },
      { name: 'ids', dtype: 'int64', shape: ['B', 'S'] },
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['B', 'S', 'W'] }],
    forward: (ops, i) => ({ y: ops.reshape(body(ops, i['x']!, i['mask']!, i['ids']!), [0, S, -1]) }),
  };
}

function feeds(seed: number): Feeds {
  const rng = new SeededRandom(seed);
  return {
    x: floatFeed([B, S, D], () => rng.normal()),
    // Row b has 7 - 2b real keys; the last row keeps a single one.
    mask: floatFeed([B, S], (i) => (i % S < S - 2 * Math.floor(i / S) ? 1 : 0)),
    ids: int64Feed([B, S], () => rng.int(5)),
  };
}

const blocks: Array<[string, Body]> = [
  ['linear', (ops, x) => linear(ops, 'lin', x, D, 5)],
  ['embedding', (ops, _x, _m, ids) => embedding(ops, 'emb', ids, 5, 6)],
  ['layer norm', (ops, x) => layerNorm(ops, 'ln', ops.mul(x, ops.scalar(3)), D)],
  ['mlp (relu)', (ops, x) => mlp(ops, 'mlp', x, [D, 16, 4], 'relu')],
  ['mlp (gelu)', (ops, x) => mlp(ops, 'mlp', x, [D, 16, 4], 'gelu', 'gelu')],
  ['multi-head attention with key mask', (ops, x, mask) => multiHeadAttention(ops, 'att', x, keyMaskBias(ops, mask), { dModel: D, heads: 2 })],
  [
    'causal multi-head attention',
    (ops, x, mask) =>
      multiHeadAttention(ops, 'att', x, ops.add(keyMaskBias(ops, mask), causalBiasNewestFirst(ops, S)), { dModel: D, heads: 4 }),
  ],
  [
    'post-norm block',
    (ops, x, mask) => postNormBlock(ops, 'blk', x, keyMaskBias(ops, mask), { dModel: D, heads: 2, ffnDim: 4, activation: 'relu' }),
  ],
  [
    'pre-norm block',
    (ops, x, mask) => preNormBlock(ops, 'blk', x, keyMaskBias(ops, mask), { dModel: D, heads: 1, ffnDim: 32, activation: 'gelu' }),
  ],
  ['DCN v2 cross layer (full rank)', (ops, x) => crossLayer(ops, 'cross', x, ops.tanh(x), D)],
  ['DCN v2 cross layer (low rank)', (ops, x) => crossLayer(ops, 'cross', x, ops.tanh(x), D, 3)],
  // Masked rows become zero vectors, which must stay zero (not NaN).
  ['L2 normalisation', (ops, x, mask) => l2Normalize(ops, ops.mul(x, ops.expandDims(mask, -1)))],
  ['cosine', (ops, x) => cosine(ops, x, ops.sin(x))],
];

beforeAll(async () => {
  await initTfBackend('wasm');
});

describe('block parity: ONNX Runtime vs TensorFlow.js (wasm), same weights and inputs', () => {
  it.each(blocks)('%s', async (name, body) => {
    const result = await runBothBackends(graph(name.replace(/\W+/g, '_'), body), feeds(3));
    expect(result.maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
    // The comparison must be about something: outputs are not all zeros.
    expect(result.onnx['y']!.data.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  it('an all-masked attention row stays finite', async () => {
    const allMasked: Feeds = { ...feeds(4), mask: floatFeed([B, S], () => 0) };
    const body: Body = (ops, x, mask) => multiHeadAttention(ops, 'att', x, keyMaskBias(ops, mask), { dModel: D, heads: 2 });
    const result = await runBothBackends(graph('masked', body), allMasked);
    expect(result.onnx['y']!.data.every(Number.isFinite)).toBe(true);
    expect(result.maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
  });

  it('masked keys do not influence attention outputs', async () => {
    const body: Body = (ops, x, mask) => multiHeadAttention(ops, 'att', x, keyMaskBias(ops, mask), { dModel: D, heads: 2 });
    const base = feeds(5);
    const changed = floatFeed([B, S, D], (i) => base['x']!.data[i] as number);
    // Row 2 has 3 real keys; change the features of its masked positions 3.. only.
    for (let s = 3; s < S; s++) for (let k = 0; k < D; k++) changed.data[(2 * S + s) * D + k] = 9;
    const a = await runBothBackends(graph('m1', body), base);
    const b = await runBothBackends(graph('m1', body), { ...base, x: changed });
    const row = (r: typeof a, s: number): number[] => Array.from(r.onnx['y']!.data.slice((2 * S + s) * D, (2 * S + s + 1) * D));
    for (let s = 0; s < 3; s++) expect(row(b, s)).toEqual(row(a, s));
  });
});
