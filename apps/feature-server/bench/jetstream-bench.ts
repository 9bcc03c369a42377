// Benchmark of JetStream ingest with the action stream in one stream against P partitions
// (FEATURE_SERVER_NATS_PARTITIONS): two feature-server processes (LMDB), one consuming an
// unpartitioned stream and one consuming P streams, take turns (rotating order) at the same
// work: the bench publishes `--actions` actions (at most `--in-flight` publishes awaiting their
// PubAck), each on its user's subject (actionSubject of @pinrank/contracts), and waits until
// every consumer has acked them all. It reports the publish rate (PubAcks a second) and the
// stored rate (actions a second from the first publish to the last ack), median of the rounds.
//
// One NATS server on loopback, on the same cores as the bench and both servers: this measures
// what partitions cost or save the publisher, the server and the consumer on one machine, not
// how far partitions spread over a NATS cluster (there each stream has a leader of its own).
//
//   npx tsx apps/feature-server/bench/jetstream-bench.ts [--actions 20000] [--users 2000] [--partitions 5] [--rounds 3] [--in-flight 256] [--profile-dir <dir>] [--smoke]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { connect, type JetStreamManager } from 'nats';
import { actionStreamPartitions, actionSubject } from '@pinrank/contracts';
import { UserAction } from '@pinrank/proto';
import { startCatalogServer } from '../src/testing/catalog-server';
import { f, p50, progressLog } from './bench-figures';
import { pidOf, processCpuMs } from './process-cpu';
import { startServerProcess, type ServerProcess } from './server-process';

const opts = new Command()
  .option('--actions <n>', 'actions published per configuration and round', (v) => Number(v), 20_000)
  .option('--users <n>', 'distinct users the actions belong to', (v) => Number(v), 2_000)
  .option('--partitions <n>', 'partitions of the partitioned configuration', (v) => Number(v), 5)
  .option('--rounds <n>', 'rounds; each configuration once per round, in rotating order', (v) => Number(v), 3)
  .option('--in-flight <n>', 'publishes awaiting their PubAck at most', (v) => Number(v), 256)
  .option('--profile-dir <dir>', 'each feature-server process writes a V8 CPU profile there when it stops (summarise with apps/ranker/bench/cpu-profile.ts)')
  .option('--smoke', 'tiny sizes: checks that both configurations store every action; times nothing', false)
  .parse()
  .opts<{ actions: number; users: number; partitions: number; rounds: number; inFlight: number; profileDir?: string; smoke: boolean }>();
if (opts.smoke) Object.assign(opts, { actions: 300, users: 30, partitions: 3, rounds: 1 });

const NATS_URL = '127.0.0.1:4222';
const CATALOG = 5_000;
const NOW = Date.now();
const tag = `${process.pid}_${NOW}`;
const log = progressLog();

interface Configuration {
  name: string;
  stream: string;
  subject: string;
  partitions: number;
  durable: string;
  server?: ServerProcess;
  publishRates: number[];
  storedRates: number[];
  /** CPU µs per action of the NATS server and of the consuming feature-server, per round. */
  natsCpu: number[];
  serverCpu: number[];
}

const action = (run: string, i: number): UserAction =>
  UserAction.fromPartial({
    actionId: `${run}-${i}`,
    userId: `u${i % opts.users}`,
    itemId: `item-${(i * 7919) % CATALOG}`,
    actionType: 2 + (i % 4),
    timestampMs: NOW - 86_400_000 + i,
    surface: 1,
    durationMs: 500,
  });

/** Resolves when every partition's consumer has nothing pending and nothing unacked; throws after `timeoutMs`. */
async function drained(jsm: JetStreamManager, c: Configuration, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  const streams = actionStreamPartitions(c.stream, c.subject, c.partitions);
  for (;;) {
    const infos = await Promise.all(streams.map(({ stream }) => jsm.consumers.info(stream, c.durable)));
    if (infos.every((i) => i.num_pending === 0 && i.num_ack_pending === 0)) return;
    if (performance.now() > until) throw new Error(`${c.name}: actions still pending after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-jetstream-bench-'));
  const catalog = await startCatalogServer(CATALOG);
  const started: ServerProcess[] = [];
  const nc = await connect({ servers: NATS_URL });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const configs: Configuration[] = [
    { name: 'one stream', stream: `FS_JS_BENCH_${tag}`, subject: `fs.jsbench.${tag}.one`, partitions: 1, durable: `fs-jsbench-${tag}`, publishRates: [], storedRates: [], natsCpu: [], serverCpu: [] },
    {
      name: `${opts.partitions} partitions`,
      stream: `FS_JS_BENCH_P_${tag}`,
      subject: `fs.jsbench.${tag}.parts`,
      partitions: opts.partitions,
      durable: `fs-jsbench-${tag}`,
      publishRates: [],
      storedRates: [],
      natsCpu: [],
      serverCpu: [],
    },
  ];
  try {
    log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; starting two feature-servers (LMDB): one stream, ${opts.partitions} partitions`);
    for (const c of configs) {
      c.server = await startServerProcess(
        catalog,
        {
          FEATURE_SERVER_BACKEND: 'lmdb',
          FEATURE_SERVER_LMDB_PATH: join(dir, c.stream),
          FEATURE_SERVER_NATS_URL: NATS_URL,
          FEATURE_SERVER_NATS_STREAM: c.stream,
          FEATURE_SERVER_NATS_SUBJECT: c.subject,
          FEATURE_SERVER_NATS_DURABLE: c.durable,
          FEATURE_SERVER_NATS_PARTITIONS: String(c.partitions),
        },
        { started, ...(opts.profileDir ? { profileDir: join(opts.profileDir, c.partitions === 1 ? 'one-stream' : 'partitions') } : {}) },
      );
    }
    // Warm-up: a few actions through each, so connections, streams and the catalog cache are up.
    for (const c of configs) {
      for (let i = 0; i < 50; i++) await js.publish(actionSubject(c.subject, `u${i}`, c.partitions), UserAction.encode(action(`warm-${c.partitions}`, i)).finish());
      await drained(jsm, c, 60_000);
    }
    // The NATS server's CPU, where this machine runs exactly one (as the loopback one here).
    const natsPid = pidOf('nats-server');
    const cpuOf = (c: Configuration): [number, number] => [natsPid === undefined ? Number.NaN : processCpuMs(natsPid), processCpuMs((c.server as ServerProcess).pid)];
    for (let round = 0; round < opts.rounds; round++) {
      for (let k = 0; k < configs.length; k++) {
        const c = configs[(round + k) % configs.length] as Configuration;
        const run = `r${round}-p${c.partitions}`;
        const cpu0 = cpuOf(c);
        const t0 = performance.now();
        const inFlight = new Set<Promise<unknown>>();
        for (let i = 0; i < opts.actions; i++) {
          const a = action(run, i);
          const p = js.publish(actionSubject(c.subject, a.userId, c.partitions), UserAction.encode(a).finish());
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
          if (inFlight.size >= opts.inFlight) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
        const published = performance.now() - t0;
        await drained(jsm, c, 300_000);
        const stored = performance.now() - t0;
        const cpu1 = cpuOf(c);
        c.natsCpu.push(((cpu1[0] - cpu0[0]) * 1000) / opts.actions);
        c.serverCpu.push(((cpu1[1] - cpu0[1]) * 1000) / opts.actions);
        c.publishRates.push((opts.actions * 1000) / published);
        c.storedRates.push((opts.actions * 1000) / stored);
        log(`round ${round + 1}, ${c.name}: published in ${f(published)} ms, all stored and acked in ${f(stored)} ms`);
      }
    }
    const base = configs[0] as Configuration;
    const rows = [
      `${f(opts.actions)} actions of ${f(opts.users)} users per configuration and round, at most ${opts.inFlight} publishes in flight; medians of ${opts.rounds} round(s).`,
      '',
      '| action stream | published, actions/s | vs one stream | stored and acked, actions/s | vs one stream | NATS server CPU µs per action | vs one stream | feature-server CPU µs per action | vs one stream |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...configs.map((c) => {
        const ratio = (a: number[], b: number[]): string => `${f(p50(a) / p50(b), 2)}×`;
        return `| ${c.name} | ${f(p50(c.publishRates))} | ${ratio(c.publishRates, base.publishRates)} | ${f(p50(c.storedRates))} | ${ratio(c.storedRates, base.storedRates)} | ${f(p50(c.natsCpu), 1)} | ${ratio(c.natsCpu, base.natsCpu)} | ${f(p50(c.serverCpu), 1)} | ${ratio(c.serverCpu, base.serverCpu)} |`;
      }),
      '',
      `CPU from /proc (user + system), over each round's publishing and draining${natsPid === undefined ? '; no single nats-server process found here, so no NATS figures' : ''}. The feature-server's includes its idle work (timers, metrics).`,
    ];
    process.stdout.write(`${rows.join('\n')}\n`);
    // Every action stored, each in the stream of its user's partition.
    for (const c of configs) {
      const held = await Promise.all(actionStreamPartitions(c.stream, c.subject, c.partitions).map(async ({ stream }) => (await jsm.streams.info(stream)).state.messages));
      const total = held.reduce((a, b) => a + b, 0);
      if (total !== 50 + opts.rounds * opts.actions) throw new Error(`${c.name}: ${total} messages in the streams, expected ${50 + opts.rounds * opts.actions}`);
      if (c.partitions > 1 && held.some((m) => m === 0)) throw new Error(`${c.name}: a partition received nothing (${held.join(', ')})`);
    }
    log(`done; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await Promise.all(started.map((s) => s.stop()));
    for (const c of configs) {
      for (const { stream } of actionStreamPartitions(c.stream, c.subject, c.partitions)) await jsm.streams.delete(stream).catch(() => false);
    }
    await nc.close();
    await catalog.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
