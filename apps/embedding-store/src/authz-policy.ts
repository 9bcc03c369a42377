import { SERVICE_IDENTITIES as ID } from '@pinrank/contracts';
import { EmbeddingStoreService } from '@pinrank/proto';
import { ADMIN_PRINCIPAL, allow, servicePolicy } from '@pinrank/service-kit';

/**
 * Who may call embedding-store (docs/security.md): the router reads vectors
 * and retrieves, feature-server reads content vectors at ingest, the batch
 * embedding job loads and activates its snapshots, operators do everything.
 * A new RPC does not compile until it has a rule here.
 */
export const EMBEDDING_STORE_POLICY = servicePolicy(EmbeddingStoreService, {
  getEmbeddings: allow(ID.router, ID.featureServer, ADMIN_PRINCIPAL),
  streamEmbeddings: allow(ID.router, ADMIN_PRINCIPAL),
  retrieve: allow(ID.router, ADMIN_PRINCIPAL),
  listSnapshots: allow(ID.router, ID.embedJob, ADMIN_PRINCIPAL),
  loadSnapshot: allow(ID.embedJob, ADMIN_PRINCIPAL),
  activateSnapshot: allow(ID.embedJob, ADMIN_PRINCIPAL),
  loadCatalog: allow(ADMIN_PRINCIPAL),
  deleteUser: allow(ADMIN_PRINCIPAL),
});
