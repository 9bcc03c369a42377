// ONNX Runtime's CPU memory arena on vs off (RANKER_MEMORY_ARENA) for the release transact_encoder:
// time per run at a few batch sizes (S 100, one user) and what the process keeps after one large batch.
// Usage: npx tsx libs/inference/bench/memory-arena.bench.ts [--models models] [--rows 128,512] [--large 1024] [--reps 10] [--smoke]
// Each setting runs in its own child process (RSS is per process); the two alternate twice. Bounded: about a minute on 2 cores.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OrtModelSession } from '../src/ort-backend';
import { type TensorMap } from '../src/host-tensor';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'models' },
    rows: { type: 'string', default: '128,512' },
    large: { type: 'string', default: '1024' },
    reps: { type: 'string', default: '10' },
    child: { type: 'string' },
    smoke: { type: 'boolean', default: false },
  },
});
// --smoke: tiny sizes and one run per setting; checks that it runs, times nothing.
if (args.smoke) Object.assign(args, { rows: '8', large: '32', reps: '1' });
const REPEATS = args.smoke ? 1 : 2;
const S = 100;
const D = 32;

function inputs(n: number): TensorMap {
  return {
    seq_action_types: { dtype: 'int64', dims: [1, S], data: new BigInt64Array(S).fill(2n) },
    seq_item_vectors: { dtype: 'float32', dims: [1, S, D], data: new Float32Array(S * D).fill(0.1) },
    seq_ages_s: { dtype: 'float32', dims: [1, S], data: new Float32Array(S).fill(30) },
    cand_vectors: { dtype: 'float32', dims: [n, D], data: new Float32Array(n * D).fill(0.2) },
    cand_user_idx: { dtype: 'int64', dims: [n], data: new BigInt64Array(n) },
  };
}

interface ChildResult {
  msPerRun: Record<string, number>;
  keptMb: number;
}

async function child(arena: boolean): Promise<ChildResult> {
  const dir = join(args.models, 'transact_encoder');
  const version = readdirSync(dir).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(a) - Number(b)).at(-1)!;
  const session = await OrtModelSession.create(join(dir, version, 'model.onnx'), { label: 'transact_encoder', executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1, memoryArena: arena });
  const msPerRun: Record<string, number> = {};
  for (const n of args.rows.split(',').map(Number)) {
    await session.run(inputs(n));
    const t = performance.now();
    for (let k = 0; k < Number(args.reps); k++) await session.run(inputs(n));
    msPerRun[n] = (performance.now() - t) / Number(args.reps);
  }
  const before = process.memoryUsage().rss;
  await session.run(inputs(Number(args.large)));
  return { msPerRun, keptMb: (process.memoryUsage().rss - before) / 2 ** 20 };
}

if (args.child !== undefined) {
  void child(args.child === 'on').then((r) => process.stdout.write(JSON.stringify(r)));
} else {
  const runs: Record<'on' | 'off', ChildResult[]> = { on: [], off: [] };
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const setting of ['on', 'off'] as const) {
      const res = spawnSync(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2), '--child', setting], { encoding: 'utf8' });
      if (res.status !== 0) throw new Error(`child (${setting}) failed: ${res.stderr}`);
      runs[setting].push(JSON.parse(res.stdout) as ChildResult);
    }
  }
  const best = (rs: ChildResult[], n: string): number => Math.min(...rs.map((r) => r.msPerRun[n]!));
  console.log(`transact_encoder, S ${S}, 1 thread; best of ${REPEATS} alternating runs per setting`);
  for (const n of args.rows.split(',')) {
    const on = best(runs.on, n);
    const off = best(runs.off, n);
    console.log(`  ${n.padStart(5)} rows: arena on ${on.toFixed(1)} ms, off ${off.toFixed(1)} ms per run (off/on ${(off / on).toFixed(2)}x)`);
  }
  const kept = (rs: ChildResult[]): string => {
    const mb = Math.min(...rs.map((r) => r.keptMb));
    return `${mb >= 0 ? '+' : ''}${mb.toFixed(0)} MB`;
  };
  console.log(`  RSS change after one ${args.large}-row batch: arena on ${kept(runs.on)}, off ${kept(runs.off)}`);
}
