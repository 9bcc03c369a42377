// transact_encoder on ONNX Runtime's CPU provider: the served graph against a
// plain per-pair export of the same architecture and weights (see
// plain-export.ts), and stacking users in one call against one call per user.
//
//   npm run bench transact-encoder [-- --threads 1,2 --batches 100,500 --rounds 9 --stack-users 16 --stack-candidates 50]
//   npm run bench transact-encoder -- --smoke      # tiny sizes, one round: checks it runs and the graphs agree, times nothing
//
// The served model is the newest models/transact_encoder/<v> (or --version);
// --previous (default: the version below it) is timed alongside for context.
// Before timing, every graph's outputs are checked against the served one
// (max |diff| ≤ 1e-4). Cases run round-robin (A, B, C, A, B, C, …) so
// background load hits each alike; medians per call, wall-clock and process
// CPU time. Ratios are the baseline's time over the served graph's (above 1:
// the served graph is faster). Compare ratios, not milliseconds, across runs.
import { readdir, readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type InferenceSession } from 'onnxruntime-node';
import { DEFAULT_CPU_USER_ROW_CHUNK, OrtModelSession, type BatchCompute, type TensorMap, perUserCompute, splitOutputs, stackInputs } from '@pinrank/inference';
import {
  type Feeds,
  SeededRandom,
  createCpuSession,
  int64Feed,
  runOnnx,
  transactEncoder,
  transactEncoderHyperparams,
  weightsFromOnnx,
} from '../src/index';
import { maxAbsDiff } from '../src/testing/parity';
import { type PlainLayout, plainExport } from './plain-export';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    threads: { type: 'string', default: '1,2' },
    batches: { type: 'string', default: '100,500' },
    'seq-len': { type: 'string', default: '100' },
    rounds: { type: 'string', default: '9' },
    'stack-users': { type: 'string', default: '16' },
    'stack-candidates': { type: 'string', default: '50' },
    repository: { type: 'string', default: 'models' },
    version: { type: 'string' },
    previous: { type: 'string' },
  },
});
const list = (s: string): number[] => s.split(',').map(Number);
const SMOKE = args.smoke!;
const THREADS = SMOKE ? [1] : list(args.threads!);
const BATCHES = SMOKE ? [4] : list(args.batches!);
const SEQ_LEN = SMOKE ? 12 : Number(args['seq-len']);
const ROUNDS = SMOKE ? 1 : Number(args.rounds);
const STACK_USERS = SMOKE ? 2 : Number(args['stack-users']);
const STACK_CANDIDATES = SMOKE ? 3 : Number(args['stack-candidates']);
const AGREE = 1e-4;

interface Timed {
  wall: number;
  cpu: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs each case once as warm-up, then `ROUNDS` interleaved rounds; median wall and CPU ms per case. */
async function interleaved(cases: ReadonlyArray<() => Promise<unknown>>): Promise<Timed[]> {
  for (const run of cases) await run();
  const wall: number[][] = cases.map(() => []);
  const cpu: number[][] = cases.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, run] of cases.entries()) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await run();
      const c = process.cpuUsage(c0);
      wall[i]!.push(performance.now() - t0);
      cpu[i]!.push((c.user + c.system) / 1000);
    }
  }
  return cases.map((_, i) => ({ wall: median(wall[i]!), cpu: median(cpu[i]!) }));
}

async function versions(repository: string): Promise<string[]> {
  const dir = join(repository, 'transact_encoder');
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && /^\d+$/.test(e.name)).map((e) => e.name);
  return names.sort((a, b) => Number(a) - Number(b));
}

async function encoded(session: InferenceSession, feeds: Feeds): Promise<Float32Array> {
  return (await runOnnx(session, feeds))['encoded']!.data;
}

const toHost = (feeds: Feeds): TensorMap =>
  Object.fromEntries(Object.entries(feeds).map(([name, f]) => [name, { dtype: f.dtype, dims: f.shape, data: f.data }]));

/** `users` one-user requests of `candidates` each (as the router sends them), all with the same sequence length. */
function requests(users: number, candidates: number): Feeds[] {
  return Array.from({ length: users }, (_, u) => {
    const f = transactEncoder().sampleFeeds(new SeededRandom(1000 + u), { batch: candidates, users: 1, seqLen: SEQ_LEN });
    return { ...f, cand_user_idx: int64Feed([candidates], () => 0) };
  });
}

const LAYOUT = { mode: 'user_rows' as const, userInputs: ['seq_action_types', 'seq_item_vectors', 'seq_ages_s'], indexInput: 'cand_user_idx' };

/** The requests stacked by the inference worker's own stacking (user rows, offset indices), computed by `compute`, split back. */
async function stacked(compute: BatchCompute, reqs: readonly Feeds[]): Promise<Float32Array[]> {
  const out = await compute(stackInputs(reqs.map(toHost), LAYOUT));
  return splitOutputs(out, reqs.map((r) => r['cand_user_idx']!.shape[0]!)).map((p) => p['encoded']!.data as Float32Array);
}

const fmt = (x: number, digits = 0): string => x.toFixed(digits);
const ratio = (base: number, served: number): string => (base / served).toFixed(2);

async function main(): Promise<void> {
  const repository = args.repository!;
  const all = await versions(repository);
  const served = args.version ?? all.at(-1);
  if (!served) throw new Error(`no transact_encoder versions in ${repository}`);
  const previous = args.previous ?? all[all.indexOf(served) - 1];
  const bytes = await readFile(join(repository, 'transact_encoder', served, 'model.onnx'));
  const manifest = JSON.parse(await readFile(join(repository, 'transact_encoder', served, 'manifest.json'), 'utf8')) as { hyperparams: unknown };
  const hp = transactEncoderHyperparams.parse(manifest.hyperparams);
  const weights = weightsFromOnnx(bytes);
  const plain: Record<PlainLayout, Uint8Array> = {
    'batch-first': plainExport(weights, hp, 'batch-first'),
    'sequence-first': plainExport(weights, hp, 'sequence-first'),
  };
  const previousBytes = previous ? await readFile(join(repository, 'transact_encoder', previous, 'model.onnx')) : undefined;
  const load0 = loadavg();
  console.log(
    `transact_encoder ${served} (served) vs a plain per-pair export of the same weights${previous ? `; version ${previous} alongside` : ''}. ` +
      `ONNX Runtime CPU, S=${SEQ_LEN}, ${ROUNDS} interleaved round(s), medians. Load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}.`,
  );
  for (const threads of THREADS) {
    const open = (model: Uint8Array): Promise<InferenceSession> =>
      createCpuSession(model, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const sessions = {
      served: await open(bytes),
      batchFirst: await open(plain['batch-first']),
      seqFirst: await open(plain['sequence-first']),
      ...(previousBytes ? { previous: await open(previousBytes) } : {}),
    };
    const order = Object.entries(sessions);
    // Every graph computes the same function: check before timing anything.
    const probe = transactEncoder().sampleFeeds(new SeededRandom(5), { batch: 7, users: 3, seqLen: SEQ_LEN });
    const reference = await encoded(sessions.served, probe);
    for (const [name, s] of order) {
      const diff = maxAbsDiff(reference, await encoded(s, probe));
      if (!(diff <= AGREE)) throw new Error(`${name} disagrees with the served graph: max |diff| ${diff}`);
    }
    console.log(`\n${threads} intra-op thread(s). Per call, ms wall / ms CPU:`);
    console.log('B      served         plain batch-first   plain seq-first     best plain ÷ served (wall / CPU)   ' + (previousBytes ? `v${previous} ÷ served (wall / CPU)` : ''));
    for (const batch of BATCHES) {
      const feeds = transactEncoder().sampleFeeds(new SeededRandom(batch), { batch, users: 1, seqLen: SEQ_LEN });
      const t = await interleaved(order.map(([, s]) => () => runOnnx(s, feeds)));
      const byName = Object.fromEntries(order.map(([name], i) => [name, t[i]!])) as Record<string, Timed>;
      const s = byName['served']!;
      const bestPlain = [byName['batchFirst']!, byName['seqFirst']!].sort((a, b) => a.wall - b.wall)[0]!;
      const cell = (x: Timed): string => `${fmt(x.wall)} / ${fmt(x.cpu)}`.padEnd(20);
      const prev = byName['previous'];
      console.log(
        `${String(batch).padEnd(7)}${cell(s)}${cell(byName['batchFirst']!)}${cell(byName['seqFirst']!)}` +
          `${`${ratio(bestPlain.wall, s.wall)} / ${ratio(Math.min(byName['batchFirst']!.cpu, byName['seqFirst']!.cpu), s.cpu)}`.padEnd(35)}` +
          (prev ? `${ratio(prev.wall, s.wall)} / ${ratio(prev.cpu, s.cpu)}` : ''),
      );
    }
    // Stacking: k one-user requests in one batch (the batcher's user_rows stacking) vs k calls, through the
    // worker's own session wrapper: one ORT call for the whole batch, and the CPU worker's compute (one call per user row).
    const reqs = requests(STACK_USERS, STACK_CANDIDATES);
    const stackable = order.filter(([name]) => name === 'served' || name === 'previous');
    const worker = await Promise.all(
      stackable.map(async ([name]) =>
        OrtModelSession.create(name === 'served' ? bytes : previousBytes!, { label: name, executionProviders: ['cpu'], intraOpThreads: threads, interOpThreads: 1 }),
      ),
    );
    const computes = worker.map((w) => {
      const one: BatchCompute = (inputs) => w.run(inputs);
      return { one, perUser: perUserCompute(one, LAYOUT, DEFAULT_CPU_USER_ROW_CHUNK) };
    });
    for (const [i, c] of computes.entries()) {
      const alone = await Promise.all(reqs.map((r) => c.one(toHost(r)).then((o) => o['encoded']!.data as Float32Array)));
      for (const together of [await stacked(c.one, reqs), await stacked(c.perUser, reqs)]) {
        const diff = Math.max(...alone.map((a, k) => maxAbsDiff(a, together[k]!)));
        if (!(diff <= AGREE)) throw new Error(`${stackable[i]![0]}: stacked outputs differ from one-call-per-user outputs by ${diff}`);
      }
    }
    const st = await interleaved(
      computes.flatMap((c) => [
        async () => {
          for (const r of reqs) await c.one(toHost(r));
        },
        () => stacked(c.one, reqs),
        () => stacked(c.perUser, reqs),
      ]),
    );
    console.log(
      `stacking ${STACK_USERS} users × ${STACK_CANDIDATES} candidates (ms wall / ms CPU): one call per user; stacked in one ONNX Runtime call; stacked through the CPU worker's compute (one call per user row, ≤ ${DEFAULT_CPU_USER_ROW_CHUNK} rows)`,
    );
    stackable.forEach(([name], i) => {
      const [alone, oneCall, perUser] = [st[3 * i]!, st[3 * i + 1]!, st[3 * i + 2]!];
      const label = name === 'served' ? `served (v${served})` : `v${previous}`;
      console.log(
        `  ${label.padEnd(14)} per user ${fmt(alone.wall)} / ${fmt(alone.cpu)}; one call ${fmt(oneCall.wall)} / ${fmt(oneCall.cpu)} (${ratio(alone.wall, oneCall.wall)} / ${ratio(alone.cpu, oneCall.cpu)}× as fast); ` +
          `worker compute ${fmt(perUser.wall)} / ${fmt(perUser.cpu)} (${ratio(alone.wall, perUser.wall)} / ${ratio(alone.cpu, perUser.cpu)}× as fast)`,
      );
    });
    for (const w of worker) await w.release();
    for (const s of Object.values(sessions)) await s.release();
  }
  console.log(`\nLoad average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}.${SMOKE ? ' Smoke run: sizes are tiny, the figures mean nothing.' : ''}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
