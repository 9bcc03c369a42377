// Dynamic batching on vs off at the same offered load, over real gRPC and a real ONNX Runtime session.
// Usage: npx tsx libs/inference/bench/batching.bench.ts [--seconds 4] [--reps 2] [--load-factor 1.25] [--threads 1]
//        [--workloads encoder,light,transact_encoder] [--models models] [--max-batch-rows R] [--smoke]
// Workloads: "encoder" (user_rows, 50 candidates, a 32→256→1056 MLP per candidate: compute-bound), "light"
// (concat, 8 rows through a 64→16 affine layer: per-call overhead-bound) and "transact_encoder" (the release
// model from --models, when present: 1 user × 100 actions, 50 candidates). For each, the unbatched
// capacity is measured closed-loop, then batching off, on, and on but waiting out maxQueueDelayMs when the model
// is idle (dispatchWhenIdle false, the behaviour before idle dispatch) are offered the same open-loop rate,
// alternating `reps` times; then 200 sequential calls alternate between an idle-dispatching worker and a waiting one
// (the latency an unloaded worker adds by waiting for company). Last, the model's own capacity without gRPC:
// 32 callers straight into the model lifecycle for 2 s, batching off vs on (what stacking saves inside the worker,
// apart from the network and protocol work). Bounded: about (12 + 3 × reps × (seconds + 2)) s per workload.
// Client and server share the cores: read ratios.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { build } from 'hdr-histogram-js';
import pino from 'pino';
import { GRPCInferenceServiceClient, ModelInferRequest } from '@pinrank/proto';
import { clientChannelOptions } from '@pinrank/service-kit';
import { Registry } from 'prom-client';
import { InferenceMetrics } from '../src/inference-metrics';
import { startInferenceWorker } from '../src/inference-worker';
import { ModelRepositoryManager } from '../src/model-repository-manager';
import { ModelRepository } from '../src/model-repository';
import { decodeInferInputs } from '../src/tensor-codec';
import { transactRequest } from './transact-request';
import { affineConfig, affineModel, gatherConfig, gatherMlpModel, seededFloats, writeVersion } from '../src/testing/tiny-models';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    reps: { type: 'string', default: '2' },
    candidates: { type: 'string', default: '50' },
    'load-factor': { type: 'string', default: '1.25' },
    threads: { type: 'string', default: '1' },
    workloads: { type: 'string', default: 'encoder,light,transact_encoder' },
    models: { type: 'string', default: 'models' },
    'max-batch-rows': { type: 'string' },
    smoke: { type: 'boolean', default: false },
  },
});
// --smoke: short windows, one rep, half the measured capacity offered; checks that every
// workload runs and that no call fails except with an overload answer; times nothing.
const SMOKE = args.smoke === true;
if (SMOKE) Object.assign(args, { seconds: '0.4', reps: '1', 'load-factor': '0.5', candidates: '10' });
const WINDOW_MS = SMOKE ? 300 : 2000;
/** Answers a worker may give under load: part of what the bench measures, not failures. */
const OVERLOAD = new Set(['DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED']);
const SECONDS = Number(args.seconds);
const REPS = Number(args.reps);
const N = Number(args.candidates);
const LOAD_FACTOR = Number(args['load-factor']);
const THREADS = Number(args.threads);
const CAP = args['max-batch-rows'] ? { maxBatchSizeCap: Number(args['max-batch-rows']) } : {};
const D = 32;
const S = 100;
const HIDDEN = 256;
const OUT = 1056;
const DEADLINE_MS = 1000;
/** Sequential calls (half to each worker) of the idle-latency comparison. */
const IDLE_CALLS = 200;

const raw = (a: Float32Array | BigInt64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function encoderRequest(seed: number): ModelInferRequest {
  return ModelInferRequest.fromPartial({
    modelName: 'enc',
    inputs: [
      { name: 'seq', datatype: 'FP32', shape: [1, S, D] },
      { name: 'cand', datatype: 'FP32', shape: [N, D] },
      { name: 'cand_user_idx', datatype: 'INT64', shape: [N] },
    ],
    rawInputContents: [raw(seededFloats(S * D, seed)), raw(seededFloats(N * D, seed + 1)), raw(new BigInt64Array(N))],
  });
}

function lightRequest(seed: number): ModelInferRequest {
  return ModelInferRequest.fromPartial({
    modelName: 'light',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [8, 64] }],
    rawInputContents: [raw(seededFloats(8 * 64, seed))],
  });
}

interface RunResult {
  label: string;
  offered: number;
  completed: number;
  throughput: number;
  p50: number;
  p99: number;
  errors: Record<string, number>;
  meanBatchRows: number;
}

async function withWorker<T>(
  root: string,
  batching: boolean,
  fn: (client: GRPCInferenceServiceClient, meanBatch: () => Promise<number>) => Promise<T>,
  dispatchWhenIdle = true,
): Promise<T> {
  const worker = await startInferenceWorker({
    address: '127.0.0.1:0',
    repositoryRoot: root,
    models: { batching, dispatchWhenIdle, intraOpThreads: THREADS, interOpThreads: 1, executionProviders: ['cpu'], ...CAP },
    watch: { mode: 'off' },
    server: { signals: [] },
    logger: pino({ level: 'silent' }),
  });
  // The service kit's channel options: above all its HTTP/2 flow-control window. With grpc-js's default
  // 64 KiB window, the 211 KB encoder answers queue behind WINDOW_UPDATE round trips once calls overlap,
  // and every call times out well below the worker's capacity.
  const client = new GRPCInferenceServiceClient(`127.0.0.1:${worker.server.port}`, credentials.createInsecure(), clientChannelOptions());
  const meanBatch = async (): Promise<number> => {
    const metric = (await worker.server.metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'inference_batch_size');
    const vals = (metric?.values ?? []) as Array<{ metricName?: string; value: number }>;
    const sum = vals.find((v) => v.metricName === 'inference_batch_size_sum')?.value ?? 0;
    const count = vals.find((v) => v.metricName === 'inference_batch_size_count')?.value ?? 0;
    return count > 0 ? sum / count : 0;
  };
  try {
    return await fn(client, meanBatch);
  } finally {
    client.close();
    await worker.close();
  }
}

/** The first message seen per failure code, for the error a failed run throws. */
const firstDetails = new Map<number, string>();

function call(client: GRPCInferenceServiceClient, req: ModelInferRequest): Promise<number> {
  return new Promise((resolve) =>
    client.modelInfer(req, new Metadata(), { deadline: Date.now() + DEADLINE_MS }, (err: ServiceError | null) => {
      if (err && !firstDetails.has(err.code)) firstDetails.set(err.code, err.details);
      resolve(err ? err.code : status.OK);
    }),
  );
}

/** Closed loop with `concurrency` callers for `ms`: the unbatched capacity estimate. */
async function capacity(client: GRPCInferenceServiceClient, reqs: ModelInferRequest[], ms: number, concurrency: number): Promise<number> {
  const end = Date.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, k) => {
      for (let i = k; Date.now() < end; i += concurrency) if ((await call(client, reqs[i % reqs.length]!)) === status.OK) done++;
    }),
  );
  return done / (ms / 1000);
}

/**
 * One caller, one request at a time, sent in turn to a worker whose idle model
 * dispatches at once and to one that waits out maxQueueDelayMs: the latency an
 * unloaded worker adds by waiting for company. p50 / p99 ms of each.
 */
async function idleLatency(root: string, reqs: ModelInferRequest[], calls: number): Promise<{ atOnce: { p50: number; p99: number }; waits: { p50: number; p99: number } }> {
  const timed = async (client: GRPCInferenceServiceClient, req: ModelInferRequest, into: number[]): Promise<void> => {
    const t0 = performance.now();
    const code = await call(client, req);
    if (code !== status.OK) throw new Error(`idle latency: a call failed with ${String(status[code])}`);
    into.push(performance.now() - t0);
  };
  const atOnce: number[] = [];
  const waits: number[] = [];
  await withWorker(root, true, (a) =>
    withWorker(
      root,
      true,
      async (b) => {
        for (let i = 0; i < 4; i++) await Promise.all([call(a, reqs[i]!), call(b, reqs[i]!)]); // warm both connections
        for (let i = 0; i < calls; i++) {
          const req = reqs[i % reqs.length]!;
          if (i % 2 === 0) {
            await timed(a, req, atOnce);
            await timed(b, req, waits);
          } else {
            await timed(b, req, waits);
            await timed(a, req, atOnce);
          }
        }
      },
      false,
    ),
  );
  const pct = (xs: number[], q: number): number => +[...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!.toFixed(2);
  return { atOnce: { p50: pct(atOnce, 0.5), p99: pct(atOnce, 0.99) }, waits: { p50: pct(waits, 0.5), p99: pct(waits, 0.99) } };
}

/** In-process, no gRPC: `concurrency` callers straight into the model lifecycle for `ms`. */
async function inProcess(root: string, batching: boolean, reqs: ModelInferRequest[], ms: number, concurrency: number): Promise<{ perS: number; meanBatchRows: number }> {
  const registry = new Registry();
  const manager = new ModelRepositoryManager({
    repository: new ModelRepository(root),
    batching,
    intraOpThreads: THREADS,
    interOpThreads: 1,
    executionProviders: ['cpu'],
    metrics: new InferenceMetrics(registry),
    ...CAP,
  });
  await manager.loadAll();
  const model = reqs[0]!.modelName;
  const inputs = reqs.map((r) => decodeInferInputs(r).inputs);
  const end = performance.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, k) => {
      for (let i = k; performance.now() < end; i += concurrency) {
        await manager.lifecycle.infer(model, '', inputs[i % inputs.length]!, []);
        done++;
      }
    }),
  );
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'inference_batch_size');
  const vals = (metric?.values ?? []) as Array<{ metricName?: string; value: number }>;
  const sum = vals.find((v) => v.metricName === 'inference_batch_size_sum')?.value ?? 0;
  const count = vals.find((v) => v.metricName === 'inference_batch_size_count')?.value ?? 1;
  await manager.close();
  return { perS: done / (ms / 1000), meanBatchRows: sum / count };
}

/** Open loop: sends `rate` requests per second for `seconds`, whatever the answers. */
async function openLoop(label: string, client: GRPCInferenceServiceClient, reqs: ReadonlyArray<ModelInferRequest>, rate: number, meanBatch: () => Promise<number>): Promise<RunResult> {
  const hist = build({ numberOfSignificantValueDigits: 3 });
  const errors: Record<string, number> = {};
  const inflight: Array<Promise<void>> = [];
  const start = performance.now();
  let sent = 0;
  let completed = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - start) / 1000;
      if (elapsed >= SECONDS) {
        clearInterval(tick);
        resolve();
        return;
      }
      const due = Math.floor(elapsed * rate);
      for (; sent < due; sent++) {
        const t0 = performance.now();
        inflight.push(
          call(client, reqs[sent % reqs.length]!).then((code) => {
            if (code === status.OK) {
              completed++;
              hist.recordValue(Math.round((performance.now() - t0) * 1000));
            } else {
              const name = String(status[code]);
              errors[name] = (errors[name] ?? 0) + 1;
            }
          }),
        );
      }
    }, 2);
  });
  await Promise.all(inflight);
  const wall = (performance.now() - start) / 1000;
  return {
    label,
    offered: rate,
    completed,
    throughput: completed / wall,
    p50: hist.getValueAtPercentile(50) / 1000,
    p99: hist.getValueAtPercentile(99) / 1000,
    errors,
    meanBatchRows: await meanBatch(),
  };
}

interface Workload {
  name: string;
  description: string;
  write: (root: string) => Promise<void>;
  request: (seed: number) => ModelInferRequest;
}

const WORKLOADS: Workload[] = [
  {
    name: 'encoder',
    description: `user_rows: gather + MLP ${D}→${HIDDEN}→${OUT} per candidate; ${N} candidates and a 1×${S}×${D} sequence per request`,
    write: async (root) => {
      const config = gatherConfig('enc', '1', D, OUT, {
        batching: { mode: 'user_rows', maxBatchSize: 16 * N, maxQueueDelayMs: 2, queueLimit: 512, userInputs: ['seq'], indexInput: 'cand_user_idx' },
        warmup: { runs: 2, batchSize: N },
      });
      await writeVersion(root, config, gatherMlpModel(D, HIDDEN, OUT));
    },
    request: encoderRequest,
  },
  {
    name: 'light',
    description: 'concat: 8 rows × 64 → affine → 16 per request',
    write: async (root) => {
      const config = affineConfig('light', '1', 64, 16, { batching: { mode: 'concat', maxBatchSize: 256, maxQueueDelayMs: 1, queueLimit: 1024, userInputs: [] } });
      await writeVersion(root, config, affineModel(64, 16));
    },
    request: lightRequest,
  },
  {
    name: 'transact_encoder',
    description: `the release transact_encoder: 1 user × ${S} actions, ${N} candidates per request (its config's batching)`,
    write: async (root) => {
      await cp(join(args.models!, 'transact_encoder'), join(root, 'transact_encoder'), { recursive: true });
    },
    request: (seed) => transactRequest(N, seed),
  },
];

const summary = (r: RunResult) => ({ ...r, throughput: Math.round(r.throughput), p50: +r.p50.toFixed(2), p99: +r.p99.toFixed(2), meanBatchRows: +r.meanBatchRows.toFixed(1) });
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function runWorkload(w: Workload): Promise<unknown> {
  const root = await mkdtemp(join(tmpdir(), 'pinrank-bench-'));
  try {
    await w.write(root);
    const reqs = Array.from({ length: 16 }, (_, i) => w.request(100 + i * 3));
    const cap = await withWorker(root, false, (client) => capacity(client, reqs, WINDOW_MS, 8));
    const rate = Math.max(1, Math.round(cap * LOAD_FACTOR));
    const off: RunResult[] = [];
    const on: RunResult[] = [];
    const onWaiting: RunResult[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      off.push(await withWorker(root, false, (client, mb) => openLoop('batching off', client, reqs, rate, mb)));
      on.push(await withWorker(root, true, (client, mb) => openLoop('batching on', client, reqs, rate, mb)));
      onWaiting.push(await withWorker(root, true, (client, mb) => openLoop('batching on, waiting when idle', client, reqs, rate, mb), false));
    }
    const idle = await idleLatency(root, reqs, SMOKE ? 6 : IDLE_CALLS);
    const direct = { off: await inProcess(root, false, reqs, WINDOW_MS, 32), on: await inProcess(root, true, reqs, WINDOW_MS, 32) };
    const failures = [...off, ...on, ...onWaiting].flatMap((r) => Object.entries(r.errors).filter(([code]) => !OVERLOAD.has(code)));
    if (failures.length > 0) {
      const why = [...firstDetails].map(([code, details]) => `${String(status[code])}: ${details}`).join('; ');
      throw new Error(`${w.name}: calls failed: ${JSON.stringify(failures)} (first of each: ${why})`);
    }
    if ([...off, ...on, ...onWaiting].some((r) => r.completed === 0 && r.offered * SECONDS >= 2)) throw new Error(`${w.name}: a run completed no call`);
    const tOff = median(off.map((r) => r.throughput));
    const tOn = median(on.map((r) => r.throughput));
    return {
      workload: w.name,
      model: w.description,
      unbatchedCapacityPerS: Math.round(cap),
      offeredPerS: rate,
      runs: [...off, ...on, ...onWaiting].map(summary),
      medians: {
        off: { throughput: Math.round(tOff), p99: +median(off.map((r) => r.p99)).toFixed(2) },
        on: { throughput: Math.round(tOn), p99: +median(on.map((r) => r.p99)).toFixed(2) },
        onWaitingWhenIdle: { throughput: Math.round(median(onWaiting.map((r) => r.throughput))), p99: +median(onWaiting.map((r) => r.p99)).toFixed(2) },
      },
      idleDispatch: {
        ...idle,
        p50WaitsOverAtOnce: +(idle.waits.p50 / idle.atOnce.p50).toFixed(3),
        throughputAtOnceOverWaiting: +(tOn / median(onWaiting.map((r) => r.throughput))).toFixed(2),
        p99WaitingOverAtOnce: +(median(onWaiting.map((r) => r.p99)) / median(on.map((r) => r.p99))).toFixed(2),
      },
      ratios: {
        throughputOnOverOff: +(tOn / tOff).toFixed(2),
        p99OffOverOn: +(median(off.map((r) => r.p99)) / median(on.map((r) => r.p99))).toFixed(2),
      },
      inProcess: {
        offPerS: Math.round(direct.off.perS),
        onPerS: Math.round(direct.on.perS),
        onMeanBatchRows: +direct.on.meanBatchRows.toFixed(1),
        capacityOnOverOff: +(direct.on.perS / direct.off.perS).toFixed(2),
      },
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const report: unknown[] = [];
  const wanted = args.workloads!.split(',');
  for (const w of WORKLOADS.filter((x) => wanted.includes(x.name))) {
    if (w.name === 'transact_encoder' && !existsSync(join(args.models!, 'transact_encoder'))) {
      process.stderr.write(`skipping transact_encoder: no ${join(args.models!, 'transact_encoder')}\n`);
      continue;
    }
    report.push(await runWorkload(w));
  }
  process.stdout.write(`${JSON.stringify({ ...CAP, intraOpThreads: THREADS, secondsPerRun: SECONDS, reps: REPS, loadFactor: LOAD_FACTOR, workloads: report }, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
