// transact_encoder on a GPU host: the WebGPU execution provider against the CPU
// provider with many intra-op threads, in one run, on the same inputs.
//
// Self-contained on purpose (Node built-ins and onnxruntime-node only), so its
// bundle runs on a host without the repository's node_modules:
//
//   npm run gpu:bundle                                 # -> dist/gpu/encoder-device-bench.js
//   node dist/gpu/encoder-device-bench.js [--model models/transact_encoder/<v>/model.onnx]
//        [--candidates 100,500,1000,4000] [--cpu-threads 16] [--rounds 7] [--out <dir>]
//
// Rehearse it here (no GPU: the webgpu rows say why they are missing and the
// CPU rows still run); on the GPU host see docs/benchmarks.md ("GPU").
// For every candidate count: checks the WebGPU outputs equal the CPU outputs
// within 1e-4, then times both round-robin (medians), plus WebGPU with its
// outputs left on the device (preferredOutputLocation "gpu-buffer") and
// stacking 8 users in one call against one call per user. Prints a table and
// writes `encoder-device-bench.json` to --out (default $OUT, else the cwd).
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    candidates: { type: 'string', default: '100,500,1000,4000' },
    'cpu-threads': { type: 'string', default: String(Math.min(16, cpus().length)) },
    rounds: { type: 'string', default: '7' },
    'seq-len': { type: 'string', default: '100' },
    'stack-users': { type: 'string', default: '8' },
    'stack-candidates': { type: 'string', default: '128' },
    out: { type: 'string' },
  },
});

const S = Number(args['seq-len']);
const ROUNDS = Number(args.rounds);
const CPU_THREADS = Number(args['cpu-threads']);
const CANDIDATES = args.candidates!.split(',').map(Number);
const STACK_USERS = Number(args['stack-users']);
const STACK_CANDIDATES = Number(args['stack-candidates']);
const D_CONTENT = 32;
const ACTION_TYPES = 8;

/** The newest models/transact_encoder/<v>/model.onnx under the working directory. */
function newestModel(): string {
  const dir = join('models', 'transact_encoder');
  const versions = readdirSync(dir)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(dir, v, 'model.onnx')))
    .sort((a, b) => Number(a) - Number(b));
  const v = versions.at(-1);
  if (!v) throw new Error(`no transact_encoder version with a model.onnx under ${dir}`);
  return join(dir, v, 'model.onnx');
}

/** Deterministic PRNG (mulberry32), so both providers see the same inputs in every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Feeds = Record<string, ort.Tensor>;

/** `users` users with full sequences of S real actions and `perUser` candidates each (newest first, ages growing). */
function feeds(users: number, perUser: number, seed: number): Feeds {
  const rand = prng(seed);
  const n = users * perUser;
  const types = new BigInt64Array(users * S);
  const items = new Float32Array(users * S * D_CONTENT);
  const ages = new Float32Array(users * S);
  for (let u = 0; u < users; u++) {
    for (let s = 0; s < S; s++) {
      types[u * S + s] = BigInt(1 + Math.floor(rand() * (ACTION_TYPES - 1)));
      ages[u * S + s] = 60 * (s + 1) * (1 + rand());
    }
  }
  for (let i = 0; i < items.length; i++) items[i] = rand() * 2 - 1;
  const cand = new Float32Array(n * D_CONTENT);
  for (let i = 0; i < cand.length; i++) cand[i] = rand() * 2 - 1;
  const idx = new BigInt64Array(n);
  for (let i = 0; i < n; i++) idx[i] = BigInt(Math.floor(i / perUser));
  return {
    seq_action_types: new ort.Tensor('int64', types, [users, S]),
    seq_item_vectors: new ort.Tensor('float32', items, [users, S, D_CONTENT]),
    seq_ages_s: new ort.Tensor('float32', ages, [users, S]),
    cand_vectors: new ort.Tensor('float32', cand, [n, D_CONTENT]),
    cand_user_idx: new ort.Tensor('int64', idx, [n]),
  };
}

/** One user's slice of a stacked feed (its sequence row and its candidates). */
function userSlice(f: Feeds, u: number, perUser: number): Feeds {
  const row = <T extends Float32Array | BigInt64Array>(t: ort.Tensor, width: number): T => (t.data as T).slice(u * width, (u + 1) * width) as T;
  return {
    seq_action_types: new ort.Tensor('int64', row<BigInt64Array>(f['seq_action_types']!, S), [1, S]),
    seq_item_vectors: new ort.Tensor('float32', row<Float32Array>(f['seq_item_vectors']!, S * D_CONTENT), [1, S, D_CONTENT]),
    seq_ages_s: new ort.Tensor('float32', row<Float32Array>(f['seq_ages_s']!, S), [1, S]),
    cand_vectors: new ort.Tensor('float32', row<Float32Array>(f['cand_vectors']!, perUser * D_CONTENT), [perUser, D_CONTENT]),
    cand_user_idx: new ort.Tensor('int64', new BigInt64Array(perUser), [perUser]),
  };
}

interface Provider {
  label: string;
  session: ort.InferenceSession | undefined;
  /** Why the provider could not be used. */
  missing?: string;
}

async function open(label: string, model: string, options: ort.InferenceSession.SessionOptions): Promise<Provider> {
  try {
    // Pool threads sleep between parallel sections, as the workers run them (libs/inference ortSessionOptions).
    const quiet = { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } };
    return { label, session: await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', logSeverityLevel: 3, ...quiet, ...options }) };
  } catch (err) {
    return { label, session: undefined, missing: (err as Error).message.split('\n')[0] };
  }
}

async function run(p: Provider, f: Feeds): Promise<Float32Array> {
  const out = await p.session!.run(f);
  const t = out['encoded']!;
  // Outputs left on the device are read back only when asked: the timing of "gpu-buffer" covers the compute alone.
  const data = t.location === 'gpu-buffer' ? ((await t.getData(true)) as Float32Array) : (t.data as Float32Array);
  return data;
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

async function main(): Promise<void> {
  const model = args.model ?? newestModel();
  const backends = ort.listSupportedBackends().map((b) => b.name);
  const load = loadavg()[0]!.toFixed(2);
  console.log(`model ${model}; S=${S}; onnxruntime-node ${ort.env.versions.common}; backends ${backends.join(', ')}; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); load ${load}`);
  const cpu = await open(`cpu×${CPU_THREADS}`, model, { executionProviders: ['cpu'], intraOpNumThreads: CPU_THREADS });
  if (!cpu.session) throw new Error(`the CPU provider failed: ${cpu.missing}`);
  const gpu = await open('webgpu', model, { executionProviders: ['webgpu'] });
  const gpuResident = await open('webgpu, outputs on device', model, { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
  for (const p of [gpu, gpuResident]) if (!p.session) console.log(`${p.label}: unavailable (${p.missing})`);

  const rows: Array<Record<string, number | string>> = [];
  for (const n of CANDIDATES) {
    const f = feeds(1, n, 7 + n);
    const reference = await run(cpu, f);
    const row: Record<string, number | string> = { candidates: n, cpu_ms: NaN };
    const live = [cpu, gpu, gpuResident].filter((p) => p.session);
    for (const p of live.slice(1)) {
      const diff = maxAbsDiff(reference, await run(p, f));
      row[`${p.label} max|Δ|`] = diff;
      if (!(diff <= 1e-4)) console.log(`WARNING ${p.label} at ${n} candidates differs from CPU by ${diff} (bound 1e-4)`);
    }
    const times = new Map<string, number[]>(live.map((p) => [p.label, []]));
    for (let r = 0; r < ROUNDS; r++) for (const p of live) times.get(p.label)!.push(await timeIt(() => run(p, f)));
    for (const p of live) row[`${p.label} ms`] = median(times.get(p.label)!);
    row['cpu_ms'] = row[`${cpu.label} ms`] as number;
    if (gpu.session) row['webgpu speed-up vs cpu'] = (row['cpu_ms'] as number) / (row['webgpu ms'] as number);
    if (gpu.session) row['webgpu candidates/s'] = n / ((row['webgpu ms'] as number) / 1000);
    row['cpu candidates/s'] = n / ((row['cpu_ms'] as number) / 1000);
    rows.push(row);
    console.log(JSON.stringify(row));
  }

  // Stacking users: one call of U users × C candidates vs U one-user calls.
  const stacking: Array<Record<string, number | string>> = [];
  const stacked = feeds(STACK_USERS, STACK_CANDIDATES, 99);
  const singles = Array.from({ length: STACK_USERS }, (_, u) => userSlice(stacked, u, STACK_CANDIDATES));
  for (const p of [cpu, gpu].filter((x) => x.session)) {
    const one: number[] = [];
    const all: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      all.push(await timeIt(() => run(p, stacked)));
      one.push(
        await timeIt(async () => {
          for (const s of singles) await run(p, s);
        }),
      );
    }
    const entry = { provider: p.label, users: STACK_USERS, candidates_per_user: STACK_CANDIDATES, stacked_ms: median(all), per_user_ms: median(one), 'per-user ÷ stacked': median(one) / median(all) };
    stacking.push(entry);
    console.log(JSON.stringify(entry));
  }

  const report = { model, S, cpuThreads: CPU_THREADS, rounds: ROUNDS, loadAverage: Number(load), backends, unavailable: [gpu, gpuResident].filter((p) => !p.session).map((p) => ({ provider: p.label, reason: p.missing })), rows, stacking };
  const outDir = args.out ?? process.env['OUT'] ?? '.';
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'encoder-device-bench.json'), JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${join(outDir, 'encoder-device-bench.json')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
