import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTlsRedis, type TlsRedis } from '@pinrank/redis/testing';
import { ensureLocalPki, type LocalPki } from '@pinrank/service-kit';
import { RedisVectorStore } from './redis-store';

// The embedding-store's Redis backend on a Redis that speaks TLS only and wants a client
// certificate from the namespace's CA: the primary and the read replica connections present
// the store's own certificate.
let pki: LocalPki;
let redis: TlsRedis;

beforeAll(async () => {
  pki = ensureLocalPki({ dir: join(mkdtempSync(join(tmpdir(), 'es-redis-tls-')), 'pki'), identities: [{ name: 'redis', ipAddresses: ['127.0.0.1'] }, { name: 'embedding-store' }] });
  redis = await startTlsRedis({ ...pki.files('redis'), caFile: pki.caFile });
});
afterAll(async () => {
  await redis?.stop();
});

describe('the Redis vector store over mutual TLS', () => {
  it('writes through the primary and reads through a replica URL, each with the store certificate', async () => {
    // The one Redis stands in for its own replica.
    const store = new RedisVectorStore({ url: redis.url, readUrls: [redis.url], keyPrefix: 'es-tls:', security: { tls: { caFile: pki.caFile, ...pki.files('embedding-store') } } });
    try {
      await store.checkConnection();
      await store.writeVectors([['k', Float32Array.from([1, 2])]]);
      const out = new Float32Array(2);
      expect(await store.readRows(['k', 'missing'], 2, out)).toEqual([true, false]);
      expect([...out]).toEqual([1, 2]);
    } finally {
      await store.close();
    }
  });

  it('says why it cannot connect without a client certificate', async () => {
    const store = new RedisVectorStore({ url: redis.url, keyPrefix: 'es-tls:', security: { tls: { caFile: pki.caFile } } });
    try {
      await expect(store.checkConnection()).rejects.toThrow(/redis: cannot connect to rediss:\/\/127\.0\.0\.1:\d+ \(TLS server-verified, user from the URL or default\): .*certificate/);
    } finally {
      await store.close();
    }
  });

  it('refuses a plaintext replica URL when TLS is on, before connecting', () => {
    expect(() => new RedisVectorStore({ url: redis.url, readUrls: [redis.url.replace('rediss://', 'redis://')], security: { tls: { caFile: pki.caFile } } })).toThrow(/is not a rediss:\/\/ URL, and TLS is on/);
  });
});
