// What the JetStream benches share: a configuration of the action stream consumed by one
// feature-server process, one measured round of it (publish `actions` with at most `inFlight`
// awaiting their PubAck, each on its user's subject, then wait until the consumer has acked
// them all), the CPU the NATS servers and the feature-server spent on it, the result table;
// and the latency of actions published one at a time, until acknowledged and until readable.
import { type JetStreamClient, type JetStreamManager } from 'nats';
import { actionStreamPartitions, actionSubject } from '@pinrank/contracts';
import { UserAction } from '@pinrank/proto';
import { type FeatureTestClient } from '../src/testing/feature-client';
import { f, p50 } from './bench-figures';
import { processCpuMs } from './process-cpu';
import { type ServerProcess } from './server-process';

/** The action stream of one configuration, the feature-server consuming it, and its figures per round. */
export interface StreamConfiguration {
  name: string;
  stream: string;
  subject: string;
  partitions: number;
  durable: string;
  server?: ServerProcess;
  publishRates: number[];
  storedRates: number[];
  /** CPU µs per action of the NATS server(s) and of the consuming feature-server, per round. */
  natsCpu: number[];
  serverCpu: number[];
}

/** A configuration with no figures yet. */
export function streamConfiguration(name: string, stream: string, subject: string, partitions: number, durable: string): StreamConfiguration {
  return { name, stream, subject, partitions, durable, publishRates: [], storedRates: [], natsCpu: [], serverCpu: [] };
}

/** The feature-server variables that make it consume configuration `c` from `natsUrl`. */
export function consumerEnv(c: StreamConfiguration, natsUrl: string): Record<string, string> {
  return {
    FEATURE_SERVER_NATS_URL: natsUrl,
    FEATURE_SERVER_NATS_STREAM: c.stream,
    FEATURE_SERVER_NATS_SUBJECT: c.subject,
    FEATURE_SERVER_NATS_DURABLE: c.durable,
    FEATURE_SERVER_NATS_PARTITIONS: String(c.partitions),
  };
}

/** Action `i` of round `run`: user `u<i mod users>`, an item of the catalog, a sequence type, a day ago. */
export function streamAction(run: string, i: number, users: number, catalog: number, nowMs: number): UserAction {
  return UserAction.fromPartial({
    actionId: `${run}-${i}`,
    userId: `u${i % users}`,
    itemId: `item-${(i * 7919) % catalog}`,
    actionType: 2 + (i % 4),
    timestampMs: nowMs - 86_400_000 + i,
    surface: 1,
    durationMs: 500,
  });
}

/** Resolves when every partition's consumer has nothing pending and nothing unacked; throws after `timeoutMs`. */
export async function drained(jsm: JetStreamManager, c: StreamConfiguration, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  const streams = actionStreamPartitions(c.stream, c.subject, c.partitions);
  for (;;) {
    const infos = await Promise.all(streams.map(({ stream }) => jsm.consumers.info(stream, c.durable)));
    if (infos.every((i) => i.num_pending === 0 && i.num_ack_pending === 0)) return;
    if (performance.now() > until) throw new Error(`${c.name}: actions still pending after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Publishes `actions(i)` for i < n, each on its user's subject, with at most `inFlight` PubAcks outstanding. */
export async function publishActions(js: JetStreamClient, c: StreamConfiguration, n: number, inFlight: number, action: (i: number) => UserAction): Promise<void> {
  const pending = new Set<Promise<unknown>>();
  for (let i = 0; i < n; i++) {
    const a = action(i);
    const p = js.publish(actionSubject(c.subject, a.userId, c.partitions), UserAction.encode(a).finish());
    pending.add(p);
    void p.finally(() => pending.delete(p));
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
}

/**
 * One measured round of configuration `c`: publishes, waits until all are stored and acked, and
 * records its figures. Returns the two times (ms) and each NATS server's CPU µs per action, in
 * the order of `natsPids` (the recorded NATS figure is their sum; NaN when none is known).
 */
export async function measureRound(
  js: JetStreamClient,
  jsm: JetStreamManager,
  c: StreamConfiguration,
  o: { actions: number; inFlight: number; natsPids: readonly number[]; action: (i: number) => UserAction },
): Promise<{ published: number; stored: number; natsCpuPerServer: number[] }> {
  const serverPid = (c.server as ServerProcess).pid;
  const nats0 = o.natsPids.map(processCpuMs);
  const server0 = processCpuMs(serverPid);
  const t0 = performance.now();
  await publishActions(js, c, o.actions, o.inFlight, o.action);
  const published = performance.now() - t0;
  await drained(jsm, c, 300_000);
  const stored = performance.now() - t0;
  const perAction = (ms: number): number => (ms * 1000) / o.actions;
  const natsCpuPerServer = o.natsPids.map((pid, i) => perAction(processCpuMs(pid) - (nats0[i] as number)));
  c.natsCpu.push(natsCpuPerServer.length === 0 ? Number.NaN : natsCpuPerServer.reduce((a, b) => a + b, 0));
  c.serverCpu.push(perAction(processCpuMs(serverPid) - server0));
  c.publishRates.push((o.actions * 1000) / published);
  c.storedRates.push((o.actions * 1000) / stored);
  return { published, stored, natsCpuPerServer };
}

/** Latency samples (ms) of actions published one at a time: until the PubAck, and until the consumer's feature-server returns the action. */
export interface FreshnessSamples {
  acked: number[];
  readable: number[];
}

/**
 * Publishes `n` actions one at a time on configuration `c` and times each: until JetStream
 * acknowledges it, and until a `GetRealtimeSequence` of its user on the consuming
 * feature-server (`reader`) returns it (polled back to back). Throws when one is not readable
 * within 10 s. `action(i)` must be the newest action of its user as of `asOfMs`.
 */
export async function measureFreshness(
  js: JetStreamClient,
  c: StreamConfiguration,
  reader: FeatureTestClient,
  o: { n: number; asOfMs: number; action: (i: number) => UserAction },
): Promise<FreshnessSamples> {
  const samples: FreshnessSamples = { acked: [], readable: [] };
  for (let i = 0; i < o.n; i++) {
    const a = o.action(i);
    const t0 = performance.now();
    await js.publish(actionSubject(c.subject, a.userId, c.partitions), UserAction.encode(a).finish());
    samples.acked.push(performance.now() - t0);
    for (;;) {
      const seq = await reader.sequence({ userId: a.userId, maxLen: 1, asOfMs: o.asOfMs, includeRecords: true });
      if (seq.records[0]?.action?.actionId === a.actionId) break;
      if (performance.now() - t0 > 10_000) throw new Error(`${c.name}: action ${a.actionId} not readable 10 s after it was published`);
    }
    samples.readable.push(performance.now() - t0);
  }
  return samples;
}

/** The result table: each configuration's medians, and their ratios to the first configuration's (`baseLabel` names it in the headers). */
export function streamTable(configs: readonly StreamConfiguration[], baseLabel: string, natsLabel: string): string[] {
  const base = configs[0] as StreamConfiguration;
  const ratio = (a: number[], b: number[]): string => `${f(p50(a) / p50(b), 2)}×`;
  return [
    `| action stream | published, actions/s | vs ${baseLabel} | stored and acked, actions/s | vs ${baseLabel} | ${natsLabel} CPU µs per action | vs ${baseLabel} | feature-server CPU µs per action | vs ${baseLabel} |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...configs.map(
      (c) =>
        `| ${c.name} | ${f(p50(c.publishRates))} | ${ratio(c.publishRates, base.publishRates)} | ${f(p50(c.storedRates))} | ${ratio(c.storedRates, base.storedRates)} | ${f(p50(c.natsCpu), 1)} | ${ratio(c.natsCpu, base.natsCpu)} | ${f(p50(c.serverCpu), 1)} | ${ratio(c.serverCpu, base.serverCpu)} |`,
    ),
  ];
}

/** Throws unless the configuration's streams hold exactly `expected` messages (and, partitioned, every partition some). */
export async function checkStored(jsm: JetStreamManager, c: StreamConfiguration, expected: number): Promise<void> {
  const held = await Promise.all(actionStreamPartitions(c.stream, c.subject, c.partitions).map(async ({ stream }) => (await jsm.streams.info(stream)).state.messages));
  const total = held.reduce((a, b) => a + b, 0);
  if (total !== expected) throw new Error(`${c.name}: ${total} messages in the streams, expected ${expected}`);
  if (c.partitions > 1 && held.some((m) => m === 0)) throw new Error(`${c.name}: a partition received nothing (${held.join(', ')})`);
}
