// Retrieve bench: ANN (usearch HNSW, the index the service builds per snapshot
// version) against exact search over the same vectors: QPS and recall@100.
// Usage: npm run bench embedding-store-ann -- [--data tower|clustered] [--items 50000,1000000] [--queries 200] [--ef 256,384,512] [--ef-add 128] [--connectivity 16] [--smoke]
// Data: `tower` (default) is what Retrieve serves: the shipped pinnerformer_item model run over a
// simulated catalog of that many items, queried with user-like vectors (the normalised mean of the
// tower vectors of 2 random items); `clustered` is a harder synthetic stress case (unit vectors drawn
// around --clusters random centres with noise in every dimension).
// (usearch's native exactSearch takes whole-array inputs: queries are passed as copies, not subarrays.)
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { MetricKind, exactSearch as nativeExactSearch } from 'usearch';
import { World } from '@pinrank/sim';
import { AnnIndex, type AnnQuantization } from '../src/ann/ann-index';

const program = new Command()
  .option('--items <list>', 'comma-separated index sizes', '50000,1000000')
  .option('--queries <n>', 'queries per measurement', '200')
  .option('--dimension <d>', 'vector dimension', '64')
  .option('--k <k>', 'neighbours per query', '100')
  .option('--ef <list>', 'HNSW expansion at search time; one build is searched with each value', '256,384,512')
  .option('--ef-add <n>', 'HNSW expansion while building', '128')
  .option('--data <kind>', 'tower (item-tower vectors of a simulated catalog) | clustered (synthetic stress case)', 'tower')
  .option('--models <repo>', 'model repository holding pinnerformer_item/<version>/model.onnx (tower data; newest version)', 'models')
  .option('--connectivity <m>', 'HNSW graph degree', '16')
  .option('--quantization <q>', 'vector storage in the graph: f32 | f16 | i8', 'f32')
  .option('--clusters <n>', 'clustered data: topic centres the vectors are drawn around', '1000')
  .option('--threads <n>', 'native threads (0 = all cores)', '0')
  .option('--smoke', 'tiny sizes (2 000 items, 20 queries, one ef): checks that it runs; times nothing', false)
  .parse();
const opts = program.opts<{
  items: string;
  queries: string;
  dimension: string;
  k: string;
  ef: string;
  efAdd: string;
  data: string;
  models: string;
  connectivity: string;
  quantization: string;
  clusters: string;
  threads: string;
  smoke: boolean;
}>();
if (opts.smoke) Object.assign(opts, { items: '2000', queries: '20', ef: '64', efAdd: '64' });
if (opts.data !== 'tower' && opts.data !== 'clustered') throw new Error(`--data must be tower or clustered, got "${opts.data}"`);
let D = Number(opts.dimension);
const K = Number(opts.k);
const Q = Number(opts.queries);
const THREADS = Number(opts.threads);

/** Clustered unit vectors (embeddings are clustered by topic, unlike uniform noise). */
function clustered(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const clusters = Number(opts.clusters);
  const centres = Float32Array.from({ length: clusters * D }, rand);
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const c = Math.floor((rand() + 0.5) * clusters) % clusters;
    let norm = 0;
    for (let j = 0; j < D; j++) {
      const v = (centres[c * D + j] as number) + 0.35 * rand();
      out[i * D + j] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < D; j++) out[i * D + j] = (out[i * D + j] as number) / norm;
  }
  return out;
}

function normalise(v: Float32Array, d: number): Float32Array {
  for (let i = 0; i < v.length; i += d) {
    let n = 0;
    for (let j = 0; j < d; j++) n += (v[i + j] as number) ** 2;
    n = Math.sqrt(n) || 1;
    for (let j = 0; j < d; j++) v[i + j] = (v[i + j] as number) / n;
  }
  return v;
}

/** The newest `pinnerformer_item` model file of the repository. */
function itemTowerModel(): string {
  const dir = join(opts.models, 'pinnerformer_item');
  const versions = existsSync(dir) ? readdirSync(dir).filter((v) => existsSync(join(dir, v, 'model.onnx'))) : [];
  const newest = versions.sort((a, b) => Number(a) - Number(b) || a.localeCompare(b)).at(-1);
  if (!newest) throw new Error(`no pinnerformer_item/<version>/model.onnx under ${opts.models}`);
  return join(dir, newest, 'model.onnx');
}

/**
 * Item-tower vectors of a simulated catalog of `n` items (the world's content
 * vectors through the shipped model, as the batch job writes them) and
 * user-like queries: the normalised mean of two random items' tower vectors.
 */
async function towerData(n: number, queries: number): Promise<{ vectors: Float32Array; queries: Float32Array }> {
  const items = World.create({ seed: 11, users: 1, items: n, days: 1 }).items;
  const session = await ort.InferenceSession.create(itemTowerModel(), { executionProviders: ['cpu'] });
  const input = session.inputNames[0] as string;
  const output = session.outputNames[0] as string;
  const C = items.dimension;
  const chunk = 8192;
  let vectors = new Float32Array(0);
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const res = await session.run({ [input]: new ort.Tensor('float32', items.vectors.slice(start * C, end * C), [end - start, C]) });
    const out = res[output]?.data as Float32Array;
    if (start === 0) {
      D = out.length / (end - start);
      vectors = new Float32Array(n * D);
    }
    vectors.set(out, start * D);
  }
  await session.release();
  let s = 12345;
  const pick = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % n;
  const q = new Float32Array(queries * D);
  for (let i = 0; i < queries; i++) {
    const a = pick();
    const b = pick();
    for (let j = 0; j < D; j++) q[i * D + j] = (vectors[a * D + j] as number) + (vectors[b * D + j] as number);
  }
  return { vectors: normalise(vectors, D), queries: normalise(q, D) };
}

function qps(count: number, ms: number): number {
  return (count / ms) * 1000;
}

async function run(n: number, scratch: string): Promise<void> {
  const { vectors, queries } = opts.data === 'tower' ? await towerData(n, Q) : { vectors: clustered(n, 11), queries: clustered(Q, 12345) };
  const ids = Array.from({ length: n }, (_, i) => `item${i}`);
  const efs = opts.ef.split(',').map(Number);

  let t = performance.now();
  const built = await AnnIndex.build(ids, vectors, D, {
    expansionSearch: efs[0],
    expansionAdd: Number(opts.efAdd),
    connectivity: Number(opts.connectivity),
    quantization: opts.quantization as AnnQuantization,
    threads: THREADS,
  });
  const buildS = (performance.now() - t) / 1000;
  const file = join(scratch, `ann-${n}.usearch`);
  built.save(file);

  // Exact search baseline: usearch's native brute force (SIMD), one query at a time, then as one batch.
  t = performance.now();
  const truth: Array<Set<bigint>> = [];
  for (let q = 0; q < Q; q++) {
    const m = nativeExactSearch(vectors, queries.slice(q * D, (q + 1) * D), D, K, MetricKind.Cos, THREADS);
    truth.push(new Set(m.keys));
  }
  const exactQps = qps(Q, performance.now() - t);
  t = performance.now();
  nativeExactSearch(vectors, queries, D, K, MetricKind.Cos, THREADS);
  const exactBatchQps = qps(Q, performance.now() - t);

  // The same graph searched with each candidate-list size (ef), the way Retrieve runs it: one query per call.
  for (const ef of efs) {
    const index = AnnIndex.view(file, ids, D, { expansionSearch: ef, connectivity: Number(opts.connectivity), quantization: opts.quantization as AnnQuantization, threads: THREADS });
    t = performance.now();
    let hits = 0;
    for (let q = 0; q < Q; q++) {
      const found = index.search(queries.slice(q * D, (q + 1) * D), K);
      const want = truth[q] as Set<bigint>;
      for (const h of found) if (want.has(BigInt(h.id.slice(4)))) hits++;
    }
    const annQps = qps(Q, performance.now() - t);
    t = performance.now();
    index.searchBatch(queries, K);
    const annBatchQps = qps(Q, performance.now() - t);
    console.log(
      `| ${n.toLocaleString('en-US')} | ${ef} | ${buildS.toFixed(0)} | ${exactQps.toFixed(0)} | ${annQps.toFixed(0)} | **${(annQps / exactQps).toFixed(1)}×** | ` +
        `${exactBatchQps.toFixed(0)} | ${annBatchQps.toFixed(0)} | ${(annBatchQps / exactBatchQps).toFixed(1)}× | **${(hits / (Q * K)).toFixed(3)}** |`,
    );
  }
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'es-ann-bench-'));
  try {
    const data = opts.data === 'tower' ? `item-tower vectors (${itemTowerModel()}) of a simulated catalog, user-like queries` : `clustered synthetic, d=${D}, ${opts.clusters} clusters`;
    console.log(`ANN vs exact search: ${data}, k=${K}, ${Q} queries, M=${opts.connectivity}, ${opts.quantization}, ef_add=${opts.efAdd}, threads=${THREADS || 'all'}`);
    console.log('| items | ef | index build s | exact QPS (1 query/call) | ANN QPS (1 query/call) | ratio | exact QPS (batch) | ANN QPS (batch) | ratio | recall@100 |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const n of opts.items.split(',').map(Number)) await run(n, scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
