// Producers of a partitioned JetStream action stream, against the loopback NATS server: the
// publisher, the live replay of `pinrank start --nats … --replay-via nats`, and `pinrank ingest
// --nats`. Every action lands once, in the stream of its user's partition, and a chunk
// published again is dropped by JetStream's duplicate window (the action id is the message id).
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { actionPartition, actionStreamPartitions } from '@pinrank/contracts';
import { connectNats } from '@pinrank/nats';
import { startNatsCluster, startNatsServer } from '@pinrank/nats/testing';
import { DEFAULT_SPIFFE_PREFIX as spiffe, ensureLocalPki } from '@pinrank/service-kit';
import { UserAction } from '@pinrank/proto';
import { readActionLog, writeWorld, type WorldManifest } from '@pinrank/sim';
import { main } from '../cli';
import { type CliIo } from '../io';
import { ActionPublisher } from '../remote/publish-actions';
import { feedFeatureServer } from './replay-feed';

const NATS_URL = '127.0.0.1:4222';
const tag = `${process.pid}_${Date.now()}`;
const target = { servers: NATS_URL, subject: `cli.test.${tag}.actions`, partitions: 3 };
const streams = actionStreamPartitions(`CLI_TEST_${tag}`, target.subject, target.partitions);

let dir: string;
let nc: NatsConnection;
let jsm: JetStreamManager;

/** Every message of the partition streams: its stream's partition, its subject and its action. */
async function stored(): Promise<Array<{ partition: number; subject: string; action: UserAction }>> {
  const out: Array<{ partition: number; subject: string; action: UserAction }> = [];
  for (const [partition, { stream }] of streams.entries()) {
    const { state } = await jsm.streams.info(stream);
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      out.push({ partition, subject: m.subject, action: UserAction.decode(m.data) });
    }
  }
  return out;
}

async function clear(): Promise<void> {
  for (const { stream } of streams) await jsm.streams.purge(stream);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cli-replay-nats-'));
  nc = await connect({ servers: NATS_URL });
  jsm = await nc.jetstreamManager();
  for (const { stream, subject } of streams) await jsm.streams.add({ name: stream, subjects: [subject] });
});

afterAll(async () => {
  for (const { stream } of streams) await jsm.streams.delete(stream).catch(() => false);
  await nc.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('publishing actions onto a partitioned action stream', () => {
  it("puts each action on its user's partition once, even when a batch is published again", async () => {
    await clear();
    const actions = Array.from({ length: 60 }, (_, i) => ({ actionId: `a${i}`, userId: `user-${i % 12}`, itemId: `i${i}`, actionType: 2, timestampMs: 1_000 + i, surface: 1 }));
    const publisher = await ActionPublisher.open(target);
    try {
      expect(await publisher.publish(actions)).toBe(60);
      expect(await publisher.publish(actions.slice(0, 5))).toBe(5);
    } finally {
      await publisher.close();
    }
    const got = await stored();
    expect(got).toHaveLength(60);
    expect(new Set(got.map((m) => m.action.actionId)).size).toBe(60);
    for (const m of got) {
      expect(m.partition).toBe(actionPartition(m.action.userId, 3));
      expect(m.subject).toBe(`${target.subject}.${m.partition}`);
    }
  });

  it('fails a publish that JetStream does not store (no stream on the subject)', async () => {
    const publisher = await ActionPublisher.open({ ...target, subject: `cli.test.${tag}.nowhere`, retryForMs: 1000 });
    try {
      const started = Date.now();
      await expect(publisher.publish([{ actionId: 'x', userId: 'u', itemId: 'i', actionType: 2, timestampMs: 1, surface: 1 }])).rejects.toThrow(
        /^JetStream did not store action x on cli\.test\.\S+\.nowhere\.\d: .*(no responders|503|timeout).* \(no stream on the subject, or none of its servers answering\)$/i,
      );
      // Tried again for the second it was given, not longer.
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await publisher.close();
    }
  });
});

describe('publishing through the loss of a stream leader (three-server cluster, R3)', () => {
  it('tries each publish again until the new leader stores it: every action stored once', async () => {
    const cluster = await startNatsCluster(3);
    const nc3 = await connectNats({ servers: cluster.urls, name: 'cluster-reader' });
    const publisher = await ActionPublisher.open({ servers: cluster.urls, subject: 'r3.actions', partitions: 1 });
    try {
      const jsm3 = await nc3.jetstreamManager();
      await jsm3.streams.add({ name: 'R3_ACTIONS', subjects: ['r3.actions'], num_replicas: 3 });
      const actions = Array.from({ length: 200 }, (_, i) => ({ actionId: `r3-${i}`, userId: `user-${i % 7}`, itemId: `i${i}`, actionType: 2, timestampMs: 1_000 + i, surface: 1 }));
      expect(await publisher.publish(actions.slice(0, 100))).toBe(100);
      const leader = (await jsm3.streams.info('R3_ACTIONS')).cluster?.leader as string;
      await cluster.servers[Number(leader.slice(1)) - 1]?.kill();
      expect(await publisher.publish(actions.slice(100))).toBe(100);
      const info = await jsm3.streams.info('R3_ACTIONS');
      expect(info.state.messages).toBe(200);
      expect(info.cluster?.leader).not.toBe(leader);
    } finally {
      await publisher.close().catch(() => undefined);
      await nc3.close();
      await cluster.stop();
    }
  }, 90_000);
});

describe('the live replay through JetStream', () => {
  it('publishes every action after the replay start, each on its user partition, stamped with the time it is sent', async () => {
    await clear();
    const world = join(dir, 'world');
    const manifest: WorldManifest = await writeWorld(world, { seed: 3, users: 40, items: 300, days: 1 });
    const liveFromMs = manifest.startMs + (manifest.endMs - manifest.startMs) / 2;
    const expected: string[] = [];
    for await (const r of readActionLog(join(world, manifest.files.actions))) if (r.timestampMs >= liveFromMs) expected.push(r.actionId);
    expect(expected.length).toBeGreaterThan(0);

    const abort = new AbortController();
    const before = Date.now();
    const summary = await feedFeatureServer({
      worldDir: world,
      manifest,
      // Not called: no history is loaded and the live part goes through JetStream.
      address: '127.0.0.1:1',
      liveFromMs,
      historyDays: 0,
      speedup: 1e9,
      liveVia: target,
      signal: abort.signal,
    });
    expect(summary.sent).toBe(expected.length);
    const got = await stored();
    expect(got.map((m) => m.action.actionId).sort()).toEqual([...expected].sort());
    for (const m of got) expect(m.partition).toBe(actionPartition(m.action.userId, 3));
    // Half a simulated day replayed a billion times faster: stamped with the wall time it was sent at, never
    // ahead of the clock (the feature-server refuses actions more than 5 minutes ahead).
    const after = Date.now();
    for (const m of got) expect(m.action.timestampMs >= before && m.action.timestampMs <= after).toBe(true);
  }, 60_000);
});

describe('pinrank ingest --nats', () => {
  it("publishes a JSON-lines file onto the partitioned action stream, each action on its user's partition", async () => {
    await clear();
    const file = join(dir, 'actions.jsonl');
    const rows = Array.from({ length: 25 }, (_, i) => JSON.stringify({ actionId: `f${i}`, userId: `file-user-${i % 6}`, itemId: `i${i}`, actionType: 'ACTION_TYPE_SAVE', timestampMs: 1_767_225_600_000 + i }));
    await writeFile(file, `${rows.join('\n')}\n`);
    let out = '';
    const io: CliIo = { out: (t) => void (out += t), err: () => undefined, errIsTty: false };
    const args = ['ingest', '--file', file, '--nats', NATS_URL, '--subject', target.subject, '--partitions', '3', '--batch', '10'];
    expect(await main(['node', 'pinrank', ...args], io)).toBe(0);
    expect(out).toMatch(new RegExp(`^published 25 actions in [0-9.]+ s onto ${target.subject.replace(/\./g, '\\.')}\\.<0\\.\\.2> \\(3 partitions\\)\\n$`));
    const got = await stored();
    expect(got.map((m) => m.action.actionId).sort()).toEqual(Array.from({ length: 25 }, (_, i) => `f${i}`).sort());
    for (const m of got) expect(m.partition).toBe(actionPartition(m.action.userId, 3));
    expect(got.every((m) => m.action.actionType === 3)).toBe(true);
  });
});

describe('pinrank ingest --nats to a NATS that wants mutual TLS', () => {
  it("publishes as the producer's certificate of --tls-dir with --nats-tls, and says why without it", async () => {
    const pkiDir = join(dir, 'pki');
    const pki = ensureLocalPki({ dir: pkiDir, identities: [{ name: 'nats', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, { name: 'action-producer' }, { name: 'feature-server' }] });
    const server = await startNatsServer({
      tls: { ...pki.files('nats'), caFile: pki.caFile, clients: 'verify_and_map' },
      users: [{ user: `${spiffe}feature-server` }, { user: `${spiffe}action-producer`, publish: ['tls.actions.>'], subscribe: ['_INBOX.>'] }],
    });
    const reader = await connectNats({ servers: server.url, name: 'reader', tls: { caFile: pki.caFile, ...pki.files('feature-server') } });
    try {
      const rjsm = await reader.jetstreamManager();
      for (const p of actionStreamPartitions('TLS_ACTIONS', 'tls.actions', 2)) await rjsm.streams.add({ name: p.stream, subjects: [p.subject] });
      const file = join(dir, 'tls-actions.jsonl');
      await writeFile(file, `${Array.from({ length: 8 }, (_, i) => JSON.stringify({ actionId: `t${i}`, userId: `tls-${i % 3}`, itemId: `i${i}`, actionType: 'ACTION_TYPE_SAVE', timestampMs: 1_767_225_600_000 + i })).join('\n')}\n`);
      let out = '';
      let err = '';
      const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), errIsTty: false };
      const args = ['ingest', '--file', file, '--nats', server.url, '--subject', 'tls.actions', '--partitions', '2', '--tls-dir', pkiDir];
      expect(await main(['node', 'pinrank', ...args, '--nats-tls'], io)).toBe(0);
      expect(out).toMatch(/^published 8 actions/);
      const held = await Promise.all(actionStreamPartitions('TLS_ACTIONS', 'tls.actions', 2).map(async (p) => (await rjsm.streams.info(p.stream)).state.messages));
      expect(held.reduce((a, b) => a + b, 0)).toBe(8);
      // Plaintext to a TLS server: refused, and the message says what the client presented.
      expect(await main(['node', 'pinrank', ...args.map((a) => (a === server.url ? a.replace('tls://', 'nats://') : a))], io)).not.toBe(0);
      expect(err).toMatch(/nats: cannot connect to nats:\/\/127\.0\.0\.1:\d+ \(TLS off, auth none\)/);
      // Flags that cannot work are refused before anything is published, each saying why.
      err = '';
      expect(await main(['node', 'pinrank', ...args, '--nats-tls', '--plaintext'], io)).not.toBe(0);
      expect(err).toContain('--nats-tls: no producer certificate found (give --tls-dir) and no --nats-ca');
      err = '';
      expect(await main(['node', 'pinrank', ...args, '--nats-tls', '--nats-user', 'producer'], io)).not.toBe(0);
      expect(err).toContain('nats: a user needs a password file, and a password file a user');
    } finally {
      await reader.close();
      await server.stop();
    }
  }, 60_000);
});
