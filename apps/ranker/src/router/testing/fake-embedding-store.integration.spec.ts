import { describeEmbeddingStoreContract } from '@pinrank/contracts/testing';
import { startFakeEmbeddingStore } from './fake-upstreams';

// The fake store the router tests run against passes the contract suite the
// real embedding-store passes (apps/embedding-store, service-contract.integration.spec.ts).
describeEmbeddingStoreContract('fake embedding-store of the router tests', async (fixture) => {
  const store = await startFakeEmbeddingStore({
    content: new Map(fixture.items.map((i) => [i.id, i.content])),
    tower: new Map(fixture.items.map((i) => [i.id, i.tower])),
    users: new Map(fixture.users.map((u) => [u.id, u.vector])),
    snapshotVersion: fixture.snapshotVersion,
    producerModelVersion: fixture.producerModelVersion,
  });
  return { address: store.address, close: () => store.server.shutdown() };
});
