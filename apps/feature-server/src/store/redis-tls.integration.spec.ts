import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startTlsRedis, type TlsRedis } from '@pinrank/redis/testing';
import { ensureLocalPki, type LocalPki } from '@pinrank/service-kit';
import { startFeatureServer } from '../app';
import { startCatalogServer, type CatalogServer } from '../testing/catalog-server';
import { FeatureTestClient } from '../testing/feature-client';

// The feature-server on a Redis that speaks TLS only and wants a client certificate from the
// namespace's CA (tls-auth-clients): every connection of the store presents the server's own.
let pki: LocalPki;
let redis: TlsRedis;
let catalog: CatalogServer;

beforeAll(async () => {
  pki = ensureLocalPki({ dir: join(mkdtempSync(join(tmpdir(), 'fs-redis-tls-')), 'pki'), identities: [{ name: 'redis', ipAddresses: ['127.0.0.1'] }, { name: 'feature-server' }] });
  redis = await startTlsRedis({ ...pki.files('redis'), caFile: pki.caFile });
  catalog = await startCatalogServer(50);
});
afterAll(async () => {
  await catalog?.stop();
  await redis?.stop();
});

describe('the feature-server on Redis over mutual TLS', () => {
  it('ingests and reads with its own certificate, and fails at start-up without one', async () => {
    const backend = { kind: 'redis' as const, url: redis.url, keyPrefix: 'tls:', layout: 'records' as const };
    const app = await startFeatureServer({
      server: { address: '127.0.0.1:0', signals: [], logger: pino({ level: 'silent' }) },
      backend: { ...backend, security: { tls: { caFile: pki.caFile, ...pki.files('feature-server') } } },
      content: { address: catalog.address, deadlineMs: 2000 },
    });
    const client = new FeatureTestClient(`127.0.0.1:${app.port}`);
    try {
      const now = Date.now();
      const res = await client.ingest([[1, 2, 3].map((i) => ({ actionId: `tls-${i}`, userId: 'tls-user', itemId: `item-${i}`, actionType: 3, timestampMs: now - 10_000 + i, surface: 1 }))]);
      expect(res.accepted).toBe(3);
      expect((await client.sequence({ userId: 'tls-user', asOfMs: now })).length).toBe(3);
    } finally {
      client.close();
      await app.stop();
    }
    await expect(
      startFeatureServer({
        server: { address: '127.0.0.1:0', signals: [], logger: pino({ level: 'silent' }) },
        backend: { ...backend, security: { tls: { caFile: pki.caFile } } },
        content: { address: catalog.address, deadlineMs: 2000 },
      }),
    ).rejects.toThrow(/redis: cannot connect to rediss:\/\/127\.0\.0\.1:\d+ \(TLS server-verified, user from the URL or default\): .*certificate it refuses/);
  }, 60_000);
});
