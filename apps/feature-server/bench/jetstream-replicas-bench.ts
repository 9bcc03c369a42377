// Benchmark of JetStream ingest with the action stream replicated on three NATS servers (R3, as
// a production stream is) against one copy (R1), on a three-server NATS cluster this bench
// starts on loopback. Two feature-server processes (LMDB), one consuming each stream (created
// with file storage by the bench), take turns (rotating order) at the same work: the bench
// publishes `--actions` actions (at most `--in-flight` awaiting their PubAck) and waits until
// the consumer has acked them all. It reports the publish and stored rates, the CPU of the
// three NATS servers together and of the feature-server per action, medians of the rounds;
// and, for `--fresh` actions published one at a time, how long each took until JetStream
// acknowledged it and until the consuming feature-server returned it.
//
// All three servers share this machine's cores with the bench and the feature-servers: the
// figures are what replication costs in CPU per action, and a lower bound on one stream's
// rate. `--rtt-ms` puts a network round trip between the servers, and between each server and
// its clients (delay proxies in the bench process, `startNatsCluster`'s `rttMs`), as if each
// server stood on a host of its own; 0 (default) runs everything over loopback directly.
//
//   npx tsx apps/feature-server/bench/jetstream-replicas-bench.ts [--actions 20000] [--users 2000] [--rounds 3] [--in-flight 256] [--fresh 200] [--rtt-ms 0] [--smoke]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { type NatsConnection } from 'nats';
import { connectNats } from '@pinrank/nats';
import { startNatsCluster, type NatsTestCluster } from '@pinrank/nats/testing';
import { UserAction } from '@pinrank/proto';
import { startCatalogServer, type CatalogServer } from '../src/testing/catalog-server';
import { FeatureTestClient } from '../src/testing/feature-client';
import { f, p50, progressLog, summary } from './bench-figures';
import { checkStored, consumerEnv, drained, measureFreshness, measureRound, streamAction, streamConfiguration, streamTable, type FreshnessSamples } from './jetstream-rounds';
import { startServerProcess, type ServerProcess } from './server-process';

const opts = new Command()
  .option('--actions <n>', 'actions published per configuration and round', (v) => Number(v), 20_000)
  .option('--users <n>', 'distinct users the actions belong to', (v) => Number(v), 2_000)
  .option('--rounds <n>', 'rounds; each configuration once per round, in rotating order', (v) => Number(v), 3)
  .option('--in-flight <n>', 'publishes awaiting their PubAck at most', (v) => Number(v), 256)
  .option('--fresh <n>', 'actions published one at a time per configuration, each timed until acknowledged and until readable', (v) => Number(v), 200)
  .option('--rtt-ms <ms>', 'network round trip between the NATS servers and to their clients, ms (0: loopback directly)', (v) => Number(v), 0)
  .option('--smoke', 'tiny sizes, through a 2 ms round trip unless --rtt-ms is given: checks that both configurations store every action; times nothing', false)
  .parse()
  .opts<{ actions: number; users: number; rounds: number; inFlight: number; fresh: number; rttMs: number; smoke: boolean }>();
// The smoke run goes through the delay proxies (a 2 ms round trip unless one is given), the path with more to break.
if (opts.smoke) Object.assign(opts, { actions: 300, users: 30, rounds: 1, fresh: 5, rttMs: opts.rttMs || 2 });
if (!(opts.rttMs >= 0)) throw new RangeError(`--rtt-ms: a round trip >= 0 ms, got ${opts.rttMs}`);
if (!Number.isInteger(opts.fresh) || opts.fresh < 1) throw new RangeError(`--fresh: at least 1 action, got ${opts.fresh}`);

const CATALOG = 5_000;
const NOW = Date.now();
const log = progressLog();

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-jetstream-replicas-bench-'));
  const started: ServerProcess[] = [];
  let catalog: CatalogServer | undefined;
  let cluster: NatsTestCluster | undefined;
  let nc: NatsConnection | undefined;
  let publisher: NatsConnection | undefined;
  const replicas = [1, 3];
  const configs = replicas.map((r) => streamConfiguration(`one stream, R${r}`, `FS_JS_R${r}`, `fs.jsbench.r${r}`, 1, `fs-jsbench-r${r}`));
  try {
    const network = opts.rttMs > 0 ? `a ${opts.rttMs} ms round trip between servers and to their clients` : 'loopback';
    log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; starting a three-server NATS cluster (${network}) and two feature-servers (LMDB): one stream R1, one R3`);
    cluster = await startNatsCluster(3, { rttMs: opts.rttMs });
    catalog = await startCatalogServer(CATALOG);
    nc = await connectNats({ servers: cluster.urls, name: 'jetstream-replicas-bench' });
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    for (const [i, c] of configs.entries()) {
      await jsm.streams.add({ name: c.stream, subjects: [c.subject], num_replicas: replicas[i] });
      c.server = await startServerProcess(catalog, { FEATURE_SERVER_BACKEND: 'lmdb', FEATURE_SERVER_LMDB_PATH: join(dir, c.stream), ...consumerEnv(c, cluster.urls) }, { started });
    }
    // Warm-up: a few actions through each, so connections, streams and the catalog cache are up.
    for (const c of configs) {
      for (let i = 0; i < 50; i++) await js.publish(c.subject, UserAction.encode(streamAction(`warm-${c.stream}`, i, opts.users, CATALOG, NOW)).finish());
      await drained(jsm, c, 60_000);
    }
    const natsPids = cluster.servers.map((s) => s.pid).filter((pid): pid is number => pid !== undefined);
    // Each server's CPU per action and round, by its role for the configuration's stream: its
    // leader, or a server the leader replicates to (R3) or that only routes messages (R1).
    const leaders = await Promise.all(configs.map(async (c, i) => {
      const info = await jsm.streams.info(c.stream);
      if (info.config.num_replicas !== replicas[i]) throw new Error(`${c.name}: the stream has ${info.config.num_replicas} replicas`);
      log(`${c.name}: leader ${info.cluster?.leader ?? '?'}${info.cluster?.replicas?.length ? `, replicas ${info.cluster.replicas.map((r) => r.name).join(', ')}` : ''}`);
      return Number(info.cluster?.leader?.slice(1)) - 1;
    }));
    // The bench publishes through a server that leads neither stream, as most producers of a
    // cluster with many streams do: each publish crosses one route to the leader.
    const through = [0, 1, 2].find((s) => !leaders.includes(s)) ?? 0;
    publisher = await connectNats({ servers: cluster.urls.split(',')[through] as string, name: 'jetstream-replicas-bench-publisher' });
    const pubJs = publisher.jetstream();
    const publishesThrough = publisher.info?.server_name ?? '?';
    const pings: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await publisher.flush(); // a PING answered by a PONG
      pings.push(performance.now() - t0);
    }
    const clientRtt = p50(pings);
    log(`the bench publishes through ${publishesThrough}; its round trip to it (NATS PING) ${f(clientRtt, 2)} ms`);
    // Freshness first, on an idle cluster: one action at a time.
    const freshness: FreshnessSamples[] = [];
    for (const c of configs) {
      const reader = new FeatureTestClient(`127.0.0.1:${(c.server as ServerProcess).port}`);
      try {
        // A user of its own per action, newer than anything else the bench publishes.
        const action = (i: number): UserAction => UserAction.fromPartial({ ...streamAction(`fresh-${c.stream}`, i, opts.users, CATALOG, NOW), userId: `fresh-u${i}`, timestampMs: NOW - 60_000 + i });
        freshness.push(await measureFreshness(pubJs, c, reader, { n: opts.fresh, asOfMs: NOW, action }));
      } finally {
        reader.close();
      }
    }
    log('freshness measured');
    const leaderCpu: number[][] = configs.map(() => []);
    const otherCpu: number[][] = configs.map(() => []);
    const benchCpu: number[] = [];
    for (let round = 0; round < opts.rounds; round++) {
      for (let k = 0; k < configs.length; k++) {
        const ci = (round + k) % configs.length;
        const c = configs[ci] as (typeof configs)[number];
        const run = `r${round}-${c.stream}`;
        const cpu0 = process.cpuUsage();
        const measured = await measureRound(pubJs, jsm, c, { actions: opts.actions, inFlight: opts.inFlight, natsPids, action: (i) => streamAction(run, i, opts.users, CATALOG, NOW) });
        const { published, stored, natsCpuPerServer: perAction } = measured;
        leaderCpu[ci]?.push(perAction[leaders[ci] as number] as number);
        otherCpu[ci]?.push(Math.max(...perAction.filter((_, s) => s !== leaders[ci])));
        const cpu = process.cpuUsage(cpu0);
        benchCpu.push(((cpu.user + cpu.system) / 1000 / stored) * 100);
        log(`round ${round + 1}, ${c.name}: published in ${f(published)} ms, all stored and acked in ${f(stored)} ms; the bench process used ${f(benchCpu.at(-1) as number)}% of a core`);
      }
    }
    const rows = [
      `${f(opts.actions)} actions of ${f(opts.users)} users per configuration and round, at most ${opts.inFlight} publishes in flight; medians of ${opts.rounds} round(s); a three-server NATS cluster on this machine (${network}), file storage.`,
      '',
      ...streamTable(configs, 'R1', 'NATS servers (all three)'),
      '',
      '| action stream | its leader, CPU µs per action | busiest other server, CPU µs per action | one core per leader: actions/s at most |',
      '|---|---:|---:|---:|',
      ...configs.map((c, i) => `| ${c.name} | ${f(p50(leaderCpu[i] as number[]), 1)} | ${f(p50(otherCpu[i] as number[]), 1)} | ${f(1e6 / p50(leaderCpu[i] as number[]))} |`),
      '',
      "CPU from /proc (user + system), over each round's publishing and draining. The feature-server's includes its idle work (timers, metrics).",
      `The bench process (the publisher${opts.rttMs > 0 ? ' and the delay proxies' : ''}) used ${f(p50(benchCpu))}% of a core (median of the rounds).`,
      '',
      `${f(opts.fresh)} actions published one at a time per configuration, on an idle cluster, published through ${publishesThrough} (a server that leads neither stream; PING round trip ${f(clientRtt, 2)} ms, median of 20); readable: the first GetRealtimeSequence of the consuming feature-server (polled back to back) that returns the action.`,
      '',
      '| action stream | publish → PubAck p50 / p99 ms | p50 vs R1 | publish → readable p50 / p99 ms | p50 vs R1 |',
      '|---|---:|---:|---:|---:|',
      ...configs.map((c, i) => {
        const [acked, readable] = [summary(freshness[i]?.acked ?? []), summary(freshness[i]?.readable ?? [])];
        const [baseAcked, baseReadable] = [summary(freshness[0]?.acked ?? []), summary(freshness[0]?.readable ?? [])];
        return `| ${c.name} | ${f(acked.p50, 2)} / ${f(acked.p99, 2)} | ${f(acked.p50 / baseAcked.p50, 2)}× | ${f(readable.p50, 2)} / ${f(readable.p99, 2)} | ${f(readable.p50 / baseReadable.p50, 2)}× |`;
      }),
    ];
    process.stdout.write(`${rows.join('\n')}\n`);
    for (const c of configs) await checkStored(jsm, c, 50 + opts.fresh + opts.rounds * opts.actions);
    log(`done; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await Promise.all(started.map((s) => s.stop()));
    await publisher?.close();
    await nc?.close();
    await catalog?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
