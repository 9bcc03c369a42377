// `pinrank start` supervises its services: kill -9 of the GPU worker is followed
// by its restart while the rest keeps serving, and Rank answers un-degraded again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { RankerClient, RankRequest, type RankResponse } from '@pinrank/proto';
import { openClient } from '../../src/remote/call';
import { itemId, userId } from '@pinrank/sim';
import { ensureStackPki, stackClientTls } from '../../src/stack/stack-pki';
import { freeStackBase } from './free-stack-base';
import { call } from './grpc-call';
import { until } from './load-loop';
import { REPO_ROOT } from './stack-fixture';

const ITEMS = 800;

let dir: string;
let start: ChildProcess;
const lines: string[] = [];
let base: number;
let ranker: RankerClient;

function waitLine(pattern: RegExp, timeoutMs: number): Promise<string> {
  return until(() => lines.some((l) => pattern.test(l)), timeoutMs, `a line matching ${pattern}`).then(() => lines.find((l) => pattern.test(l)) as string);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinrank-supervise-'));
  base = await freeStackBase();
  start = spawn(
    process.execPath,
    [join(REPO_ROOT, 'tools', 'cli', 'bin', 'pinrank.cjs'), 'start', '--data', dir, '--port', String(base), '--users', '150', '--items', String(ITEMS), '--days', '10', '--no-progress', '--no-replay'],
    { cwd: REPO_ROOT, env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const s of [start.stdout, start.stderr]) if (s) createInterface({ input: s }).on('line', (l) => lines.push(l));
  await waitLine(/^pinrank is running/, 300_000);
  // The stack runs with mutual TLS: call it as the operator, with the certificate it issued.
  const tls = stackClientTls(ensureStackPki(dir, '127.0.0.1'), SERVICE_IDENTITIES.operator);
  ranker = openClient(RankerClient, `127.0.0.1:${base}`, tls);
}, 320_000);

afterAll(async () => {
  ranker?.close();
  if (start && start.exitCode === null) {
    const exited = new Promise((r) => start.once('exit', r));
    start.kill('SIGINT');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
}, 60_000);

function rank(i: number): Promise<RankResponse> {
  const candidates = Array.from({ length: 40 }, (_, k) => itemId((i * 7 + k * 13) % ITEMS));
  return call(ranker.rank.bind(ranker), RankRequest.fromPartial({ userId: userId(i % 150), candidateItemIds: candidates }), { timeoutMs: 10_000 });
}

/** Whether the GPU-role worker computes on the CPU (no GPU found), from its metrics. */
async function gpuWorkerOnCpu(): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${base + 11 + 1000}/metrics`);
  return /inference_model_provider\{model="transact_encoder",version="\d+",provider="cpu"\} 1/.test(await res.text());
}

/** A Rank ran encoder and heads as one chained call (stage "encoder+heads"). */
const chained = (res: RankResponse | undefined): boolean => res?.timings.some((t) => t.stage === 'encoder+heads') ?? false;

it('restarts a GPU worker killed with SIGKILL; Rank keeps answering and is un-degraded once it is back', async () => {
  // Where the GPU-role worker finds no GPU, the router chains encoder and heads on it (RANKER_AUTO_CHAIN).
  const onCpu = await gpuWorkerOnCpu();
  const first = await rank(0);
  expect(first.degraded).toEqual([]);
  expect(chained(first)).toBe(onCpu);
  // The endpoint table printed at start names each service's pid.
  const row = lines.find((l) => /^gpu-worker\s/.test(l));
  const pid = Number(/\s(\d+)\s*$/.exec(row ?? '')?.[1]);
  expect(pid).toBeGreaterThan(0);

  process.kill(pid, 'SIGKILL');
  await waitLine(/^\[supervisor\] gpu-worker exited unexpectedly \(signal SIGKILL\); restart 1 in \d+ ms$/, 10_000);
  // While it is down, the router falls back to the CPU pool (flagged), never failing the request.
  const during = await rank(1);
  expect(during.items.length).toBeGreaterThan(0);
  await waitLine(/^\[supervisor\] gpu-worker is SERVING again \(restart 1, pid \d+\)$/, 120_000);

  let last: RankResponse | undefined;
  let i = 2;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    last = await rank(i++);
    // The restarted worker is asked again what it computes on when it turns SERVING: chained again.
    if (last.degraded.length === 0 && chained(last) === onCpu) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(last?.degraded).toEqual([]);
  expect(chained(last)).toBe(onCpu);
  // The rest of the stack was never restarted.
  expect(lines.filter((l) => l.startsWith('[supervisor]') && !l.includes('gpu-worker'))).toEqual([]);
}, 240_000);

it('refuses at once to start a second stack on the ports of the running one, naming them', async () => {
  const second = spawn(process.execPath, [join(REPO_ROOT, 'tools', 'cli', 'bin', 'pinrank.cjs'), 'start', '--data', dir, '--port', String(base), '--no-progress', '--no-replay'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const s of [second.stdout, second.stderr]) s?.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => second.once('exit', (c) => resolve(c)));
  expect(code).toBe(1);
  expect(output).toContain(`port ${base} (router gRPC)`);
  expect(output).toContain(`port ${base + 1011} (gpu-worker metrics)`);
  expect(output).toMatch(/in use, perhaps by another pinrank stack: stop it, or start this one elsewhere with --port/);
  // The running stack was not touched.
  expect((await rank(99)).items.length).toBeGreaterThan(0);
}, 60_000);
