import { type Feeds, type GraphSpec, floatFeed, int64Feed } from '../models/model-definition';
import { runBothBackends } from '../testing/parity';
import { SeededRandom } from '../weights/seeded-random';
import { type Ops } from './ops';
import { initTfBackend } from './tf-runtime';

type Body = <T>(ops: Ops<T>, x: T, y: T, ids: T) => T;

/** x [2,3,4] and y [2,3,4] floats, ids [2,3] in 0..3; the result is flattened per batch row. */
function graph(name: string, body: Body): GraphSpec {
  return {
    name,
    description: name,
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['B', 3, 4] },
      { name: 'y', dtype: 'float32', shape: ['B', 3, 4] },
      { name: 'ids', dtype: 'int64', shape: ['B', 3] },
    ],
    outputs: [{ name: 'out', dtype: 'float32', shape: ['B', 'W'] }],
    forward: (ops, i) => ({ out: ops.reshape(body(ops, i['x']!, i['y']!, i['ids']!), [0, -1]) }),
  };
}

const rng = new SeededRandom(8);
const feeds: Feeds = {
  x: floatFeed([2, 3, 4], () => rng.normal()),
  y: floatFeed([2, 3, 4], () => rng.uniform(0.5, 2)),
  ids: int64Feed([2, 3], () => rng.int(4)),
};

const cases: Array<[string, Body]> = [
  ['param + constant + scalar', (ops, x) => ops.add(ops.mul(x, ops.param('p', [4], { kind: 'normal', std: 1 })), ops.add(ops.constant([1, 2, 3, 4], [4]), ops.scalar(0.5)))],
  ['matmul (batched, broadcast weight)', (ops, x) => ops.matmul(x, ops.param('w', [4, 5], { kind: 'glorot' }))],
  ['matmul (batched)', (ops, x, y) => ops.matmul(x, ops.transpose(y, [0, 2, 1]))],
  ['matmul (broadcast batch axes)', (ops, x) => ops.matmul(ops.expandDims(x, 1), ops.param('w3', [2, 4, 3], { kind: 'glorot' }))],
  ['add sub mul div', (ops, x, y) => ops.div(ops.sub(ops.add(x, y), ops.mul(x, y)), y)],
  ['relu sigmoid tanh', (ops, x) => ops.concat([ops.relu(x), ops.sigmoid(x), ops.tanh(x)], -1)],
  ['exp log sqrt', (ops, x, y) => ops.concat([ops.exp(x), ops.log(y), ops.sqrt(y)], 1)],
  ['sin cos erf', (ops, x) => ops.concat([ops.sin(x), ops.cos(x), ops.erf(x)], 0)],
  ['gather', (ops, x, _y, ids) => ops.gather(ops.reshape(x, [-1, 4]), ids)],
  ['softmax', (ops, x) => ops.softmax(x)],
  ['layerNorm', (ops, x, y) => ops.layerNorm(x, ops.reshape(ops.slice(y, 0, 0, 1), [3, 4]), ops.scalar(0.1), 1e-5)],
  ['reduceMax reduceSum reduceMean', (ops, x) => ops.concat([ops.reduceMax(x, 1, false), ops.reduceSum(x, -1, false), ops.reduceMean(x, 1, false)], -1)],
  ['reshape transpose', (ops, x) => ops.transpose(ops.reshape(x, [0, 2, 6]), [0, 2, 1])],
  ['slice expandDims broadcastLike', (ops, x, y) => ops.broadcastLike(ops.expandDims(ops.slice(x, 1, 1, 2), 1), ops.expandDims(y, 1))],
  ['toFloat greater greaterOrEqual', (ops, x, _y, ids) => ops.concat([ops.toFloat(ids), ops.greater(ops.toFloat(ids), ops.scalar(1)), ops.greaterOrEqual(ops.toFloat(ids), ops.scalar(1))], 1)],
  ['dropout (identity when serving)', (ops, x) => ops.dropout(x, 0.5)],
  ['matmulAdd (residual and bias addends)', (ops, x, y) => {
    const w = ops.param('w', [4, 4], { kind: 'glorot' });
    const rows = (t: typeof x): typeof x => ops.reshape(t, [-1, 4]);
    return ops.concat([ops.matmulAdd(rows(x), w, rows(y)), ops.matmulAdd(rows(y), w, ops.param('b', [4], { kind: 'normal', std: 1 }))], -1);
  }],
  ['reshapeLike', (ops, x, y) => ops.add(ops.reshapeLike(ops.reshape(x, [-1, 2]), y), y)],
  ['slice (end clamped to the axis)', (ops, x) => ops.concat([ops.slice(x, 1, 1, 10), ops.slice(x, 1, 0, 2)], -1)],
  ['trimPadding (to the last kept position; all-zero keep keeps one)', (ops, x, y, ids) => {
    const keep = ops.greater(ops.toFloat(ids), ops.scalar(2));
    const [a, b] = ops.trimPadding([x, y], keep);
    const [none] = ops.trimPadding([x], ops.mul(keep, ops.scalar(0)));
    return ops.concat([ops.reshape(ops.add(a!, b!), [0, -1]), ops.reshape(none!, [0, -1])], 1);
  }],
  ['attention (fused, masked keys)', (ops, x, y, ids) => {
    const keyMask = ops.greater(ops.toFloat(ids), ops.scalar(0));
    return ops.attention(x, y, ops.mul(x, y), ops.param('qkv_bias', [12], { kind: 'normal', std: 1 }), keyMask, 2);
  }],
];

beforeAll(async () => {
  await initTfBackend('wasm');
});

/** table [U,2,3] gathered by idx [N], then matmul with b [N,3,2], add and mul with c [N,1,3]. */
function gatherCombineGraph(users: number): { spec: GraphSpec; feeds: Feeds } {
  const n = 4;
  const spec: GraphSpec = {
    name: `gather_matmul_${users}`,
    description: 'gatherCombine',
    inputs: [
      { name: 'table', dtype: 'float32', shape: ['U', 2, 3] },
      { name: 'idx', dtype: 'int64', shape: ['N'] },
      { name: 'b', dtype: 'float32', shape: ['N', 3, 2] },
      { name: 'c', dtype: 'float32', shape: ['N', 1, 3] },
    ],
    outputs: [{ name: 'out', dtype: 'float32', shape: ['N', 'W'] }],
    forward: (ops, i) => {
      const [table, idx] = [i['table']!, i['idx']!];
      const parts = [ops.gatherCombine('matmul', table, idx, i['b']!), ops.gatherCombine('add', table, idx, i['c']!), ops.gatherCombine('mul', table, idx, i['c']!)];
      return { out: ops.concat(parts.map((p) => ops.reshape(p, [0, -1])), 1) };
    },
  };
  return {
    spec,
    feeds: {
      table: floatFeed([users, 2, 3], () => rng.normal()),
      idx: int64Feed([n], (k) => (users === 1 ? 0 : (k * 7) % users)),
      b: floatFeed([n, 3, 2], () => rng.normal()),
      c: floatFeed([n, 1, 3], () => rng.normal()),
    },
  };
}

describe('op parity: ONNX Runtime vs TensorFlow.js (wasm)', () => {
  it.each(cases)('%s', async (name, body) => {
    const result = await runBothBackends(graph(name.replace(/\W+/g, '_'), body), feeds);
    expect(result.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(result.onnx['out']!.data.some((v) => v !== 0)).toBe(true);
  });

  it.each([1, 3])('gatherCombine (matmul, add, mul) with %i table row(s) (one row: broadcast branch; several: gather branch)', async (users) => {
    const { spec, feeds: f } = gatherCombineGraph(users);
    const result = await runBothBackends(spec, f);
    expect(result.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(result.onnx['out']!.shape).toEqual([4, 16]);
  });
});
