// Micro benchmark: transact_encoder in ONNX Runtime (CPU) for 100/500/1000
// candidates and S=100. Compares the serving form (factorised first
// projection, the sequence sent once: U=1) with the un-factorised graph
// (first projection over every per-candidate concatenated row) and with
// per-candidate sequence copies (U=N). Prints median ms per call and ratios;
// compare ratios within one run, not absolute figures across machines.
// Run: npx tsx libs/models/bench/transact-encoder.bench.ts [--threads 1] [--max-seconds 12]
import { type InferenceSession } from 'onnxruntime-node';
import { type Feeds, SeededRandom, WeightStore, createCpuSession, exportOnnx, runOnnx, transactEncoder } from '../src/index';
import { int64Feed } from '../src/internal';

const SEQ_LEN = 100;
const CANDIDATES = [100, 500, 1000];
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MAX_SECONDS_PER_SIZE = arg('--max-seconds', 12);
const THREADS = arg('--threads', 1);
const MAX_ROUNDS = 15;

interface Case {
  session: InferenceSession;
  feeds: Feeds;
  wall: number[];
  cpu: number[];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Runs the cases round-robin (so background load hits each alike) and returns
 * each case's median wall-clock ms and median process CPU ms (user + system,
 * all threads) per call; CPU time is the steadier figure on a shared machine.
 */
async function measure(cases: Case[]): Promise<Array<{ wall: number; cpu: number }>> {
  for (const c of cases) await runOnnx(c.session, c.feeds); // warm-up
  const deadline = performance.now() + MAX_SECONDS_PER_SIZE * 1000;
  for (let round = 0; round < 3 || (round < MAX_ROUNDS && performance.now() < deadline); round++) {
    for (const c of cases) {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      await runOnnx(c.session, c.feeds);
      const cpu = process.cpuUsage(cpu0);
      c.wall.push(performance.now() - t0);
      c.cpu.push((cpu.user + cpu.system) / 1000);
    }
  }
  return cases.map((c) => ({ wall: median(c.wall), cpu: median(c.cpu) }));
}

/** The same request with the user's sequence copied once per candidate (U = N). */
function perCandidateCopies(feeds: Feeds, n: number): Feeds {
  const copy = (name: string): Feeds[string] => {
    const f = feeds[name]!;
    const row = f.data.length;
    if (f.dtype === 'int64') {
      const data = new BigInt64Array(row * n);
      for (let i = 0; i < n; i++) data.set(f.data, i * row);
      return { dtype: 'int64', shape: [n, ...f.shape.slice(1)], data };
    }
    const data = new Float32Array(row * n);
    for (let i = 0; i < n; i++) data.set(f.data, i * row);
    return { dtype: 'float32', shape: [n, ...f.shape.slice(1)], data };
  };
  return {
    ...feeds,
    seq_action_types: copy('seq_action_types'),
    seq_item_vectors: copy('seq_item_vectors'),
    seq_ages_s: copy('seq_ages_s'),
    cand_user_idx: int64Feed([n], (i) => i),
  };
}

async function main(): Promise<void> {
  const weights = WeightStore.seeded(1);
  const options = { intraOpNumThreads: THREADS, interOpNumThreads: 1 };
  const factorised = await createCpuSession(exportOnnx(transactEncoder({ factorised: true }), weights), options);
  const plain = await createCpuSession(exportOnnx(transactEncoder({ factorised: false }), weights), options);
  console.log(`transact_encoder, ONNX Runtime CPU (${THREADS} intra-op thread(s)), S=${SEQ_LEN}; median per call, wall ms / CPU ms`);
  console.log(
    'N      factorised U=1   un-factorised U=1   factorised U=N copies   CPU ratio un-fact/fact   CPU ratio copies/fact   input KB U=1 / U=N',
  );
  const cell = (m: { wall: number; cpu: number }, width: number): string => `${m.wall.toFixed(0)} / ${m.cpu.toFixed(0)}`.padStart(width);
  for (const n of CANDIDATES) {
    const feeds = transactEncoder().sampleFeeds(new SeededRandom(n), { batch: n, users: 1, seqLen: SEQ_LEN });
    const copies = perCandidateCopies(feeds, n);
    const [a, b, c] = await measure([
      { session: factorised, feeds, wall: [], cpu: [] },
      { session: plain, feeds, wall: [], cpu: [] },
      { session: factorised, feeds: copies, wall: [], cpu: [] },
    ]);
    const kb = (f: Feeds): string => (Object.values(f).reduce((sum, t) => sum + t.data.byteLength, 0) / 1024).toFixed(0);
    console.log(
      `${String(n).padEnd(5)}${cell(a!, 17)}${cell(b!, 20)}${cell(c!, 24)}${(b!.cpu / a!.cpu).toFixed(2).padStart(25)}${(c!.cpu / a!.cpu).toFixed(2).padStart(24)}${`${kb(feeds)} / ${kb(copies)}`.padStart(23)}`,
    );
  }
  await factorised.release();
  await plain.release();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
