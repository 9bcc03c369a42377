// `npm run bench <name> [-- args]`: runs one benchmark of the repository with tsx.
// Every benchmark prints its figures as ratios against a baseline measured in
// the same run (these machines are shared and noisy). `npm run bench` lists them.
// Every benchmark takes `--smoke` (tiny sizes, checks only that it runs clean);
// `npm run bench:smoke` (smoke.mjs) runs them all. `--built` runs the bench,
// and every service it starts, as esbuild bundles (tools/build/bundle.mjs),
// the form they are deployed in, instead of the sources through tsx.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchBundlePath, bundleEntry } from '../build/bundle.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** name → [file, what it measures]. */
export const BENCHES = {
  'embedding-store-lookup': ['apps/embedding-store/bench/lookup-bench.ts', 'GetEmbeddings (1 user + 500 items) p50/p99: LMDB vs Redis backends vs a plain Redis MGET client'],
  'embedding-store-cluster': ['apps/embedding-store/bench/redis-cluster-bench.ts', "the embedding-store's Redis backend on a three-master Redis Cluster vs one Redis: a 501-key lookup in process"],
  'embedding-store-ann': ['apps/embedding-store/bench/ann-bench.ts', 'Retrieve QPS and recall@100 vs exact search (50k; --items 1000000 for 1M)'],
  'feature-server': ['apps/feature-server/bench/feature-server-bench.ts', 'ingest actions/s and GetRealtimeSequence p50/p99: LMDB vs Redis (both layouts) vs plain Redis clients; Redis time per read and per action'],
  'feature-server-takeover': ['apps/feature-server/bench/takeover-sweep-bench.ts', 'the Redis takeover sweep: users moved/s, Redis time and whole CPU per user, other reads while it runs, a read in each takeover state vs the ids layout'],
  'feature-server-cluster': ['apps/feature-server/bench/redis-cluster-bench.ts', "the Redis backend on a three-master Redis Cluster vs one Redis: append actions/s, read p50 and the servers' whole CPU per action and per read, both layouts"],
  'feature-server-jetstream': ['apps/feature-server/bench/jetstream-bench.ts', 'JetStream ingest into a feature-server: the action stream as one stream vs P partitions (FEATURE_SERVER_NATS_PARTITIONS), published and stored actions/s'],
  'feature-server-jetstream-replicas': ['apps/feature-server/bench/jetstream-replicas-bench.ts', 'JetStream ingest into a feature-server from a stream replicated on three NATS servers (R3) vs one copy (R1): published and stored actions/s, NATS and feature-server CPU per action, latency until acknowledged and until readable; --rtt-ms puts a network round trip between the servers'],
  'feature-server-redis-clients': ['apps/feature-server/bench/redis-clients-bench.ts', "a Redis server's CPU per sequence read (both layouts, and a plain LRANGE) with many connections reading at once vs one"],
  'inference-batching': ['libs/inference/bench/batching.bench.ts', 'worker throughput and p99 with dynamic batching on vs off at the same offered load'],
  'inference-worker-overhead': ['libs/inference/bench/worker-overhead.bench.ts', 'transact_encoder through a worker over gRPC vs its lifecycle vs the bare session: what scheduling and moving tensors cost'],
  'inference-memory-arena': ['libs/inference/bench/memory-arena.bench.ts', 'transact_encoder time per run and memory kept after a large batch, ONNX Runtime memory arena on vs off'],
  'proto-serializers': ['libs/proto/bench/serializers.bench.ts', 'the single-copy serializers of the large answers (worker encoder output, sequence, embeddings) vs the generated encoders, CPU per message'],
  'transact-encoder': ['libs/models/bench/transact-encoder.bench.ts', 'transact_encoder compute: factorised vs plain vs per-candidate copies'],
  lookups: ['apps/ranker/bench/lookups-bench.ts', "the router's three lookups of one Rank (sequence, content, tower) over lookup streams vs unary calls, back to back vs after the upstreams sat idle"],
  overload: ['apps/ranker/bench/overload-bench.ts', 'Rank goodput and p50/p99 vs offered load 0.5x..3x capacity (admission control), recovery after a burst and after kill -9 of a GPU worker, feature-server, embedding-store'],
  rank: ['apps/ranker/bench/rank-bench.ts', 'end-to-end Rank through the real services vs raw in-process compute; dedup vs per-candidate; heads on CPU vs GPU-role worker'],
  'service-kit': ['libs/service-kit/bench/service-kit.bench.ts', 'per-call floor: a trivial unary call through the service kit vs bare grpc-js (plaintext, mTLS, tracing on; across processes, beside Node HTTP/2 alone and a TCP echo)'],
  'train-step': ['tools/train/bench/train-step.bench.ts', 'one TransAct-sized training step: stock tfjs-wasm vs the fast kernels'],
};

/** Set for a bench run with `--built` (and so for the processes it starts); libs/service-kit built-entry.ts reads it. */
export const BUILT_ENV = 'PINRANK_BENCH_BUILT';

/**
 * The command line, and the environment to add, that run benchmark file `file`
 * with `args`; a `--built` among them is taken out and bundles the bench first.
 */
export async function benchCommand(file, args) {
  if (!args.includes('--built')) return [join(root, 'node_modules', '.bin', 'tsx'), ['--tsconfig', join(root, 'tsconfig.base.json'), join(root, file), ...args], {}];
  const bundle = await bundleEntry(file, benchBundlePath(file));
  return [process.execPath, [bundle, ...args.filter((a) => a !== '--built')], { [BUILT_ENV]: '1' }];
}

async function main() {
  const [name, ...rest] = process.argv.slice(2);
  const entry = name ? BENCHES[name] : undefined;
  if (!entry) {
    if (name) console.error(`unknown benchmark "${name}"\n`);
    console.error('usage: npm run bench <name> [-- options]\n');
    for (const [n, [file, what]] of Object.entries(BENCHES)) console.error(`  ${n.padEnd(24)} ${what}${existsSync(join(root, file)) ? '' : ' (missing)'}`);
    process.exit(name ? 2 : 0);
  }
  const [cmd, args, env] = await benchCommand(entry[0], rest);
  const res = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: { ...process.env, ...env } });
  process.exit(res.status ?? 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
