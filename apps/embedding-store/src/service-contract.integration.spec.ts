import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEmbeddingStoreContract } from '@pinrank/contracts/testing';
import { startServer } from '@pinrank/service-kit';
import pino from 'pino';
import { createEmbeddingStore } from './app';
import { EmbeddingStoreRpc } from './client';
import { TEST_BACKENDS } from './testing/backends';
import { writeCatalog, writeSnapshot } from './testing/fixtures';

const TOKEN = 'contract-admin-token';

// The real service (LMDB backend) through the contract its clients test their fakes against.
describeEmbeddingStoreContract('embedding-store service', async (fixture) => {
  const dir = await mkdtemp(join(tmpdir(), 'es-contract-'));
  const backend = await (TEST_BACKENDS.find((b) => b.name === 'lmdb') ?? TEST_BACKENDS[0])!.make();
  const app = await createEmbeddingStore({ store: backend.store, itemTower: async () => undefined, snapshots: { retain: 2, batchSize: 100 } });
  const server = await startServer({
    name: 'embedding-store-contract',
    address: '127.0.0.1:0',
    services: [app.registration],
    admin: { tokens: [TOKEN] },
    signals: [],
    logger: pino({ level: 'silent' }),
  });
  const admin = new EmbeddingStoreRpc(`127.0.0.1:${server.port}`, TOKEN);
  try {
    await admin.loadCatalog({ path: await writeCatalog(dir, 'contract', fixture.items.map((i) => [i.id, i.content])) });
    const files = await writeSnapshot(dir, {
      version: fixture.snapshotVersion,
      users: fixture.users.map((u) => [u.id, u.vector]),
      items: fixture.items.map((i) => [i.id, i.tower]),
      producerModelVersion: fixture.producerModelVersion,
    });
    await admin.loadSnapshot({ userFile: files.userFile, itemFile: files.itemFile, activate: true });
    await app.snapshots.whenLoaded(fixture.snapshotVersion);
  } finally {
    admin.close();
  }
  return {
    address: `127.0.0.1:${server.port}`,
    close: async () => {
      await server.shutdown();
      await app.snapshots.close();
      await backend.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
