// Ranker benchmarks (docs/benchmarks.md, section "router"): end-to-end Rank through
// the real services on loopback vs the same two models in process; the
// de-duplicated sequence vs a per-candidate copy; heads on the CPU worker vs
// both models on the GPU-role worker; optionally this checkout's router vs
// another checkout's (--baseline <dir>, e.g. the previous release) on the same
// stack, requests interleaved. Every variant runs the newest model versions of
// models/ (ModelRepository), as the workers do.
//   npx tsx apps/ranker/bench/rank-bench.ts [--requests 60] [--sizes 100,500] [--baseline ../pinrank-main] [--cpu-requests 20] [--profile-router [--profile-variant chained]] [--router-node-args=--max-semi-space-size=32] [--chunk 512] [--compare-chunk 128] [--compare-unary-lookups] [--compare-unary-infer] [--only-chained] [--profile-worker] [--smoke]
import { mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeTensorMessage, fromFloat16, ModelRepository, toFloat16 } from '@pinrank/inference';
import {
  EmbeddingStoreClient,
  FeatureServerClient,
  HealthCheckRequest,
  HealthClient,
  GetEmbeddingsRequest,
  GetRealtimeSequenceRequest,
  RankerClient,
  RankRequest,
  VectorKind,
  degradedFlagToJSON,
  type RankResponse,
} from '@pinrank/proto';
import { callUnary, createClient } from '@pinrank/service-kit';
import { build } from 'hdr-histogram-js';
import { DEFAULT_CHUNK_SIZE } from '../src/router/router-options';
import { sequenceFromProto } from '../src/router/sequence';
import { InProcessRanker, type RankingInputs } from '../src/router/testing/ort-reference';
import { formatProfileSummary, summariseProfileFile } from './cpu-profile';
import { freePort, prng, ROOT, Stack, waitFor } from './stack';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '8' },
    sizes: { type: 'string', default: '100,500' },
    items: { type: 'string', default: '2000' },
    users: { type: 'string', default: '20' },
    baseline: { type: 'string' },
    'cpu-requests': { type: 'string', default: '20' },
    'profile-router': { type: 'boolean', default: false },
    // Which router --profile-router profiles: the split one ("served") or the chained one.
    'profile-variant': { type: 'string', default: 'served' },
    'router-node-args': { type: 'string', default: '' },
    chunk: { type: 'string', default: String(DEFAULT_CHUNK_SIZE) },
    'compare-chunk': { type: 'string' },
    // A chained router that sends its lookups as unary calls (RANKER_LOOKUP_STREAMS=false) beside the chained one (lookup streams), same requests.
    'compare-unary-lookups': { type: 'boolean', default: false },
    // The same twin with its worker calls as unary ModelInfer (RANKER_INFER_STREAMS=false) instead of messages of ModelStreamInfer;
    // with both flags the twin sends both its lookups and its worker calls as unary calls.
    'compare-unary-infer': { type: 'boolean', default: false },
    // Only the chained router (and its unary twin with --compare-unary-lookups / --compare-unary-infer): with one router, every
    // process of the stack waits only for the in-process run between its requests, not for five other routers.
    'only-chained': { type: 'boolean', default: false },
    // V8 writes a CPU profile of the GPU-role worker (the chained variants' worker) when it exits; summarised like the router's.
    'profile-worker': { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
  },
});
// --smoke: 10 candidates, 2 requests per variant; fails on any error or degraded answer; times nothing.
if (args.smoke) Object.assign(args, { requests: '2', warmup: '1', sizes: '10', items: '200', users: '3', 'cpu-requests': '2' });
const CPU_REQUESTS = Number(args['cpu-requests']);
const PROFILED = args['profile-variant'];
if (PROFILED !== 'served' && PROFILED !== 'chained') throw new Error(`--profile-variant: "served" or "chained", not "${PROFILED}"`);
const BASELINE = args.baseline;
const REQUESTS = Number(args.requests);
const WARMUP = Number(args.warmup);
const SIZES = String(args.sizes).split(',').map(Number);
const S = 100;
/** What the chained router's unary twin turns off (--compare-unary-lookups, --compare-unary-infer). */
const UNARY_TWIN = [...(args['compare-unary-lookups'] ? ['RANKER_LOOKUP_STREAMS'] : []), ...(args['compare-unary-infer'] ? ['RANKER_INFER_STREAMS'] : [])];
const MODELS = join(ROOT, 'models');

type Served = 'served' | 'per_candidate' | 'heads_on_gpu' | 'chained' | 'chunk_alt' | 'chained_unary' | 'baseline';
type Variant = Served | 'in_process';

function stats(samples: number[]): { p50: number; p99: number; mean: number } {
  const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  for (const s of samples) h.recordValue(Math.max(1, Math.round(s * 1000)));
  return { p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, mean: h.mean / 1000 };
}

/** Bytes on the wire for the tensors of one Rank (raw contents only), from the tensor shapes the router sends. */
function tensorBytes(n: number, chunk: number, mode: 'dedup' | 'per_candidate'): { encoderIn: number; headsHop: number } {
  const seqRow = S * 8 + S * 32 * 4 + S * 4;
  const chunks = Math.ceil(n / chunk);
  const seq = mode === 'dedup' ? chunks * seqRow : n * seqRow;
  const encoderIn = seq + n * (32 * 4 + 8);
  // encoded [n,1056] back from the encoder worker and out to the heads worker, plus the heads' own inputs.
  const headsHop = 2 * n * 1056 * 4 + n * (64 + 64 + 4) * 4;
  return { encoderIn, headsHop };
}

async function main(): Promise<void> {
  const stack = new Stack();
  const profileDir = args['profile-router'] ? await mkdtemp(join(tmpdir(), 'rank-bench-profile-')) : undefined;
  const workerProfileDir = args['profile-worker'] ? await mkdtemp(join(tmpdir(), 'rank-bench-worker-profile-')) : undefined;
  const cpuRows: string[] = [];
  const chainedRows: string[] = [];
  const chunkRows: string[] = [];
  const streamRows: string[] = [];
  const aloneRows: string[] = [];
  const fp16Rows: string[] = [];
  let measuredFrom = Date.now();
  const cleanup = (): void => {
    void stack.stop().then(() => process.exit(130));
  };
  process.once('SIGINT', cleanup);
  try {
    const repo = new ModelRepository(MODELS);
    const headsEntry = await repo.latestVersion('ranking_heads');
    if (!headsEntry) throw new Error(`no ranking_heads version in ${MODELS}`);
    const heads = await repo.readConfig(headsEntry);
    const t0 = Date.now();
    await stack.startUpstreams({ items: Number(args.items), users: Number(args.users), actionsPerUser: 120, pinnerformerVersion: heads.pinnerformerVersion ?? '1' });
    const worker = async (role: 'gpu' | 'cpu', models: string, placements: string): Promise<string> => {
      const address = `127.0.0.1:${await freePort()}`;
      await stack.start(`worker-${role}`, 'apps/ranker/src/main.ts', {
        RANKER_ROLE: role,
        RANKER_ADDR: address,
        RANKER_METRICS_ADDR: `127.0.0.1:${await freePort()}`,
        RANKER_MODEL_REPOSITORY: MODELS,
        RANKER_MODELS: models,
        RANKER_PLACEMENTS: placements,
        RANKER_INTRA_OP_THREADS: '1',
        RANKER_WATCH: 'off',
      }, [], undefined, role === 'gpu' && workerProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${workerProfileDir}`] : []);
      return address;
    };
    // The GPU-role worker also loads the heads, for the "both models on the GPU worker" variant.
    const gpu = await worker('gpu', 'transact_encoder,ranking_heads', 'gpu,cpu');
    const cpu = await worker('cpu', 'ranking_heads,ranking_heads_lite,transact_encoder', 'cpu,gpu');
    const routerAddresses = new Map<RankerClient, string>();
    const router = async (name: string, extra: Record<string, string>, root?: string, nodeArgs: string[] = []): Promise<RankerClient> => {
      const address = `127.0.0.1:${await freePort()}`;
      await stack.start(name, 'apps/ranker/bench/router-process.ts', {
        ...stack.routerEnv({ address, gpu, cpu, models: MODELS, sequenceLength: S }),
        RANKER_CHUNK_SIZE: String(args.chunk),
        // Two shared cores: generous per-call caps, so every variant measures the full path rather than its fallbacks.
        RANKER_SEQUENCE_TIMEOUT_MS: '5000',
        RANKER_EMBEDDINGS_TIMEOUT_MS: '5000',
        // The GPU-role worker here computes on CPU and has the heads: the split variants stay split (the "chained" one is asked for).
        RANKER_AUTO_CHAIN: 'false',
        ...extra,
      }, [], root, nodeArgs);
      const client = createClient(RankerClient, address);
      routerAddresses.set(client, address);
      return client;
    };
    // --router-node-args go to the split router; --profile-router: V8 writes a CPU profile of the --profile-variant router when it exits.
    const nodeArgsOf = (v: Served): string[] => [
      ...(v === 'served' ? String(args['router-node-args']).split(' ').filter((a) => a !== '') : []),
      ...(profileDir && v === PROFILED ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ];
    const ONLY_CHAINED = Boolean(args['only-chained']);
    const clients: Partial<Record<Served, RankerClient>> = {
      ...(ONLY_CHAINED
        ? {}
        : {
            served: await router('router', {}, undefined, nodeArgsOf('served')),
            per_candidate: await router('router-per-candidate', { RANKER_SEQUENCE_MODE: 'per_candidate' }),
            heads_on_gpu: await router('router-heads-on-gpu', { RANKER_PLACEMENT: 'ranking_heads=gpu', RANKER_CHAIN_MODELS: 'false' }),
          }),
      // Both models on the GPU-role worker as one chained ModelInfer (the encoder output stays on the worker).
      chained: await router('router-chained', { RANKER_PLACEMENT: 'ranking_heads=gpu' }, undefined, nodeArgsOf('chained')),
      // --compare-chunk: the default split router with another chunk size, on the same requests.
      ...(args['compare-chunk'] && !ONLY_CHAINED ? { chunk_alt: await router('router-chunk-alt', { RANKER_CHUNK_SIZE: String(args['compare-chunk']) }) } : {}),
      ...(UNARY_TWIN.length > 0
        ? { chained_unary: await router('router-chained-unary', { RANKER_PLACEMENT: 'ranking_heads=gpu', ...Object.fromEntries(UNARY_TWIN.map((v) => [v, 'false'])) }) }
        : {}),
      ...(BASELINE && !ONLY_CHAINED ? { baseline: await router('baseline-router', {}, BASELINE) } : {}),
    };
    const variants = Object.keys(clients) as Served[];
    const chainedAddress = clients.chained ? routerAddresses.get(clients.chained) : undefined;
    const routerHealth = ONLY_CHAINED && chainedAddress ? createClient(HealthClient, chainedAddress) : undefined;
    const rank = (c: RankerClient, req: RankRequest): Promise<RankResponse> => callUnary(c.rank.bind(c), req, { timeoutMs: 30_000, retry: false });
    for (const c of Object.values(clients)) {
      await waitFor(async () => {
        const res = await rank(c, RankRequest.fromPartial({ userId: stack.userIds[0], candidateItemIds: stack.itemIds.slice(0, 10) }));
        if (res.degraded.length > 0) throw new Error(`degraded: ${res.degraded.join(',')}`);
      }, 120_000);
    }
    const setupS = (Date.now() - t0) / 1000;

    const fs = createClient(FeatureServerClient, stack.featureServer);
    const es = createClient(EmbeddingStoreClient, stack.embeddingStore);
    const local = await InProcessRanker.load(MODELS, {}, 1);
    const rand = prng(11);
    const rows: string[] = [];
    const baselineRows: string[] = [];
    measuredFrom = Date.now();
    const results: Record<string, unknown> = {};
    for (const n of SIZES) {
      const samples: Record<Variant, number[]> = { served: [], per_candidate: [], heads_on_gpu: [], chained: [], chunk_alt: [], chained_unary: [], baseline: [], in_process: [] };
      // Per request: chained (lookup streams) ms ÷ chained with unary lookups ms; and when each had its embeddings.
      const streamRatios: number[] = [];
      const lookupsDone: { chained: number[]; chained_unary: number[] } = { chained: [], chained_unary: [] };
      const chunkRatios: number[] = [];
      // Per request: chained ms ÷ served ms (same inputs, back to back).
      const chainedRatios: number[] = [];
      const byRequest: Partial<Record<Served, number>> = {};
      const degraded: Record<string, number> = {};
      // Per request, for served vs baseline: end-to-end ms and when the embedding lookups were done (from the routers' stage timings).
      const paired: Array<{ served?: number; baseline?: number; servedLookups?: number; baselineLookups?: number }> = [];
      // Per stage of the served (split) and chained routers: when it started and ended (ms after the request start), to see the critical path.
      const stagesOf = { served: new Map<string, { start: number[]; end: number[] }>(), chained: new Map<string, { start: number[]; end: number[] }>() };
      const errors: Record<string, number> = {};
      // --only-chained: the hop around the chained router (the client's clock less the router's own \`total\`), and a
      // grpc.health.v1 Check of the same router after as long an idle time as a Rank gets (the bare hop's floor).
      const hop: number[] = [];
      const hopFloor: number[] = [];
      for (let r = 0; r < WARMUP + REQUESTS; r++) {
        const userId = stack.userIds[r % stack.userIds.length] ?? '';
        const pool = [...stack.itemIds];
        const candidates: string[] = [];
        for (let k = 0; k < n; k++) candidates.push(pool.splice(Math.floor(rand() * pool.length), 1)[0] ?? '');
        const requestTimeMs = Date.now();
        const req = RankRequest.fromPartial({ userId, candidateItemIds: candidates, requestTimeMs });
        // Alternate which router goes first, so neither always meets warmer caches.
        for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
          const client = clients[v];
          if (!client) continue;
          const t = performance.now();
          let res: RankResponse;
          try {
            res = await rank(client, req);
          } catch (err) {
            errors[v] = (errors[v] ?? 0) + 1;
            process.stderr.write(`${v}: ${err instanceof Error ? err.message : String(err)}\n`);
            continue;
          }
          const ms = performance.now() - t;
          byRequest[v] = ms;
          for (const flag of res.degraded) degraded[`${v}:${degradedFlagToJSON(flag)}`] = (degraded[`${v}:${degradedFlagToJSON(flag)}`] ?? 0) + 1;
          if (r >= WARMUP) samples[v].push(ms);
          if (r >= WARMUP && (v === 'served' || v === 'baseline')) {
            const p = (paired[r - WARMUP] ??= {});
            p[v] = ms;
            p[v === 'served' ? 'servedLookups' : 'baselineLookups'] = lookupsDoneMs(res);
          }
          if (r >= WARMUP && (v === 'chained' || v === 'chained_unary')) {
            const done = lookupsDoneMs(res);
            if (done !== undefined) lookupsDone[v].push(done);
          }
          const total = res.timings.find((x) => x.stage === 'total');
          if (r >= WARMUP && v === 'chained' && ONLY_CHAINED && total) hop.push(ms - (total.startMs + total.ms));
          if (r >= WARMUP && (v === 'served' || v === 'chained')) {
            const stages = stagesOf[v];
            for (const t of res.timings) {
              const st = stages.get(t.stage) ?? { start: [], end: [] };
              st.start.push(t.startMs);
              st.end.push(t.startMs + t.ms);
              stages.set(t.stage, st);
            }
          }
        }
        if (r >= WARMUP && byRequest.served !== undefined && byRequest.chained !== undefined) chainedRatios.push(byRequest.chained / byRequest.served);
        if (r >= WARMUP && byRequest.chained !== undefined && byRequest.chained_unary !== undefined) streamRatios.push(byRequest.chained / byRequest.chained_unary);
        if (r >= WARMUP && byRequest.served !== undefined && byRequest.chunk_alt !== undefined) chunkRatios.push(byRequest.served / byRequest.chunk_alt);
        delete byRequest.served;
        delete byRequest.chained;
        delete byRequest.chunk_alt;
        delete byRequest.chained_unary;
        if (ONLY_CHAINED && routerHealth && r >= WARMUP) {
          // As idle as before a Rank (the in-process run's time), then the cheapest call the router serves.
          await new Promise((resolve) => setTimeout(resolve, median(samples.in_process.length > 0 ? samples.in_process : [40])));
          const t = performance.now();
          await callUnary(routerHealth.check.bind(routerHealth), HealthCheckRequest.fromPartial({ service: '' }), { timeoutMs: 10_000, retry: false });
          hopFloor.push(performance.now() - t);
        }
        // The same inputs, fetched outside the timed region, through the two models in this process.
        const x = await inputsFor(fs, es, userId, candidates, requestTimeMs);
        const t = performance.now();
        await local.run(x);
        if (r >= WARMUP) samples.in_process.push(performance.now() - t);
      }
      // CPU per request by tier: served requests alone (nothing else running), then the same inputs in process.
      const cpu = clients.served ? await cpuPerRequest(stack, clients.served, 'router', n, rand, local, fs, es, rank) : undefined;
      if (cpu) cpuRows.push(cpuRow(n, cpu));
      const cpuChained = await cpuPerRequest(stack, clients.chained as RankerClient, 'router-chained', n, rand, local, fs, es, rank);
      cpuRows.push(cpuRow(n, cpuChained, ' (chained)'));
      fp16Rows.push(fp16Row(n, (cpu ?? cpuChained).fp16));
      if (args.smoke && (Object.keys(degraded).length > 0 || Object.keys(errors).length > 0)) {
        throw new Error(`smoke: ${n} candidates: degraded ${JSON.stringify(degraded)}, failed ${JSON.stringify(errors)}`);
      }
      const s = Object.fromEntries(Object.entries(samples).filter(([, v]) => v.length > 0).map(([k, v]) => [k, stats(v)])) as Record<Variant, ReturnType<typeof stats>>;
      const dedup = tensorBytes(n, Number(args.chunk), 'dedup');
      const copy = tensorBytes(n, Number(args.chunk), 'per_candidate');
      results[`n${n}`] = { ...s, bytes: { dedup, copy }, degraded, errors };
      const f = (x: number): string => x.toFixed(1);
      for (const [v, stages] of Object.entries(stagesOf)) {
        (results[`n${n}`] as Record<string, unknown>)[`${v}StagesP50`] = Object.fromEntries(
          [...stages.entries()].map(([stage, st]) => [stage, { start: Math.round(median(st.start) * 10) / 10, end: Math.round(median(st.end) * 10) / 10 }]),
        );
      }
      if (!s.served) {
        aloneRows.push(
          `| ${n} | ${f(s.chained.p50)} / ${f(s.chained.p99)} | ${f(s.in_process.p50)} / ${f(s.in_process.p99)} | ${(s.chained.p50 / s.in_process.p50).toFixed(2)}× | ${(s.chained.p99 / s.in_process.p99).toFixed(2)}× | ` +
            `${hop.length > 0 ? f(median(hop)) : '—'} | ${hopFloor.length > 0 ? f(median(hopFloor)) : '—'} | ${Object.values(degraded).reduce((a, b) => a + b, 0)} / ${Object.values(errors).reduce((a, b) => a + b, 0)} |`,
        );
      } else rows.push(
        `| ${n} | ${f(s.served.p50)} / ${f(s.served.p99)} | ${f(s.in_process.p50)} / ${f(s.in_process.p99)} | ${(s.served.p50 / s.in_process.p50).toFixed(2)}× | ` +
          `${f(s.per_candidate.p50)} / ${f(s.per_candidate.p99)} | ${(dedup.encoderIn / 1024).toFixed(0)} KiB vs ${(copy.encoderIn / 1024).toFixed(0)} KiB | ` +
          `${f(s.heads_on_gpu.p50)} / ${f(s.heads_on_gpu.p99)} | ${(dedup.headsHop / 1024).toFixed(0)} KiB | ${Object.values(degraded).reduce((a, b) => a + b, 0)} / ${Object.values(errors).reduce((a, b) => a + b, 0)} |`,
      );
      if (s.served) chainedRows.push(
        `| ${n} | ${f(s.served.p50)} / ${f(s.served.p99)} | ${f(s.chained.p50)} / ${f(s.chained.p99)} | ${f(s.in_process.p50)} / ${f(s.in_process.p99)} | ` +
          `${(s.chained.p50 / s.in_process.p50).toFixed(2)}× | ${(s.chained.p99 / s.in_process.p99).toFixed(2)}× | ${(s.chained.p50 / s.served.p50).toFixed(3)}× | ${median(chainedRatios).toFixed(3)}× |`,
      );
      (results[`n${n}`] as Record<string, unknown>)['chainedOverServedMedian'] = median(chainedRatios);
      if (s.chunk_alt) {
        chunkRows.push(
          `| ${n} | ${f(s.served.p50)} / ${f(s.served.p99)} | ${f(s.chunk_alt.p50)} / ${f(s.chunk_alt.p99)} | ${(s.served.p50 / s.in_process.p50).toFixed(2)}× vs ${(s.chunk_alt.p50 / s.in_process.p50).toFixed(2)}× | ` +
            `${(s.served.p50 / s.chunk_alt.p50).toFixed(3)}× | ${median(chunkRatios).toFixed(3)}× |`,
        );
      }
      if (s.chained_unary) {
        const [ls, lu] = [median(lookupsDone.chained), median(lookupsDone.chained_unary)];
        streamRows.push(
          `| ${n} | ${f(s.chained.p50)} / ${f(s.chained.p99)} | ${f(s.chained_unary.p50)} / ${f(s.chained_unary.p99)} | ${(s.chained.p50 / s.chained_unary.p50).toFixed(3)}× | ${median(streamRatios).toFixed(3)}× | ` +
            `${f(ls)} vs ${f(lu)} (${(ls / lu).toFixed(3)}×) |`,
        );
        (results[`n${n}`] as Record<string, unknown>)['streamsOverUnaryMedian'] = median(streamRatios);
      }
      if (s.baseline) {
        const both = paired.filter((p) => p.served !== undefined && p.baseline !== undefined);
        const ratio = median(both.map((p) => (p.served as number) / (p.baseline as number)));
        const lookups = both.filter((p) => p.servedLookups !== undefined && p.baselineLookups !== undefined);
        const servedLookups = median(lookups.map((p) => p.servedLookups as number));
        const baselineLookups = median(lookups.map((p) => p.baselineLookups as number));
        baselineRows.push(
          `| ${n} | ${(s.served.p50 / s.baseline.p50).toFixed(3)}× | ${ratio.toFixed(3)}× | ${(s.served.p99 / s.baseline.p99).toFixed(3)}× | ${(s.served.mean / s.baseline.mean).toFixed(3)}× | ` +
            `${f(servedLookups)} vs ${f(baselineLookups)} (${(servedLookups / baselineLookups).toFixed(3)}×) |`,
        );
        results[`n${n}`] = { ...(results[`n${n}`] as object), paired: { medianRatio: ratio, lookupsDoneP50: { served: servedLookups, baseline: baselineLookups } } };
      }
    }
    fs.close();
    es.close();
    routerHealth?.close();
    await local.release();
    process.stdout.write(
      [
        `requests per size: ${REQUESTS} (+${WARMUP} warm-up), sequential; S=${S}; chunk ${args.chunk}; ${args.items} items, ${args.users} users; setup ${setupS.toFixed(0)} s`,
        '',
        ...(rows.length > 0
          ? [
              '| candidates | served Rank p50 / p99 ms | in-process models p50 / p99 ms | overhead (p50) | per-candidate sequence p50 / p99 ms | encoder input bytes dedup vs copy | both models on GPU worker p50 / p99 ms | heads hop bytes | degraded / failed responses |',
              '|---|---|---|---|---|---|---|---|---|',
              ...rows,
              '',
            ]
          : []),
        ...(aloneRows.length > 0
          ? [
              'The chained router alone (--only-chained; encoder and heads as one call on the GPU-role worker), against the two models in this process:',
              '',
              '| candidates | chained Rank p50 / p99 ms | in-process models p50 / p99 ms | overhead (p50) | overhead (p99) | client → router → client (client clock − router total), p50 ms | a Health Check of the router after as long idle, p50 ms | degraded / failed responses |',
              '|---|---|---|---|---|---|---|---|',
              ...aloneRows,
              '',
            ]
          : []),
        ...(chunkRows.length > 0
          ? [
              `Chunks of ${args.chunk} (served) vs ${args['compare-chunk']} candidates per ModelInfer, default placement, same requests:`,
              '',
              `| candidates | chunk ${args.chunk} p50 / p99 ms | chunk ${args['compare-chunk']} p50 / p99 ms | overhead over in-process (p50) | p50 ratio | median per-request ratio |`,
              '|---|---|---|---|---|---|',
              ...chunkRows,
              '',
            ]
          : []),
        ...(streamRows.length > 0
          ? [
              `Chained routers, calls as messages on open streams (the default) vs a twin with ${UNARY_TWIN.map((v) => `${v}=false`).join(' and ')} (unary calls), same requests:`,
              '',
              '| candidates | streams p50 / p99 ms | unary p50 / p99 ms | p50 ratio | median per-request ratio | embedding lookups done by, p50 ms (streams vs unary) |',
              '|---|---|---|---|---|---|',
              ...streamRows,
              '',
            ]
          : []),
        ...(chainedRows.length > 0
          ? [
              'Encoder and heads as one chained call on the GPU-role worker (RANKER_PLACEMENT=ranking_heads=gpu; the [n,1056] output stays on the worker) vs the default split:',
              '',
              '| candidates | split (default) p50 / p99 ms | chained p50 / p99 ms | in-process models p50 / p99 ms | chained overhead (p50) | chained overhead (p99) | chained ÷ split p50 | median of per-request chained ÷ split |',
              '|---|---|---|---|---|---|---|---|',
              ...chainedRows,
              '',
            ]
          : []),
        `CPU time per request by tier: ${CPU_REQUESTS} served requests alone, sequential (process CPU from /proc, each with its children), vs the same inputs through the two models in this process:`,
        '',
        `| candidates | ${CPU_TIERS.join(' | ')} | all served tiers | in-process models | served ÷ in-process CPU |`,
        `|---|${CPU_TIERS.map(() => '---|').join('')}---|---|---|`,
        ...cpuRows,
        '',
        `FP16 encoder output (the [n,1056] hop at half the bytes), same ${CPU_REQUESTS} requests in process: heads' probabilities against float32, and the conversion's cost in JS:`,
        '',
        '| candidates | max abs diff of probs | mean abs diff | top-k agreement (by summed probs) | float32 → FP16 → float32 ms |',
        '|---|---|---|---|---|',
        ...fp16Rows,
        '',
        ...(baselineRows.length > 0
          ? [`this router vs the router of ${BASELINE} (same stack, interleaved requests; < 1 is faster):`, '', '| candidates | p50 ratio | median of per-request ratios | p99 ratio | mean ratio | embedding lookups done by, p50 ms (this vs baseline) |', '|---|---|---|---|---|---|', ...baselineRows, '']
          : []),
        JSON.stringify(results),
        '',
      ].join('\n'),
    );
  } finally {
    await stack.stop();
  }
  const lastMs = Date.now() - measuredFrom;
  if (profileDir) {
    const f = await biggestProfile(profileDir, '--profile-router');
    const title = `CPU profile of the ${PROFILED === 'served' ? 'served (split)' : 'chained'} router, measured requests only (its last ${(lastMs / 1000).toFixed(0)} s; the whole profile, start-up included, is kept in ${f})`;
    process.stdout.write(formatProfileSummary(title, summariseProfileFile(f, 30, lastMs)));
  }
  if (workerProfileDir) {
    const f = await biggestProfile(workerProfileDir, '--profile-worker');
    const title = `CPU profile of the GPU-role worker, measured requests only (its last ${(lastMs / 1000).toFixed(0)} s; the whole profile is kept in ${f})`;
    process.stdout.write(formatProfileSummary(title, summariseProfileFile(f, 30, lastMs)));
  }
}

/** The largest profile V8 wrote under `dir`: a service and its tsx parent each write one, and the service's holds the work. */
async function biggestProfile(dir: string, option: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  const sized = await Promise.all(files.map(async (f) => ({ f, bytes: (await stat(f)).size })));
  const biggest = sized.sort((a, b) => b.bytes - a.bytes)[0];
  if (!biggest) throw new Error(`${option}: no profile written under ${dir}`);
  return biggest.f;
}

/** The processes whose CPU the bench reports, as the stack names them. */
const CPU_TIERS = ['router', 'worker-gpu', 'worker-cpu', 'feature-server', 'embedding-store'] as const;

interface CpuPerRequest {
  /** CPU ms per request of each tier. */
  tiers: Record<string, number>;
  /** CPU ms per request of the two models in this process. */
  inProcess: number;
  /** The encoder output through FP16 and back before the heads, against float32: what a half-width wire would cost. */
  fp16: Fp16Effect;
}

/** What rounding the [n,1056] encoder output to FP16 does to the scores, and what the conversion costs. */
interface Fp16Effect {
  maxAbsDiff: number;
  meanAbsDiff: number;
  /** Share of the top k (by the sum of the heads' probabilities) that stays in the top k. */
  topKAgreement: number;
  k: number;
  /** float32 → FP16 → float32 of the encoder output, ms per request (both ends of the wire). */
  convertMs: number;
}

/** The k indices with the largest sum of their H probabilities. */
function topK(probs: Float32Array, n: number, k: number): Set<number> {
  const H = probs.length / n;
  const utility = Array.from({ length: n }, (_, i) => probs.subarray(i * H, (i + 1) * H).reduce((a, b) => a + b, 0));
  return new Set([...utility.keys()].sort((a, b) => (utility[b] as number) - (utility[a] as number)).slice(0, k));
}

/** CPU ms per Rank of each tier with only one router busy (`routerProcess`, counted as "router"), and of the same inputs run in process. */
async function cpuPerRequest(
  stack: Stack,
  client: RankerClient,
  routerProcess: string,
  n: number,
  rand: () => number,
  local: InProcessRanker,
  fs: FeatureServerClient,
  es: EmbeddingStoreClient,
  rank: (c: RankerClient, req: RankRequest) => Promise<RankResponse>,
): Promise<CpuPerRequest> {
  const requests = Array.from({ length: CPU_REQUESTS }, (_, r) => {
    const pool = [...stack.itemIds];
    const candidates = Array.from({ length: n }, () => pool.splice(Math.floor(rand() * pool.length), 1)[0] ?? '');
    return RankRequest.fromPartial({ userId: stack.userIds[r % stack.userIds.length] ?? '', candidateItemIds: candidates, requestTimeMs: Date.now() });
  });
  const before = stack.cpuSeconds();
  for (const req of requests) {
    const res = await rank(client, req);
    if (res.degraded.length > 0) throw new Error(`CPU phase: degraded answer (${res.degraded.map(degradedFlagToJSON).join(', ')})`);
  }
  const after = stack.cpuSeconds();
  const tiers: Record<string, number> = {};
  for (const t of CPU_TIERS) {
    const name = t === 'router' ? routerProcess : t;
    tiers[t] = (((after[name] ?? 0) - (before[name] ?? 0)) * 1000) / requests.length;
  }
  let inProcessUs = 0;
  const fp16: Fp16Effect = { maxAbsDiff: 0, meanAbsDiff: 0, topKAgreement: 0, k: Math.min(50, n), convertMs: 0 };
  let diffs = 0;
  for (const req of requests) {
    const x = await inputsFor(fs, es, req.userId, req.candidateItemIds, req.requestTimeMs);
    const c0 = process.cpuUsage();
    await local.run(x);
    const c = process.cpuUsage(c0);
    inProcessUs += c.user + c.system;
    const { reference, transformed } = await local.compareEncoded(x, (encoded) => {
      const t = performance.now();
      const back = fromFloat16(toFloat16(encoded));
      fp16.convertMs += (performance.now() - t) / requests.length;
      return back;
    });
    for (let i = 0; i < reference.length; i++) {
      const d = Math.abs((reference[i] as number) - (transformed[i] as number));
      fp16.maxAbsDiff = Math.max(fp16.maxAbsDiff, d);
      fp16.meanAbsDiff += d;
    }
    diffs += reference.length;
    const a = topK(reference, n, fp16.k);
    const b = topK(transformed, n, fp16.k);
    fp16.topKAgreement += [...a].filter((i) => b.has(i)).length / fp16.k / requests.length;
  }
  fp16.meanAbsDiff /= diffs;
  return { tiers, inProcess: inProcessUs / 1000 / requests.length, fp16 };
}

function fp16Row(n: number, f: Fp16Effect): string {
  return `| ${n} | ${f.maxAbsDiff.toExponential(2)} | ${f.meanAbsDiff.toExponential(2)} | ${(f.topKAgreement * 100).toFixed(1)}% (k ${f.k}) | ${f.convertMs.toFixed(2)} |`;
}

function cpuRow(n: number, c: CpuPerRequest, label = ''): string {
  const total = CPU_TIERS.reduce((a, t) => a + (c.tiers[t] ?? 0), 0);
  return `| ${n}${label} | ${CPU_TIERS.map((t) => (c.tiers[t] ?? 0).toFixed(1)).join(' | ')} | ${total.toFixed(1)} | ${c.inProcess.toFixed(1)} | ${(total / c.inProcess).toFixed(2)}× |`;
}

/** Median of a list (NaN when empty). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

/**
 * When a router had both embedding lookups back, ms after its request start:
 * the latest end of its `content` / `tower` stages (or of the one `embeddings`
 * stage of routers that reported them as one, which began at the request start).
 */
function lookupsDoneMs(res: RankResponse): number | undefined {
  const ends = res.timings.filter((t) => t.stage === 'content' || t.stage === 'tower' || t.stage === 'embeddings').map((t) => t.startMs + t.ms);
  return ends.length > 0 ? Math.max(...ends) : undefined;
}

async function inputsFor(fs: FeatureServerClient, es: EmbeddingStoreClient, userId: string, items: string[], asOfMs: number): Promise<RankingInputs> {
  const opt = { timeoutMs: 10_000 };
  const seqRes = await callUnary(fs.getRealtimeSequence.bind(fs), GetRealtimeSequenceRequest.fromPartial({ userId, maxLen: S, asOfMs }), opt);
  const content = await callUnary(es.getEmbeddings.bind(es), GetEmbeddingsRequest.fromPartial({ itemIds: items, kind: VectorKind.VECTOR_KIND_CONTENT }), opt);
  const tower = await callUnary(
    es.getEmbeddings.bind(es),
    GetEmbeddingsRequest.fromPartial({ userId, itemIds: items, kind: VectorKind.VECTOR_KIND_TOWER, snapshotVersion: content.snapshotVersion }),
    opt,
  );
  const seq = sequenceFromProto(seqRes, 32);
  const n = items.length;
  const userPf = new Float32Array(n * 64);
  for (let i = 0; i < n; i++) userPf.set(tower.userVector, i * 64);
  return {
    S,
    n,
    seqActionTypes: seq.actionTypes,
    seqItemVectors: seq.itemVectors,
    seqAgesS: seq.agesS,
    candVectors: decodeTensorMessage(content.itemVectors, 'float32', 'content').data,
    userPf,
    itemPf: decodeTensorMessage(tower.itemVectors, 'float32', 'tower').data,
    dense: new Float32Array(n * 4),
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
