import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type JetStreamClient, type NatsConnection } from 'nats';
import pino from 'pino';
import { actionPartition, actionStreamPartitions, actionSubject } from '@pinrank/contracts';
import { connectNats, type NatsSecurity } from '@pinrank/nats';
import { startNatsCluster, startNatsServer, type NatsTestServer } from '@pinrank/nats/testing';
import { DEFAULT_SPIFFE_PREFIX as SPIFFE, ensureLocalPki } from '@pinrank/service-kit';
import { UserAction } from '@pinrank/proto';
import { startFeatureServer, type FeatureServerApp } from '../app';
import { startCatalogServer, type CatalogServer } from '../testing/catalog-server';
import { FeatureTestClient } from '../testing/feature-client';

const NATS_URL = '127.0.0.1:4222';
const tag = `${process.pid}_${Date.now()}`;
const nats = { servers: NATS_URL, stream: `FS_TEST_${tag}`, subject: `fs.test.${tag}.actions`, durable: `fs-test-${tag}` };
const partitioned = { ...nats, stream: `FS_TEST_P_${tag}`, subject: `fs.test.${tag}.partitioned`, partitions: 3, backlogPollMs: 25 };
const NOW = Date.now();

let dir: string;
let catalog: CatalogServer;
let nc: NatsConnection;
let js: JetStreamClient;

const encode = (n: number, patch: Partial<UserAction> = {}): Uint8Array =>
  UserAction.encode(
    UserAction.fromPartial({ actionId: `js-${n}`, userId: 'js-user', itemId: `item-${n}`, actionType: 2, timestampMs: NOW - 60_000 + n, surface: 1, ...patch }),
  ).finish();

type ConsumerOptions = typeof nats & { partitions?: number; backlogPollMs?: number; security?: NatsSecurity; reconnectTimeWaitMs?: number; replicas?: number; pullExpiresMs?: number };

async function start(options: ConsumerOptions = nats, store = 'lmdb', onIngestLost?: (err: Error) => void): Promise<FeatureServerApp> {
  return startFeatureServer({
    server: { address: '127.0.0.1:0', signals: [], logger: pino({ level: 'silent' }) },
    backend: { kind: 'lmdb', path: join(dir, store) },
    content: { address: catalog.address },
    nats: options,
    ...(onIngestLost ? { onIngestLost } : {}),
  });
}

async function waitFor<T>(probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Publishes action `n` of user `<tag>-user` (id `<tag>-<n>`), trying again for up to 30 s
 * while a cluster elects a leader. The action id is the message id: a publish repeated after
 * a timeout is stored once.
 */
function storedPublisher(producer: NatsConnection, subject: string, tag: string): (n: number) => Promise<void> {
  const pjs = producer.jetstream();
  return (n) =>
    waitFor(
      () => pjs.publish(subject, encode(n, { userId: `${tag}-user`, actionId: `${tag}-${n}` }), { msgID: `${tag}-${n}`, timeout: 1000 }).then(() => true, () => false),
      (ok) => ok,
      30_000,
    ).then((ok) => expect(ok).toBe(true));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fs-nats-'));
  catalog = await startCatalogServer(100);
  nc = await connect({ servers: NATS_URL });
  js = nc.jetstream();
});
afterAll(async () => {
  const jsm = await nc.jetstreamManager();
  for (const { stream } of [nats, ...actionStreamPartitions(partitioned.stream, partitioned.subject, partitioned.partitions)]) await jsm.streams.delete(stream).catch(() => false);
  await nc.close();
  await catalog.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('JetStream ingest', () => {
  it('stores published actions, acks each only after persisting, terminates bad ones, and absorbs redelivery', async () => {
    let app = await start();
    let client = new FeatureTestClient(`127.0.0.1:${app.port}`);
    try {
      for (let n = 0; n < 20; n++) await js.publish(nats.subject, encode(n));
      await js.publish(nats.subject, encode(3)); // a redelivered copy
      await js.publish(nats.subject, new Uint8Array([0xff, 0xff, 0xff])); // undecodable
      await js.publish(nats.subject, encode(99, { actionType: 0 })); // invalid
      const seq = await waitFor(
        () => client.sequence({ userId: 'js-user', asOfMs: NOW }),
        (s) => s.length === 20,
      );
      expect(seq.length).toBe(20);
      const jsm = await nc.jetstreamManager();
      const info = await waitFor(
        () => jsm.consumers.info(nats.stream, nats.durable),
        (i) => i.num_ack_pending === 0 && i.num_pending === 0,
      );
      expect([info.num_ack_pending, info.num_pending, info.num_redelivered]).toEqual([0, 0, 0]);
      const counts = Object.fromEntries((await app.metrics.ingested.get()).values.map((v) => [String(v.labels.result), v.value]));
      expect(counts).toMatchObject({ accepted: 20, duplicate: 1, rejected: 2 });
      expect((await app.metrics.ingestToVisible.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(20);

      // Restart on the same data: the durable consumer resumes after the acked messages only,
      // and republished (redelivered) action ids are duplicates.
      client.close();
      await app.stop();
      for (let n = 15; n < 25; n++) await js.publish(nats.subject, encode(n));
      app = await start();
      client = new FeatureTestClient(`127.0.0.1:${app.port}`);
      const after = await waitFor(
        () => client.sequence({ userId: 'js-user', asOfMs: NOW, maxLen: 200 }),
        (s) => s.length === 25,
      );
      expect(after.length).toBe(25);
      await waitFor(
        () => jsm.consumers.info(nats.stream, nats.durable),
        (i) => i.num_ack_pending === 0 && i.num_pending === 0,
      );
      const again = Object.fromEntries((await app.metrics.ingested.get()).values.map((v) => [String(v.labels.result), v.value]));
      expect(again).toMatchObject({ accepted: 5, duplicate: 5 });
    } finally {
      client.close();
      await app.stop();
    }
  });
});

describe('JetStream ingest when its consumer or stream is removed', () => {
  it('creates the durable consumer again, and the stream, and consumes what is published afterwards', async () => {
    const options = { ...nats, stream: `FS_TEST_GONE_${tag}`, subject: `fs.test.${tag}.gone`, durable: `fs-gone-${tag}` };
    const app = await start(options, 'lmdb-gone');
    const client = new FeatureTestClient(`127.0.0.1:${app.port}`);
    const jsm = await nc.jetstreamManager();
    const publish = (n: number): Promise<boolean> =>
      waitFor(
        () => js.publish(options.subject, encode(n, { userId: 'gone-user', actionId: `gone-${n}` }), { msgID: `gone-${n}` }).then(() => true, () => false),
        (ok) => ok,
        30_000,
      );
    const stored = (n: number): Promise<number> => waitFor(() => client.sequence({ userId: 'gone-user', asOfMs: NOW }), (s) => s.length === n, 30_000).then((s) => s.length);
    const exists = (): Promise<boolean> => waitFor(() => jsm.consumers.info(options.stream, options.durable).then(() => true, () => false), (ok) => ok, 30_000);
    try {
      for (let n = 0; n < 3; n++) await publish(n);
      expect(await stored(3)).toBe(3);
      // An operator removes the durable consumer (`nats consumer rm`).
      await jsm.consumers.delete(options.stream, options.durable);
      expect(await exists()).toBe(true);
      for (let n = 3; n < 6; n++) await publish(n);
      expect(await stored(6)).toBe(6);
      // … or the whole stream (`nats stream rm`, or a NATS that lost its store).
      await jsm.streams.delete(options.stream);
      expect(await exists()).toBe(true);
      for (let n = 6; n < 9; n++) expect(await publish(n)).toBe(true);
      expect(await stored(9)).toBe(9);
    } finally {
      client.close();
      await app.stop();
      await jsm.streams.delete(options.stream).catch(() => false);
    }
  }, 120_000);
});

describe('JetStream ingest from a partitioned action stream', () => {
  it('consumes every partition: each user on the stream its id hashes to, all stored, all acked', async () => {
    const app = await start(partitioned, 'lmdb-partitioned');
    const client = new FeatureTestClient(`127.0.0.1:${app.port}`);
    try {
      const users = Array.from({ length: 12 }, (_, u) => `p-user-${u}`);
      for (const [u, userId] of users.entries()) {
        for (let n = 0; n < 4; n++) {
          await js.publish(actionSubject(partitioned.subject, userId, 3), encode(100 * u + n, { userId, actionId: `p-${u}-${n}` }));
        }
      }
      // A message on a partition its user does not hash to is still stored: the partition only spreads the load.
      const stray = users.find((u) => actionPartition(u, 3) !== 0) as string;
      await js.publish(`${partitioned.subject}.0`, encode(999, { userId: stray, actionId: 'p-stray' }));

      const jsm = await nc.jetstreamManager();
      const streams = actionStreamPartitions(partitioned.stream, partitioned.subject, 3);
      const held = await Promise.all(streams.map(async ({ stream }) => (await jsm.streams.info(stream)).state.messages));
      expect(held.reduce((a, b) => a + b, 0)).toBe(users.length * 4 + 1);
      // Twelve users over three partitions: each stream carries some.
      expect(held.every((m) => m > 0)).toBe(true);

      for (const userId of users) {
        const seq = await waitFor(
          () => client.sequence({ userId, asOfMs: NOW }),
          (s) => s.length === (userId === stray ? 5 : 4),
        );
        expect(seq.length).toBe(userId === stray ? 5 : 4);
      }
      for (const { stream } of streams) {
        const info = await waitFor(
          () => jsm.consumers.info(stream, partitioned.durable),
          (i) => i.num_ack_pending === 0 && i.num_pending === 0,
        );
        expect([info.num_ack_pending, info.num_pending]).toEqual([0, 0]);
      }
      const counts = Object.fromEntries((await app.metrics.ingested.get()).values.map((v) => [String(v.labels.result), v.value]));
      expect(counts).toMatchObject({ accepted: users.length * 4 + 1 });
      // The backlog gauge, polled every 25 ms here: one series per partition's stream, at 0 once all is acked.
      const backlog = await waitFor(
        async () => (await app.metrics.jetstreamBacklog.get()).values.map((v) => [String(v.labels.stream), v.value] as const).sort(),
        (v) => v.length === 3 && v.every(([, n]) => n === 0),
      );
      expect(backlog).toEqual(streams.map(({ stream }) => [stream, 0]).sort());
    } finally {
      client.close();
      await app.stop();
    }
  });
});

describe('JetStream ingest from a secured NATS, and through an outage', () => {
  let server: NatsTestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('consumes over mutual TLS as its own identity, and fails at start-up as one NATS does not know', async () => {
    const pki = ensureLocalPki({
      dir: join(dir, 'pki'),
      identities: [{ name: 'nats', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, { name: 'feature-server', dnsNames: ['feature-server'] }, { name: 'action-producer' }, { name: 'stranger' }],
    });
    const subject = 'pinrank.actions';
    server = await startNatsServer({
      tls: { ...pki.files('nats'), caFile: pki.caFile, clients: 'verify_and_map' },
      users: [
        // The permissions docs/deploy.md gives the feature-server: the JetStream API and acks, replies on its inbox.
        { user: `${SPIFFE}feature-server`, publish: ['$JS.API.>', '$JS.ACK.>'], subscribe: ['_INBOX.>'] },
        // Producers may publish actions (and read their acknowledgements), nothing else.
        { user: `${SPIFFE}action-producer`, publish: [`${subject}.>`, subject], subscribe: ['_INBOX.>'] },
      ],
    });
    const options = { ...nats, servers: server.url, subject, stream: 'PINRANK_ACTIONS', partitions: 2, security: { tls: { caFile: pki.caFile, ...pki.files('feature-server') } } };
    const app = await start(options, 'lmdb-tls');
    const producer = await connectNats({ servers: server.url, name: 'producer', tls: { caFile: pki.caFile, ...pki.files('action-producer') } });
    const client = new FeatureTestClient(`127.0.0.1:${app.port}`);
    try {
      const pjs = producer.jetstream();
      for (let n = 0; n < 6; n++) await pjs.publish(actionSubject(subject, 'tls-user', 2), encode(n, { userId: 'tls-user', actionId: `tls-${n}` }));
      const seq = await waitFor(
        () => client.sequence({ userId: 'tls-user', asOfMs: NOW }),
        (s) => s.length === 6,
      );
      expect(seq.length).toBe(6);
      await expect(start({ ...options, security: { tls: { caFile: pki.caFile, ...pki.files('stranger') } } }, 'lmdb-stranger')).rejects.toThrow(
        /nats: cannot connect to tls:\/\/127\.0\.0\.1:\d+ \(TLS mutual, auth none\): .*Authorization Violation/i,
      );
    } finally {
      client.close();
      await producer.close();
      await app.stop();
    }
  });

  it('keeps consuming after NATS is down for longer than ten reconnect attempts, and never reports the ingest lost', async () => {
    server = await startNatsServer();
    const lost: Error[] = [];
    const options = { ...nats, servers: server.url, stream: 'OUTAGE', subject: 'outage.actions', reconnectTimeWaitMs: 50 };
    const app = await start(options, 'lmdb-outage', (err) => lost.push(err));
    const producer = await connectNats({ servers: server.url, name: 'producer', reconnectTimeWaitMs: 50 });
    const client = new FeatureTestClient(`127.0.0.1:${app.port}`);
    try {
      const pjs = producer.jetstream();
      for (let n = 0; n < 5; n++) await pjs.publish(options.subject, encode(n, { userId: 'outage-user', actionId: `o-${n}` }));
      await waitFor(
        () => client.sequence({ userId: 'outage-user', asOfMs: NOW }),
        (s) => s.length === 5,
      );
      const connected = async (): Promise<number | undefined> => (await app.metrics.jetstreamConnected.get()).values.find((v) => v.labels.stream === 'OUTAGE')?.value;
      expect(await connected()).toBe(1);
      await server.kill();
      expect(await waitFor(connected, (v) => v === 0)).toBe(0);
      await new Promise((r) => setTimeout(r, 1500)); // NATS's own default would have given up after 10 × 50 ms
      await server.start();
      for (let n = 5; n < 10; n++) {
        await waitFor(
          () => pjs.publish(options.subject, encode(n, { userId: 'outage-user', actionId: `o-${n}` })).then(() => true, () => false),
          (ok) => ok,
        );
      }
      const seq = await waitFor(
        () => client.sequence({ userId: 'outage-user', asOfMs: NOW }),
        (s) => s.length === 10,
      );
      expect(seq.length).toBe(10);
      expect(await connected()).toBe(1);
      expect(lost).toEqual([]);
    } finally {
      client.close();
      await producer.close();
      await app.stop();
    }
  });

  it('creates its stream with three copies and loses nothing, nor stalls, when the leader of its consumer is killed mid-stream (three-server cluster)', async () => {
    const cluster = await startNatsCluster(3);
    const lost: Error[] = [];
    const options = { ...nats, servers: cluster.urls, stream: 'R3_ACTIONS', subject: 'r3.actions', reconnectTimeWaitMs: 50 };
    const producer = await connectNats({ servers: cluster.urls, name: 'producer', reconnectTimeWaitMs: 50 });
    let app: FeatureServerApp | undefined;
    let client: FeatureTestClient | undefined;
    try {
      const jsm = await producer.jetstreamManager();
      // An existing stream with fewer copies is used as it is, and logged with the command that raises them.
      await jsm.streams.add({ name: 'R1_ACTIONS', subjects: ['r1.actions'], num_replicas: 1 });
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
      const second = await startFeatureServer({
        server: { address: '127.0.0.1:0', signals: [], logger },
        backend: { kind: 'lmdb', path: join(dir, 'lmdb-r1') },
        content: { address: catalog.address },
        nats: { ...options, stream: 'R1_ACTIONS', subject: 'r1.actions', replicas: 3 },
      });
      await second.stop();
      expect((await jsm.streams.info('R1_ACTIONS')).config.num_replicas).toBe(1);
      expect(lines.join('')).toContain('jetstream: stream R1_ACTIONS keeps 1 copy of each action, fewer than the 3 asked for; raise it with `nats stream edit R1_ACTIONS --replicas 3`');
      // More copies than servers: the start-up fails, naming the stream and the variable.
      await expect(start({ ...options, stream: 'R5_ACTIONS', subject: 'r5.actions', replicas: 5 }, 'lmdb-r5')).rejects.toThrow(
        /jetstream: cannot create stream R5_ACTIONS with 5 replica\(s\): .* \(FEATURE_SERVER_NATS_REPLICAS must not exceed the JetStream servers\)/,
      );

      // The feature-server creates the missing stream with three copies (FEATURE_SERVER_NATS_REPLICAS=3).
      app = await start({ ...options, replicas: 3 }, 'lmdb-r3', (err) => lost.push(err));
      client = new FeatureTestClient(`127.0.0.1:${app.port}`);
      const publish = storedPublisher(producer, options.subject, 'r3');
      for (let n = 0; n < 20; n++) await publish(n);
      const sequence = (): ReturnType<FeatureTestClient['sequence']> => (client as FeatureTestClient).sequence({ userId: 'r3-user', asOfMs: NOW });
      expect((await waitFor(sequence, (s) => s.length === 20)).length).toBe(20);
      const info = await jsm.streams.info(options.stream);
      expect(info.config.num_replicas).toBe(3);
      // The server leading the durable consumer holds its pending pull: losing it is the harder case
      // (it may lead the stream too).
      const leader = (await jsm.consumers.info(options.stream, options.durable)).cluster?.leader as string;
      expect(leader).toMatch(/^n[123]$/);
      await cluster.servers[Number(leader.slice(1)) - 1]?.kill();
      for (let n = 20; n < 40; n++) await publish(n);
      // The consumer's new leader is elected within seconds, and the lost pull is renewed within the 5 s pull expiry:
      // all stored 10-12 s after the kill here. With NATS's own 30 s expiry it took 31-45 s.
      expect((await waitFor(sequence, (s) => s.length === 40, 25_000)).length).toBe(40);
      expect((await jsm.consumers.info(options.stream, options.durable)).cluster?.leader).not.toBe(leader);
      expect(lost).toEqual([]);
    } finally {
      client?.close();
      await app?.stop();
      await producer.close();
      await cluster.stop();
    }
  }, 90_000);

  it('moves to another server, and loses nothing, when the server it consumes through is cut off silently (three-server cluster, a partition)', async () => {
    // A partition, or a host that vanished: no connection is closed, nothing more arrives.
    const cluster = await startNatsCluster(3, { rttMs: 2 });
    const options = { ...nats, servers: cluster.urls, stream: 'CUT_ACTIONS', subject: 'cut.actions', reconnectTimeWaitMs: 50, replicas: 3 };
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    let app: FeatureServerApp | undefined;
    let client: FeatureTestClient | undefined;
    let producer: NatsConnection | undefined;
    let cut = -1;
    try {
      app = await startFeatureServer({
        server: { address: '127.0.0.1:0', signals: [], logger },
        backend: { kind: 'lmdb', path: join(dir, 'lmdb-cut') },
        content: { address: catalog.address },
        nats: options,
      });
      client = new FeatureTestClient(`127.0.0.1:${app.port}`);
      const through = (JSON.parse(lines.find((l) => l.includes('jetstream: connected')) ?? '{}') as { serverName?: string }).serverName ?? '';
      expect(through).toMatch(/^n[123]$/);
      cut = Number(through.slice(1)) - 1;
      // The producer stands on the majority's side.
      producer = await connectNats({ servers: cluster.urls.split(',').filter((_, i) => i !== cut).join(','), name: 'producer', reconnectTimeWaitMs: 50 });
      const publish = storedPublisher(producer, options.subject, 'cut');
      const sequence = (): ReturnType<FeatureTestClient['sequence']> => (client as FeatureTestClient).sequence({ userId: 'cut-user', asOfMs: NOW });
      for (let n = 0; n < 20; n++) await publish(n);
      expect((await waitFor(sequence, (s) => s.length === 20)).length).toBe(20);

      cluster.partition(cut);
      for (let n = 20; n < 40; n++) await publish(n);
      // Pings 5 s apart (connectNats): after two unanswered the client moves to another server.
      // What the JetStream leader had already handed to the silent server's pull comes back
      // after the consumer's ack wait (30 s): all stored about 30 s after the cut. With NATS's
      // own pings, two minutes apart, nothing more was stored within 45 s.
      expect((await waitFor(sequence, (s) => s.length === 40, 45_000)).length).toBe(40);
      const movedTo = (JSON.parse(lines.find((l) => l.includes('jetstream: reconnected')) ?? '{}') as { serverName?: string }).serverName;
      expect(movedTo).toMatch(/^n[123]$/);
      expect(movedTo).not.toBe(through);
    } finally {
      if (cut >= 0) cluster.heal(cut);
      client?.close();
      await app?.stop();
      await producer?.close();
      await cluster.stop();
    }
  }, 120_000);
});
