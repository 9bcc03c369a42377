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
import { connect } from 'nats';
import { actionStreamPartitions, actionSubject } from '@pinrank/contracts';
import { UserAction } from '@pinrank/proto';
import { startCatalogServer } from '../src/testing/catalog-server';
import { f, progressLog } from './bench-figures';
import { checkStored, consumerEnv, drained, measureRound, streamAction, streamConfiguration, streamTable } from './jetstream-rounds';
import { pidOf } from './process-cpu';
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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-jetstream-bench-'));
  const catalog = await startCatalogServer(CATALOG);
  const started: ServerProcess[] = [];
  const nc = await connect({ servers: NATS_URL });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const configs = [
    streamConfiguration('one stream', `FS_JS_BENCH_${tag}`, `fs.jsbench.${tag}.one`, 1, `fs-jsbench-${tag}`),
    streamConfiguration(`${opts.partitions} partitions`, `FS_JS_BENCH_P_${tag}`, `fs.jsbench.${tag}.parts`, opts.partitions, `fs-jsbench-${tag}`),
  ];
  try {
    log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; starting two feature-servers (LMDB): one stream, ${opts.partitions} partitions`);
    for (const c of configs) {
      c.server = await startServerProcess(
        catalog,
        { FEATURE_SERVER_BACKEND: 'lmdb', FEATURE_SERVER_LMDB_PATH: join(dir, c.stream), ...consumerEnv(c, NATS_URL) },
        { started, ...(opts.profileDir ? { profileDir: join(opts.profileDir, c.partitions === 1 ? 'one-stream' : 'partitions') } : {}) },
      );
    }
    // Warm-up: a few actions through each, so connections, streams and the catalog cache are up.
    for (const c of configs) {
      for (let i = 0; i < 50; i++) await js.publish(actionSubject(c.subject, `u${i}`, c.partitions), UserAction.encode(streamAction(`warm-${c.partitions}`, i, opts.users, CATALOG, NOW)).finish());
      await drained(jsm, c, 60_000);
    }
    // The NATS server's CPU, where this machine runs exactly one (as the loopback one here).
    const natsPid = pidOf('nats-server');
    for (let round = 0; round < opts.rounds; round++) {
      for (let k = 0; k < configs.length; k++) {
        const c = configs[(round + k) % configs.length] as (typeof configs)[number];
        const run = `r${round}-p${c.partitions}`;
        const { published, stored } = await measureRound(js, jsm, c, {
          actions: opts.actions,
          inFlight: opts.inFlight,
          natsPids: natsPid === undefined ? [] : [natsPid],
          action: (i) => streamAction(run, i, opts.users, CATALOG, NOW),
        });
        log(`round ${round + 1}, ${c.name}: published in ${f(published)} ms, all stored and acked in ${f(stored)} ms`);
      }
    }
    const rows = [
      `${f(opts.actions)} actions of ${f(opts.users)} users per configuration and round, at most ${opts.inFlight} publishes in flight; medians of ${opts.rounds} round(s).`,
      '',
      ...streamTable(configs, 'one stream', 'NATS server'),
      '',
      `CPU from /proc (user + system), over each round's publishing and draining${natsPid === undefined ? '; no single nats-server process found here, so no NATS figures' : ''}. The feature-server's includes its idle work (timers, metrics).`,
    ];
    process.stdout.write(`${rows.join('\n')}\n`);
    // Every action stored, each in the stream of its user's partition.
    for (const c of configs) await checkStored(jsm, c, 50 + opts.rounds * opts.actions);
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
