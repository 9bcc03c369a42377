// Overload and fault benchmark (docs/benchmarks.md, section "overload"): the
// real stack on loopback (embedding-store, feature-server, a GPU-role and a
// CPU-role worker, the router with admission control), each its own process.
//   1. capacity: closed loop, `--concurrency` callers, `--seconds`;
//   2. open loop (evenly spaced arrivals, `--deadline-ms` per request) at each of
//      `--loads` × capacity: goodput (undegraded answers per second), p50/p99 of
//      accepted requests, how fast refusals come;
//   3. recovery after a burst (3× capacity for `--seconds`): time to the first
//      undegraded answer after it ends;
//   2b. with `--also-env K=V,...`, every load is offered in turn to a second
//      router on the same workers with those settings (e.g. another admission
//      tolerance and queue), against the same capacity;
//   4. faults (unless --load-only): at 0.5× capacity, kill -9 the process
//      group of the GPU worker, the feature-server, the embedding-store in
//      turn, restart it after `--down-ms` (as `pinrank start` does): failed and
//      degraded requests, time from the kill to the first undegraded answer.
// Figures are ratios against the capacity measured in the same run.
// `--gpu-worker-heads` loads the heads on the GPU-role worker too, as `pinrank
// start` does (routers then chain there while it computes on CPU: RANKER_AUTO_CHAIN).
// With `--slowest N`, each load also lists its N slowest accepted answers and
// its median one with the router's stage timings (where the tail goes).
//   With `--fault-signal term` the fault is a graceful stop (SIGTERM, drain, exit) instead, and the table also
//   says how long each process took to exit.
//   npm run bench overload -- [--seconds 5] [--slowest 3] [--gpu-worker-heads] [--loads 0.5,1,1.5,2,3] [--also-env RANKER_ADMISSION_TOLERANCE=3,RANKER_ADMISSION_QUEUE_FACTOR=1] [--worker-env RANKER_SESSION_THREADS=true] [--router-env RANKER_AUTO_CHAIN=false] [--load-only | --faults gpu-worker,feature-server,embedding-store] [--fault-signal kill|term] [--svg docs/figures/overload-goodput.svg] [--smoke]
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ModelRepository } from '@pinrank/inference';
import { degradedFlagToJSON, RankerClient, RankRequest, type RankResponse } from '@pinrank/proto';
import { callUnary, createClient, PinrankError } from '@pinrank/service-kit';
import { build } from 'hdr-histogram-js';
import { goodputSvg } from './overload-plot';
import { freePort, prng, ROOT, Stack, waitFor } from './stack';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    loads: { type: 'string', default: '0.5,1,1.5,2,3' },
    concurrency: { type: 'string', default: '4' },
    candidates: { type: 'string', default: '100' },
    'deadline-ms': { type: 'string', default: '1000' },
    'down-ms': { type: 'string', default: '1000' },
    // How a fault stops the process: kill (SIGKILL to its process group, a crash) or term (SIGTERM, a graceful
    // stop as in a rolling restart: the table then also says how long the process took to exit).
    'fault-signal': { type: 'string', default: 'kill' },
    items: { type: 'string', default: '2000' },
    users: { type: 'string', default: '20' },
    'load-only': { type: 'boolean', default: false },
    faults: { type: 'string', default: 'gpu-worker,feature-server,embedding-store' },
    'also-env': { type: 'string' },
    slowest: { type: 'string', default: '0' },
    'gpu-worker-heads': { type: 'boolean', default: false },
    'worker-env': { type: 'string' },
    'router-env': { type: 'string' },
    smoke: { type: 'boolean', default: false },
    svg: { type: 'string' },
  },
});
const SMOKE = args.smoke === true;
const SECONDS = SMOKE ? 2 : Number(args.seconds);
const LOADS = SMOKE ? [0.5, 2] : String(args.loads).split(',').map(Number);
const CONCURRENCY = Number(args.concurrency);
const CANDIDATES = Number(args.candidates);
const DEADLINE_MS = Number(args['deadline-ms']);
const DOWN_MS = Number(args['down-ms']);
const FAULT_SIGNAL = String(args['fault-signal']);
if (FAULT_SIGNAL !== 'kill' && FAULT_SIGNAL !== 'term') throw new Error(`--fault-signal: kill or term, not "${FAULT_SIGNAL}"`);
const MODELS = join(ROOT, 'models');
/** RANKER_K=V pairs separated by commas (a flag's value), or undefined when the flag is absent. */
function envPairs(flag: string): Record<string, string> | undefined {
  const raw = args[flag as keyof typeof args];
  if (raw === undefined) return undefined;
  return Object.fromEntries(
    String(raw)
      .split(',')
      .filter((kv) => kv.trim() !== '')
      .map((kv) => {
        const m = /^(RANKER_[A-Z0-9_]+)=(.*)$/.exec(kv.trim());
        if (!m) throw new Error(`--${flag}: expected RANKER_NAME=value pairs separated by commas, got "${kv}"`);
        return [m[1] as string, m[2] as string];
      }),
  );
}
/** Extra settings of both workers (--worker-env RANKER_K=V,...), e.g. RANKER_SESSION_THREADS=true. */
const WORKER_ENV: Record<string, string> = envPairs('worker-env') ?? {};
/** Extra settings of the first router (--router-env RANKER_K=V,...). */
const ROUTER_ENV: Record<string, string> = envPairs('router-env') ?? {};
/** The second router's settings (--also-env K=V,...), or none. */
const ALSO_ENV: Record<string, string> | undefined = envPairs('also-env');
const S = 100;

/** One request's fate. */
interface Outcome {
  /** When it was sent, ms after the phase began. */
  at: number;
  code: string;
  ms: number;
  degraded: boolean;
  /** Answered: ms it waited for admission (the first stage's start) and the encoder stage's ms; flags. Failed: the message. */
  waitMs?: number;
  encoderMs?: number;
  flags?: string[];
  /** Answered: the router's stage timings, "stage start+ms", for --slowest. */
  stages?: string;
  message?: string;
}

function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  for (const s of samples) h.recordValue(Math.max(1, Math.round(s * 1000)));
  return h.getValueAtPercentile(p) / 1000;
}

class Load {
  private readonly rand = prng(17);

  constructor(
    private readonly client: RankerClient,
    private readonly stack: Stack,
  ) {}

  request(): RankRequest {
    const pool = this.stack.itemIds;
    const candidates = new Set<string>();
    while (candidates.size < CANDIDATES) candidates.add(pool[Math.floor(this.rand() * pool.length)] ?? '');
    const userId = this.stack.userIds[Math.floor(this.rand() * this.stack.userIds.length)] ?? '';
    return RankRequest.fromPartial({ userId, candidateItemIds: [...candidates] });
  }

  async once(t0: number, deadlineMs = DEADLINE_MS): Promise<Outcome> {
    const req = this.request();
    const t = performance.now();
    try {
      const res: RankResponse = await callUnary(this.client.rank.bind(this.client), req, { timeoutMs: deadlineMs, retry: false });
      const stages = res.timings.filter((x) => x.stage !== 'total');
      return {
        at: t - t0,
        code: 'OK',
        ms: performance.now() - t,
        degraded: res.degraded.length > 0,
        waitMs: Math.min(...stages.map((x) => x.startMs)),
        encoderMs: res.timings.find((x) => x.stage === 'encoder' || x.stage === 'encoder+heads')?.ms ?? NaN,
        flags: res.degraded.map((f) => degradedFlagToJSON(f).replace('DEGRADED_FLAG_', '')),
        stages: res.timings.map((x) => `${x.stage} ${x.startMs.toFixed(1)}+${x.ms.toFixed(1)}`).join(', '),
      };
    } catch (err) {
      const e = PinrankError.from(err);
      return { at: t - t0, code: e.code, ms: performance.now() - t, degraded: false, message: e.message };
    }
  }

  /** Closed loop: undegraded answers per second. */
  async closed(concurrency: number, ms: number): Promise<number> {
    const t0 = performance.now();
    let ok = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() - t0 < ms) {
          const o = await this.once(t0, 30_000);
          if (o.code === 'OK' && !o.degraded) ok++;
        }
      }),
    );
    return ok / ((performance.now() - t0) / 1000);
  }

  /** Open loop: evenly spaced arrivals at `rate`/s for `ms`, sent whatever the answers do. */
  async open(rate: number, ms: number): Promise<Outcome[]> {
    const t0 = performance.now();
    const sent: Array<Promise<Outcome>> = [];
    const total = Math.max(1, Math.round((rate * ms) / 1000));
    for (let i = 0; i < total; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sent.push(this.once(t0));
    }
    return Promise.all(sent);
  }

  /** Sequential requests every 50 ms from now until one is undegraded: ms until then (Infinity after `maxMs`). */
  async untilUndegraded(maxMs: number): Promise<number> {
    const t0 = performance.now();
    while (performance.now() - t0 < maxMs) {
      const o = await this.once(t0);
      if (o.code === 'OK' && !o.degraded) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 50));
    }
    return Infinity;
  }
}

interface LoadRow {
  load: number;
  offered: number;
  goodput: number;
  degraded: number;
  refused: number;
  failed: number;
  p50: number;
  p99: number;
  refusalP50: number;
  /** Accepted: p50 of the admission wait and of the encoder stage, or encoder+heads when chained (ms). */
  waitP50: number;
  encoderP50: number;
  /** Why requests were refused, degraded or failed, with counts. */
  why: Record<string, number>;
  /** The router's concurrency limit as its refusals named it: limit → refusals. */
  limitsAtRefusal: Record<string, number>;
  /** Latencies of the accepted requests (ms), for the interval of the p99 ratio; left out of the JSON. */
  okMs: number[];
  /** With --slowest: the median and the slowest accepted answers, "ms: stages" (left out of the JSON). */
  tail: string[];
}

/** The nearest-rank percentile of sorted `xs`. */
const nearestRank = (sorted: ArrayLike<number>, p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

/**
 * A 90 % bootstrap interval of p99(a) / p99(base): both samples resampled with
 * replacement 1 000 times. With a few hundred answers per phase a p99 is one
 * of its slowest few, so one run's ratio alone says little.
 */
function p99RatioInterval(a: readonly number[], base: readonly number[]): [number, number] {
  if (a.length === 0 || base.length === 0) return [NaN, NaN];
  const rand = prng(29);
  const resampledP99 = (xs: readonly number[]): number => nearestRank(Float64Array.from(xs, () => xs[Math.floor(rand() * xs.length)] ?? 0).sort(), 99);
  const ratios = Array.from({ length: 1000 }, () => resampledP99(a) / resampledP99(base)).sort((x, y) => x - y);
  return [nearestRank(ratios, 5), nearestRank(ratios, 95)];
}

/** A refusal's or failure's kind, from its message (the router's wording). */
function kindOf(o: Outcome): string {
  if (o.code === 'OK') return `flag ${(o.flags ?? []).join('+')}`;
  const m = o.message ?? '';
  const kind = /concurrency limit \d+\) and/.test(m)
    ? 'limit'
    : /could wait/.test(m)
      ? 'queue wait'
      : /ms left, requests now take/.test(m)
        ? 'deadline'
        : /pool busy/.test(m)
          ? 'pool busy'
          : /fallback pool is full/.test(m)
            ? 'fallback full'
            : m.slice(0, 60);
  return `${o.code} ${kind}`;
}

function summarize(load: number, rate: number, seconds: number, outcomes: Outcome[]): LoadRow {
  const ok = outcomes.filter((o) => o.code === 'OK');
  const good = ok.filter((o) => !o.degraded);
  const refused = outcomes.filter((o) => o.code === 'RESOURCE_EXHAUSTED');
  return {
    load,
    offered: rate,
    goodput: good.length / seconds,
    degraded: ok.length - good.length,
    refused: refused.length,
    failed: outcomes.length - ok.length - refused.length,
    p50: percentile(ok.map((o) => o.ms), 50),
    p99: percentile(ok.map((o) => o.ms), 99),
    refusalP50: percentile(refused.map((o) => o.ms), 50),
    waitP50: percentile(ok.map((o) => o.waitMs ?? 0), 50),
    encoderP50: percentile(ok.map((o) => o.encoderMs ?? 0), 50),
    why: whyNotClean(outcomes),
    limitsAtRefusal: limitsNamed(refused),
    okMs: ok.map((o) => o.ms),
    tail: tailOf(ok),
  };
}

/** The concurrency limits that refusals named in their messages: limit → refusals. */
function limitsNamed(outcomes: readonly Outcome[]): Record<string, number> {
  return outcomes.reduce<Record<string, number>>((acc, o) => {
    const limit = /concurrency limit (\d+)/.exec(o.message ?? '')?.[1];
    if (limit) acc[limit] = (acc[limit] ?? 0) + 1;
    return acc;
  }, {});
}

/** The median and the `--slowest` slowest accepted answers with their stage timings. */
function tailOf(ok: readonly Outcome[]): string[] {
  const n = Number(args.slowest);
  if (!(n > 0) || ok.length === 0) return [];
  const byMs = [...ok].sort((a, b) => a.ms - b.ms);
  const line = (label: string, o: Outcome): string => `  ${label} ${o.ms.toFixed(1)} ms at ${(o.at / 1000).toFixed(2)} s: ${o.stages ?? ''}`;
  return [line('median', byMs[Math.floor(byMs.length / 2)] as Outcome), ...byMs.slice(-n).reverse().map((o) => line('slow', o))];
}

/** Refusals, failures and degraded answers counted by kind. */
function whyNotClean(outcomes: readonly Outcome[]): Record<string, number> {
  return outcomes.filter((o) => o.code !== 'OK' || o.degraded).reduce<Record<string, number>>((acc, o) => ((acc[kindOf(o)] = (acc[kindOf(o)] ?? 0) + 1), acc), {});
}

async function main(): Promise<void> {
  const stack = new Stack({ processGroups: true });
  const cleanup = (): void => {
    void stack.stop().then(() => process.exit(130));
  };
  process.once('SIGINT', cleanup);
  const t0 = Date.now();
  try {
    const repo = new ModelRepository(MODELS);
    const headsEntry = await repo.latestVersion('ranking_heads');
    if (!headsEntry) throw new Error(`no ranking_heads version in ${MODELS}`);
    const heads = await repo.readConfig(headsEntry);
    await stack.startUpstreams({ items: SMOKE ? 500 : Number(args.items), users: SMOKE ? 10 : Number(args.users), actionsPerUser: 120, pinnerformerVersion: heads.pinnerformerVersion ?? '1' });
    const worker = async (role: 'gpu' | 'cpu', models: string, placements?: string): Promise<string> => {
      const address = `127.0.0.1:${await freePort()}`;
      await stack.start(`${role}-worker`, 'apps/ranker/src/main.ts', {
        RANKER_ROLE: role,
        RANKER_ADDR: address,
        RANKER_METRICS_ADDR: `127.0.0.1:${await freePort()}`,
        RANKER_MODEL_REPOSITORY: MODELS,
        RANKER_MODELS: models,
        ...(placements ? { RANKER_PLACEMENTS: placements } : {}),
        RANKER_INTRA_OP_THREADS: '1',
        RANKER_WATCH: 'off',
        RANKER_WARMUP_BATCH_SIZES: '1,128',
        ...WORKER_ENV,
      });
      return address;
    };
    // A second router placing the heads on the GPU pool (--also-env RANKER_PLACEMENT=ranking_heads=gpu) needs them loaded there;
    // --gpu-worker-heads loads them there as `pinrank start` does (where that worker computes on CPU, routers then chain: RANKER_AUTO_CHAIN).
    const headsOnGpu = args['gpu-worker-heads'] === true || Object.entries(ALSO_ENV ?? {}).some(([k, v]) => k === 'RANKER_PLACEMENT' && v.includes('ranking_heads=gpu'));
    const [gpu, cpu] = await Promise.all([
      headsOnGpu ? worker('gpu', 'transact_encoder,ranking_heads', 'gpu,cpu') : worker('gpu', 'transact_encoder'),
      worker('cpu', 'ranking_heads,ranking_heads_lite,transact_encoder'),
    ]);
    const router = async (name: string, env: Record<string, string>): Promise<{ client: RankerClient; load: Load }> => {
      const routerAddress = `127.0.0.1:${await freePort()}`;
      await stack.start(name, 'apps/ranker/bench/router-process.ts', {
        ...stack.routerEnv({ address: routerAddress, gpu, cpu, models: MODELS, sequenceLength: S }),
        // As `pinrank start` sets them for one shared machine.
        RANKER_SEQUENCE_TIMEOUT_MS: '500',
        RANKER_EMBEDDINGS_TIMEOUT_MS: '1000',
        ...env,
      });
      const client = createClient(RankerClient, routerAddress);
      const load = new Load(client, stack);
      await waitFor(async () => {
        const o = await load.once(performance.now(), 30_000);
        if (o.code !== 'OK' || o.degraded) throw new Error(`not ready: ${o.code}${o.degraded ? ' (degraded)' : ''}`);
      }, 180_000);
      return { client, load };
    };
    const { client, load } = await router('router', ROUTER_ENV);
    const second = ALSO_ENV === undefined ? undefined : await router('router-also', ALSO_ENV);
    const setupS = (Date.now() - t0) / 1000;

    // 1. Capacity (after a short warm-up of the same kind).
    await load.closed(CONCURRENCY, SMOKE ? 1000 : 2000);
    const capacity = await load.closed(CONCURRENCY, SECONDS * 1000);

    // 2. Open loop at each load.
    const rows: LoadRow[] = [];
    const secondRows: LoadRow[] = [];
    for (const f of LOADS) {
      const rate = f * capacity;
      await new Promise((r) => setTimeout(r, 1000));
      rows.push(summarize(f, rate, SECONDS, await load.open(rate, SECONDS * 1000)));
      if (!second) continue;
      await new Promise((r) => setTimeout(r, 1000));
      secondRows.push(summarize(f, rate, SECONDS, await second.load.open(rate, SECONDS * 1000)));
    }
    second?.client.close();

    // 3. Recovery after a burst.
    await new Promise((r) => setTimeout(r, 1000));
    const burst = summarize(3, 3 * capacity, SECONDS, await load.open(3 * capacity, SECONDS * 1000));
    const recoveryMs = await load.untilUndegraded(30_000);

    // 4. Faults.
    const faults: Array<{
      name: string;
      total: number;
      failed: number;
      refused: number;
      degraded: number;
      recoveryMs: number;
      exitMs: number | undefined;
      why: Record<string, number>;
      failedAtS: number[];
      limitsAtRefusal: Record<string, number>;
    }> = [];
    if (!args['load-only'] && !SMOKE) {
      for (const name of String(args.faults).split(',').filter(Boolean)) {
        await new Promise((r) => setTimeout(r, 1000));
        // Light load in 1 s rounds; the kill at the start of round 2; until a whole round after the restart is clean (at most 90 s).
        const outcomes: Outcome[] = [];
        const started = performance.now();
        let killedAt = Infinity;
        let restarted = false;
        let exitMs: number | undefined;
        for (let round = 0; round < 90; round++) {
          let stopped: Promise<unknown> = Promise.resolve();
          if (round === 2) {
            killedAt = performance.now() - started;
            if (FAULT_SIGNAL === 'kill') await stack.kill9(name);
            // A graceful stop drains while the load goes on; the restart follows its exit.
            else stopped = stack.terminate(name).then((ms) => (exitMs = ms));
            void stopped.then(() =>
              setTimeout(() => {
                stack.restart(name);
                restarted = true;
              }, DOWN_MS),
            );
          }
          const offset = performance.now() - started;
          const chunk = await load.open(0.5 * capacity, 1000);
          outcomes.push(...chunk.map((o) => ({ ...o, at: o.at + offset })));
          if (restarted && chunk.length > 0 && chunk.every((o) => o.code === 'OK' && !o.degraded)) break;
        }
        // Clean again: from the first request of the final run of undegraded answers.
        let cleanFrom = outcomes.length;
        while (cleanFrom > 0 && outcomes[cleanFrom - 1]?.code === 'OK' && !outcomes[cleanFrom - 1]?.degraded) cleanFrom--;
        const back = restarted && cleanFrom < outcomes.length ? (outcomes[cleanFrom]?.at ?? Infinity) - killedAt : Infinity;
        const window = outcomes.filter((o) => o.at >= killedAt);
        faults.push({
          name,
          total: window.length,
          failed: window.filter((o) => o.code !== 'OK').length,
          refused: window.filter((o) => o.code === 'RESOURCE_EXHAUSTED').length,
          degraded: window.filter((o) => o.code === 'OK' && o.degraded).length,
          recoveryMs: back,
          exitMs,
          why: whyNotClean(window),
          failedAtS: window.filter((o) => o.code !== 'OK').map((o) => Math.round((o.at - killedAt) / 100) / 10),
          limitsAtRefusal: limitsNamed(window.filter((o) => o.code === 'RESOURCE_EXHAUSTED')),
        });
      }
    }
    client.close();

    const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—');
    const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '—');
    const loadTable = (rs: LoadRow[]): string[] => {
      const base = rs.find((r) => r.load === 0.5) ?? rs[0];
      return [
        '| offered load | offered /s | goodput /s | goodput / capacity | accepted p50 / p99 ms | p99 / p99 at 0.5× (90 % bootstrap interval) | refused (RESOURCE_EXHAUSTED) | refusal p50 ms | degraded | failed |',
        '|---|---|---|---|---|---|---|---|---|---|',
        ...rs.map((r) => {
          const [lo, hi] = r === base ? [1, 1] : p99RatioInterval(r.okMs, base?.okMs ?? []);
          return `| ${r.load}× | ${f1(r.offered)} | ${f1(r.goodput)} | ${f2(r.goodput / capacity)} | ${f1(r.p50)} / ${f1(r.p99)} | ${f2(r.p99 / (base?.p99 ?? NaN))}${r === base ? '' : ` (${f2(lo)}-${f2(hi)})`} | ${r.refused} | ${f1(r.refusalP50)} | ${r.degraded} | ${r.failed} |`;
        }),
        '',
        ...rs.map((r) => {
          const limits = Object.entries(r.limitsAtRefusal).map(([l, n]) => `${l}: ${Math.round((100 * n) / Math.max(1, r.refused))} %`);
          return [`${r.load}×: accepted wait p50 ${f1(r.waitP50)} ms, encoder (or encoder+heads) p50 ${f1(r.encoderP50)} ms; ${JSON.stringify(r.why)}${limits.length > 0 ? `; concurrency limit at the refusals ${limits.join(', ')}` : ''}`, ...r.tail].join('\n');
        }),
      ];
    };
    // At 0.5× neither router reaches its limit, so both light phases measure the same thing: pooled, the
    // reference p99 rests on twice the answers, and both routers are read against the same one.
    const pooledRatioTable = (first: LoadRow[], other: LoadRow[]): string[] => {
      const pooled = [...(first.find((r) => r.load === 0.5)?.okMs ?? []), ...(other.find((r) => r.load === 0.5)?.okMs ?? [])];
      if (pooled.length === 0) return [];
      const ref = percentile(pooled, 99);
      const cell = (r: LoadRow | undefined): string => {
        if (!r) return '—';
        const [lo, hi] = p99RatioInterval(r.okMs, pooled);
        return `${f2(r.p99 / ref)} (${f2(lo)}-${f2(hi)})`;
      };
      return [
        `p99 over the p99 at 0.5× of both routers pooled (${pooled.length} answers, p99 ${f1(ref)} ms; for routers that differ in admission settings only), 90 % bootstrap intervals:`,
        '',
        '| offered load | first router | second router |',
        '|---|---|---|',
        ...first.filter((r) => r.load !== 0.5).map((r) => `| ${r.load}× | ${cell(r)} | ${cell(other.find((x) => x.load === r.load))} |`),
      ];
    };
    const lines = [
      `Rank, ${CANDIDATES} candidates, S=${S}, deadline ${DEADLINE_MS} ms; capacity (closed loop, ${CONCURRENCY} callers, ${SECONDS} s): ${capacity.toFixed(1)} undegraded Rank/s; setup ${setupS.toFixed(0)} s${Object.keys(ROUTER_ENV).length > 0 ? `; first router: ${Object.entries(ROUTER_ENV).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}`,
      '',
      ...loadTable(rows),
      ...(second
        ? [
            '',
            `second router (${Object.entries(ALSO_ENV ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')}): same workers, same capacity, each load right after the first router's:`,
            '',
            ...loadTable(secondRows),
            '',
            ...pooledRatioTable(rows, secondRows),
          ]
        : []),
      '',
      `burst: 3× capacity for ${SECONDS} s (goodput ${f2(burst.goodput / capacity)}× capacity, ${burst.refused} refused, ${burst.degraded} degraded, ${burst.failed} failed); first undegraded answer ${f1(recoveryMs)} ms after it ended`,
      ...(faults.length > 0
        ? [
            '',
            FAULT_SIGNAL === 'kill'
              ? `faults: kill -9 (process group) at 0.5× capacity, restarted ${DOWN_MS} ms later:`
              : `faults: SIGTERM (a graceful stop) at 0.5× capacity, restarted ${DOWN_MS} ms after the process exited:`,
            '',
            `| ${FAULT_SIGNAL === 'kill' ? 'killed' : 'stopped'} | requests from the signal on | failed | failed share | of them refused (RESOURCE_EXHAUSTED) | degraded | signal → first undegraded answer, s | signal → exit, s |`,
            '|---|---|---|---|---|---|---|---|',
            ...faults.map(
              (x) =>
                `| ${x.name} | ${x.total} | ${x.failed} | ${((100 * x.failed) / Math.max(1, x.total)).toFixed(1)}% | ${x.refused} | ${x.degraded} | ${f1(x.recoveryMs / 1000)} | ${x.exitMs === undefined ? '—' : f2(x.exitMs / 1000)} |`,
            ),
            '',
            ...faults.map(
              (x) =>
                `${x.name}: ${JSON.stringify(x.why)}${x.failedAtS.length > 0 ? `; failed at ${x.failedAtS.join(', ')} s after the kill; concurrency limit at the refusals ${JSON.stringify(x.limitsAtRefusal)}` : ''}`,
            ),
          ]
        : []),
      '',
      JSON.stringify({ capacity, rows, ...(second ? { alsoEnv: ALSO_ENV, secondRows } : {}), burst: { ...burst, recoveryMs }, faults }, (key, value: unknown) => (key === 'okMs' || key === 'tail' ? undefined : value)),
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (args.svg) {
      await writeFile(args.svg, goodputSvg(rows.map((r) => ({ load: r.load, goodput: r.goodput / capacity })), `Rank goodput vs offered load (capacity ${capacity.toFixed(1)}/s)`));
      process.stdout.write(`wrote ${args.svg}\n`);
    }
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
