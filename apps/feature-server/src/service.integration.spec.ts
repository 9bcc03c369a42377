import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import Redis from 'ioredis';
import pino from 'pino';
import { type ActionType, DataType, type RealtimeSequence, type Tensor, type UserAction } from '@pinrank/proto';
import { startFeatureServer, type FeatureServerApp, type FeatureServerAppOptions } from './app';
import { catalogVector, startCatalogServer, type CatalogServer } from './testing/catalog-server';
import { FeatureTestClient } from './testing/feature-client';

const REDIS_URL = 'redis://127.0.0.1:6379';
const TOKEN = 'test-admin-token';
const NOW = Date.now();
const redisPrefix = `fs-svc-test:${process.pid}:${NOW}:`;
let dir: string;
let catalog: CatalogServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fs-svc-'));
  catalog = await startCatalogServer(100);
});
afterAll(async () => {
  await catalog.stop();
  rmSync(dir, { recursive: true, force: true });
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const act = (userId: string, n: number, tsMs: number, actionType = 3, itemId = `item-${n}`): Partial<UserAction> => ({
  actionId: `${userId}-a${n}`,
  userId,
  itemId,
  actionType,
  timestampMs: tsMs,
  surface: 1,
  durationMs: 100,
});

/** The values of a Tensor message, from its raw little-endian bytes or its typed field. */
function values(t: Tensor | undefined, dtype: 'float32' | 'int64'): number[] {
  if (!t) return [];
  if (t.raw.length === 0) return dtype === 'int64' ? t.int64Values : t.floatValues;
  const bytes = Uint8Array.from(t.raw).buffer;
  return dtype === 'int64' ? Array.from(new BigInt64Array(bytes), Number) : Array.from(new Float32Array(bytes));
}

function rows(seq: RealtimeSequence): { types: number[]; ages: number[]; vectors: number[] } {
  return {
    types: values(seq.actionTypes, 'int64'),
    ages: values(seq.agesS, 'float32'),
    vectors: values(seq.itemVectors, 'float32'),
  };
}

describe.each([
  ['lmdb', (): FeatureServerAppOptions['backend'] => ({ kind: 'lmdb', path: join(dir, 'lmdb') })],
  ['redis', (): FeatureServerAppOptions['backend'] => ({ kind: 'redis', url: REDIS_URL, keyPrefix: redisPrefix })],
])('feature-server over gRPC (%s backend)', (_name, backend) => {
  let app: FeatureServerApp;
  let client: FeatureTestClient;

  beforeAll(async () => {
    app = await startFeatureServer({
      server: { address: '127.0.0.1:0', signals: [], admin: { tokens: [TOKEN] }, logger: pino({ level: 'silent' }) },
      backend: backend(),
      content: { address: catalog.address, deadlineMs: 2000 },
    });
    client = new FeatureTestClient(`127.0.0.1:${app.port}`);
  });
  afterAll(async () => {
    client.close();
    await app.stop();
  });

  it('counts accepted, duplicate and rejected records with reasons, and keeps streaming past bad ones', async () => {
    const res = await client.ingest([
      [act('u1', 1, NOW - 5000), act('u1', 2, NOW - 4000), { ...act('u1', 3, NOW - 3000), actionType: 0 }],
      [act('u1', 1, NOW - 5000), { ...act('u1', 4, NOW - 2000), timestampMs: -1 }, { ...act('u1', 5, 0), actionId: '' }],
      [{ ...act('u1', 6, NOW + 3_600_000) }, { ...act('u1', 7, NOW - 1000), actionType: 17 as ActionType }, act('u1', 8, NOW - 1000, 5, 'not-in-catalog')],
    ]);
    expect({ accepted: res.accepted, duplicates: res.duplicates, rejected: res.rejected, unknownItems: res.unknownItems }).toEqual({
      accepted: 3,
      duplicates: 1,
      rejected: 5,
      unknownItems: 1,
    });
    expect(res.rejections.map((r) => [r.index, r.actionId, r.reason.split(':')[0]])).toEqual([
      [2, 'u1-a3', 'action_type'],
      [4, 'u1-a4', 'timestamp_ms'],
      [5, '', 'action_id'],
      [6, 'u1-a6', 'timestamp_ms'],
      [7, 'u1-a7', 'action_type'],
    ]);
  });

  it('serves the sequence in the transact_encoder contract: newest first, relative ages, content vectors, padding', async () => {
    const seq = await client.sequence({ userId: 'u1', maxLen: 5, asOfMs: NOW, includeRecords: true });
    expect(seq.length).toBe(3);
    expect(seq.asOfMs).toBe(NOW);
    expect(seq.actionTypes).toMatchObject({ dtype: DataType.DATA_TYPE_INT64, shape: [1, 5] });
    expect(seq.itemVectors).toMatchObject({ dtype: DataType.DATA_TYPE_FLOAT32, shape: [1, 5, 32] });
    expect(seq.agesS).toMatchObject({ dtype: DataType.DATA_TYPE_FLOAT32, shape: [1, 5] });
    const { types, ages, vectors } = rows(seq);
    expect(types).toEqual([5, 3, 3, 0, 0]);
    expect(ages).toEqual([1, 4, 5, -1, -1]);
    expect(vectors.slice(0, 32)).toEqual(new Array(32).fill(0)); // unknown item: zeros, flagged
    expect(vectors.slice(32, 64)).toEqual(Array.from(catalogVector('item-2')));
    expect(vectors.slice(64, 96)).toEqual(Array.from(catalogVector('item-1')));
    expect(vectors.slice(96)).toEqual(new Array(64).fill(0));
    expect(seq.records.map((r) => [r.action?.actionId, r.itemKnown])).toEqual([
      ['u1-a8', false],
      ['u1-a2', true],
      ['u1-a1', true],
    ]);
  });

  it('excludes actions after as_of and defaults max_len to 100', async () => {
    const seq = await client.sequence({ userId: 'u1', asOfMs: NOW - 3500 });
    expect(seq.length).toBe(2);
    expect(seq.actionTypes?.shape).toEqual([1, 100]);
    expect(rows(seq).ages.slice(0, 3)).toEqual([0.5, 1.5, -1]);
    expect(seq.records).toEqual([]);
  });

  it('makes an acknowledged action visible to the very next read, even when it arrives out of order', async () => {
    for (let i = 0; i < 5; i++) {
      const ts = NOW - 100_000 + (i % 2 === 0 ? i : -i) * 1000;
      const res = await client.ingest([[act('fresh', i, ts)]]);
      expect(res.accepted).toBe(1);
      const seq = await client.sequence({ userId: 'fresh', asOfMs: NOW, includeRecords: true });
      expect(seq.length).toBe(i + 1);
      const stamps = seq.records.map((r) => r.action?.timestampMs ?? 0);
      expect(stamps).toEqual([...stamps].sort((a, b) => b - a));
    }
  });

  it('gives an unknown user an empty, valid, fully padded sequence', async () => {
    const seq = await client.sequence({ userId: 'nobody', maxLen: 3, asOfMs: NOW });
    expect(seq.length).toBe(0);
    expect(rows(seq)).toEqual({ types: [0, 0, 0], ages: [-1, -1, -1], vectors: new Array(96).fill(0) });
  });

  it('serves many users in request order with duplicates', async () => {
    const res = await client.sequences({ userIds: ['u1', 'nobody', 'u1'], maxLen: 4, asOfMs: NOW });
    expect(res.sequences.map((s) => [s.userId, s.length])).toEqual([
      ['u1', 3],
      ['nobody', 0],
      ['u1', 3],
    ]);
  });

  it('answers INVALID_ARGUMENT for bad reads', async () => {
    await expect(client.sequence({ userId: '' })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(client.sequence({ userId: 'u1', maxLen: 5000 })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/max_len/) });
    await expect(client.sequences({ userIds: [] })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('refuses a batch read whose response would be huge before reading anything (one user named 1000 times, max_len 1000)', async () => {
    const err = await client.sequences({ userIds: new Array<string>(1000).fill('u1'), maxLen: 1000, asOfMs: NOW }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'user_ids × max_len = 1000 × 1000 = 1000000 sequence rows; at most 50000 per call (ask for fewer users, or a shorter max_len)',
    });
    // Fewer of them at the default length are within the bound.
    expect((await client.sequences({ userIds: new Array<string>(200).fill('u1'), asOfMs: NOW })).sequences).toHaveLength(200);
  });

  it('refuses user ids longer than 256 bytes as INVALID_ARGUMENT (stores limit key sizes), quoting none of it', async () => {
    const long = 'u'.repeat(1980);
    for (const call of [
      client.sequence({ userId: long }),
      client.sequences({ userIds: ['u1', long] }),
      client.deleteUser({ userId: long }, TOKEN),
    ]) {
      const err = (await call.catch((e: unknown) => e)) as { code: number; details: string };
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/user_id(s\[1\])?: 1980 bytes; at most 256 bytes/);
    }
  });

  it('rejects the records of an oversized message beyond the per-message limit and still stores the rest', async () => {
    const many = Array.from({ length: 10_002 }, (_, i) => act('big', i, NOW - 1_000_000 + i));
    const res = await client.ingest([many, [act('big', 99_999, NOW - 10)]]);
    expect(res.rejected).toBe(2);
    expect(res.rejections[0]?.reason).toMatch(/at most 10000 per message/);
    expect(res.accepted + res.duplicates).toBe(10_001);
    expect((await client.sequence({ userId: 'big', asOfMs: NOW })).length).toBe(100);
  });

  it('deletes a user only with an admin token', async () => {
    await expect(client.deleteUser({ userId: 'u1' })).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect((await client.deleteUser({ userId: 'u1' }, TOKEN)).deletedActions).toBe(3);
    expect((await client.sequence({ userId: 'u1', asOfMs: NOW })).length).toBe(0);
  });
});

describe('feature-server when embedding-store is unreachable', () => {
  it('fails the stream with UNAVAILABLE and stores nothing from the failed message', async () => {
    const app = await startFeatureServer({
      server: { address: '127.0.0.1:0', signals: [], logger: pino({ level: 'silent' }) },
      backend: { kind: 'lmdb', path: join(dir, 'down') },
      content: { address: '127.0.0.1:1', deadlineMs: 300 },
    });
    const client = new FeatureTestClient(`127.0.0.1:${app.port}`);
    try {
      await expect(client.ingest([[act('d', 1, NOW - 1000)]])).rejects.toMatchObject({ code: status.UNAVAILABLE });
      expect((await client.sequence({ userId: 'd', asOfMs: NOW })).length).toBe(0);
    } finally {
      client.close();
      await app.stop();
    }
  });
});
