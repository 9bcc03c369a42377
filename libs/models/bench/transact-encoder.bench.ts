// transact_encoder on ONNX Runtime's CPU provider: the served graph against a
// plain per-pair export of the same architecture and weights (plain-export.ts),
// and stacking users in one batch against one call per user.
//
//   npm run bench transact-encoder [-- --threads 1,2 --batches 100,500 --rounds 9 --stack-users 16 --stack-candidates 50 --int8 --spinning]
//   npm run bench transact-encoder -- --smoke      # tiny sizes, one round: checks that it runs and the graphs agree; times nothing
//
// The served model is the newest models/transact_encoder/<v> (or --version);
// --previous (default: the version below it) is timed alongside. --int8 adds
// the served graph after dynamic int8 quantisation (quantizeDynamic; not
// shipped) and --int8-out <file> writes it for `pinrank train encoder-agreement`.
// Two kinds of input per batch size: "full", every one of the S rows a real
// action (no padding to skip: pure graph efficiency), and "half", S/2 real
// actions then padding (the simulated world's median user at its evaluation
// requests has 51 of 100), where the served graph also cuts the padding.
// Stacking uses sample sequences of 1–S real actions per user.
// Before timing, every graph's outputs are checked against the served one
// (max |diff| ≤ 1e-4; int8 excepted). Cases run round-robin (A, B, C, A, B,
// C, …) so background load hits each alike; medians per call, wall-clock and
// process CPU time. Ratios are a baseline's time over the served graph's
// (above 1: the served graph is faster). Compare ratios, not milliseconds.
// Every session runs as the workers run theirs: pool threads that sleep
// between parallel sections rather than spin (--spinning: ONNX Runtime's
// default; with several sessions taking turns, one's spinning threads slow
// the next one down, and the more so the shorter its call).
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { type InferenceSession } from 'onnxruntime-node';
import { DEFAULT_CPU_USER_ROW_CHUNK, perUserCompute, type TensorMap } from '@pinrank/inference';
import { OrtModelSession, ortSessionOptions, splitOutputs, stackInputs, type BatchCompute } from '@pinrank/inference/internal';
import { type Feeds, SeededRandom, createCpuSession, quantizeDynamic, runOnnx, transactEncoder } from '../src/index';
import { int64Feed } from '../src/internal';
import { maxAbsDiff } from '../src/testing/parity';
import { type EncoderVersions, fullSequences, loadVersions, realRows } from './bench-models';

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
    int8: { type: 'boolean', default: false },
    // Pool threads spin-wait between parallel sections, as ONNX Runtime does by default; off, as the workers run them.
    spinning: { type: 'boolean', default: false },
    'int8-out': { type: 'string' },
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
const LAYOUT = { mode: 'user_rows' as const, userInputs: ['seq_action_types', 'seq_item_vectors', 'seq_ages_s'], indexInput: 'cand_user_idx' };

interface Timed {
  wall: number;
  cpu: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number): string => x.toFixed(0);
const ratio = (base: number, served: number): string => (base / served).toFixed(2);
const both = (base: Timed, served: Timed): string => `${ratio(base.wall, served.wall)} / ${ratio(base.cpu, served.cpu)}`;

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

async function encoded(session: InferenceSession, feeds: Feeds): Promise<Float32Array> {
  return (await runOnnx(session, feeds))['encoded']!.data;
}

const toHost = (feeds: Feeds): TensorMap =>
  Object.fromEntries(Object.entries(feeds).map(([name, f]) => [name, { dtype: f.dtype, dims: f.shape, data: f.data }]));

/** `users` one-user requests of `candidates` each (as the router sends them), with mixed sequence lengths. */
function requests(users: number, candidates: number): Feeds[] {
  return Array.from({ length: users }, (_, u) => {
    const f = transactEncoder().sampleFeeds(new SeededRandom(1000 + u), { batch: candidates, users: 1, seqLen: SEQ_LEN });
    return { ...f, cand_user_idx: int64Feed([candidates], () => 0) };
  });
}

/** The requests stacked by the inference worker's own stacking (user rows, offset indices), computed by `compute`, split back. */
async function stacked(compute: BatchCompute, reqs: readonly Feeds[]): Promise<Float32Array[]> {
  const out = await compute(stackInputs(reqs.map(toHost), LAYOUT));
  return splitOutputs(out, reqs.map((r) => r['cand_user_idx']!.shape[0]!)).map((p) => p['encoded']!.data as Float32Array);
}

/** Served vs the plain exports (and the previous version, and int8 when asked) at each batch size, full and half-length sequences. */
async function compareGraphs(v: EncoderVersions, sessions: Record<string, InferenceSession>): Promise<void> {
  const names = Object.keys(sessions);
  const plainNames = names.filter((n) => n.startsWith('plain'));
  console.log(`Per call, ms wall / ms CPU; ratios wall / CPU. plain: ${plainNames.map((n, i) => `p${i + 1} = ${n.slice(6)}`).join(', ')}.`);
  const heads = names.map((n) => (n.startsWith('plain') ? `p${plainNames.indexOf(n) + 1}` : n === 'previous' ? `v${v.previous!.version}` : n));
  console.log(
    `B    rows  ${heads.map((h) => h.padEnd(12)).join('')}exporter plain ÷ served  any plain ÷ served  ${v.previous ? `v${v.previous.version} ÷ served   ` : ''}${sessions['int8'] ? 'served ÷ int8' : ''}`,
  );
  for (const batch of BATCHES) {
    const sample = transactEncoder().sampleFeeds(new SeededRandom(batch), { batch, users: 1, seqLen: SEQ_LEN });
    for (const [rows, feeds] of [['full', fullSequences(sample)], ['half', realRows(sample, Math.ceil(SEQ_LEN / 2))]] as const) {
      const t = await interleaved(names.map((n) => () => runOnnx(sessions[n]!, feeds)));
      const by = Object.fromEntries(names.map((n, i) => [n, t[i]!])) as Record<string, Timed>;
      const s = by['served']!;
      const fastest = (which: string[]): Timed => ({ wall: Math.min(...which.map((n) => by[n]!.wall)), cpu: Math.min(...which.map((n) => by[n]!.cpu)) });
      const cells = names.map((n) => `${fmt(by[n]!.wall)} / ${fmt(by[n]!.cpu)}`.padEnd(12)).join('');
      console.log(
        `${String(batch).padEnd(5)}${rows.padEnd(6)}${cells}${both(fastest(plainNames.filter((n) => n.includes('exporter'))), s).padEnd(25)}` +
          `${both(fastest(plainNames), s).padEnd(20)}${by['previous'] ? both(by['previous'], s).padEnd(16) : ''}${by['int8'] ? both(s, by['int8']) : ''}`,
      );
    }
  }
}

/** k one-user requests in one batch vs k calls, through the worker's own session wrapper. */
async function compareStacking(v: EncoderVersions, threads: number): Promise<void> {
  const reqs = requests(STACK_USERS, STACK_CANDIDATES);
  const models = [{ label: `served (v${v.served.version})`, bytes: v.served.bytes }, ...(v.previous ? [{ label: `v${v.previous.version}`, bytes: v.previous.bytes }] : [])];
  const worker = await Promise.all(
    models.map((m) => OrtModelSession.create(m.bytes, { label: m.label, executionProviders: ['cpu'], intraOpThreads: threads, interOpThreads: 1, spinning: args.spinning })),
  );
  const computes = worker.map((w) => {
    const one: BatchCompute = (inputs) => w.run(inputs);
    return { one, perUser: perUserCompute(one, LAYOUT, DEFAULT_CPU_USER_ROW_CHUNK) };
  });
  for (const [i, c] of computes.entries()) {
    const alone = await Promise.all(reqs.map(async (r) => (await c.one(toHost(r)))['encoded']!.data as Float32Array));
    for (const together of [await stacked(c.one, reqs), await stacked(c.perUser, reqs)]) {
      const diff = Math.max(...alone.map((a, k) => maxAbsDiff(a, together[k]!)));
      if (!(diff <= AGREE)) throw new Error(`${models[i]!.label}: stacked outputs differ from one-call-per-user outputs by ${diff}`);
    }
  }
  const t = await interleaved(
    computes.flatMap((c) => [
      async () => {
        for (const r of reqs) await c.one(toHost(r));
      },
      () => stacked(c.one, reqs),
      () => stacked(c.perUser, reqs),
    ]),
  );
  console.log(
    `Stacking ${STACK_USERS} users × ${STACK_CANDIDATES} candidates, mixed lengths (ms wall / ms CPU): one call per user; the batch stacked in one ` +
      `ONNX Runtime call; stacked, then one call per user row (≤ ${DEFAULT_CPU_USER_ROW_CHUNK} rows; the CPU worker's path until it stopped stacking ` +
      `user_rows requests: it now runs them one by one, the "per user" column). Ratios: per user ÷ stacked.`,
  );
  models.forEach((m, i) => {
    const [alone, oneCall, perUser] = [t[3 * i]!, t[3 * i + 1]!, t[3 * i + 2]!];
    console.log(
      `  ${m.label.padEnd(14)} per user ${fmt(alone.wall)} / ${fmt(alone.cpu)}; one call ${fmt(oneCall.wall)} / ${fmt(oneCall.cpu)} (${both(alone, oneCall)}); ` +
        `stacked per user row ${fmt(perUser.wall)} / ${fmt(perUser.cpu)} (${both(alone, perUser)})`,
    );
  });
  for (const w of worker) await w.release();
}

async function main(): Promise<void> {
  const v = await loadVersions(args.repository!, args.version, args.previous);
  const int8 = args.int8 || args['int8-out'] ? (await quantizeDynamic(v.served.bytes)).model : undefined;
  if (int8 && args['int8-out']) await writeFile(args['int8-out'], int8);
  console.log(
    `transact_encoder ${v.served.version} (served) vs a plain per-pair export of its weights${v.previous ? `; version ${v.previous.version} alongside` : ''}. ` +
      `ONNX Runtime CPU, S=${SEQ_LEN}, ${ROUNDS} interleaved round(s), medians, pool threads ${args.spinning ? 'spinning' : 'not spinning'}. Load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}.`,
  );
  for (const threads of THREADS) {
    const open = (model: Uint8Array): Promise<InferenceSession> =>
      createCpuSession(model, ortSessionOptions('cpu', { intraOpThreads: threads, interOpThreads: 1, spinning: args.spinning }));
    const sessions: Record<string, InferenceSession> = { served: await open(v.served.bytes) };
    for (const p of v.plain) sessions[`plain ${p.layout}, ${p.norm} norm`] = await open(p.bytes);
    if (v.previous) sessions['previous'] = await open(v.previous.bytes);
    if (int8) sessions['int8'] = await open(int8);
    // Every float32 graph computes the same function: check before timing anything.
    const probe = transactEncoder().sampleFeeds(new SeededRandom(5), { batch: 7, users: 3, seqLen: SEQ_LEN });
    const reference = await encoded(sessions['served']!, probe);
    for (const [name, s] of Object.entries(sessions)) {
      const diff = maxAbsDiff(reference, await encoded(s, probe));
      if (name !== 'int8' && !(diff <= AGREE)) throw new Error(`${name} disagrees with the served graph: max |diff| ${diff}`);
    }
    console.log(`\n${threads} intra-op thread(s).`);
    await compareGraphs(v, sessions);
    await compareStacking(v, threads);
    for (const s of Object.values(sessions)) await s.release();
  }
  console.log(`\nLoad average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}.${SMOKE ? ' Smoke run: sizes are tiny, the figures mean nothing.' : ''}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
