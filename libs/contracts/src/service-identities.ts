/**
 * The principals of pinrank's own workloads: the names authorization policies
 * list, the service accounts of the Kubernetes manifests (SPIFFE IDs
 * `spiffe://pinrank.local/ns/pinrank/sa/<name>`) and the certificates of the
 * local stack. One list, so a policy, a manifest and a local certificate
 * cannot disagree on a name.
 */
export const SERVICE_IDENTITIES = {
  /** The ranker router: calls feature-server, embedding-store and the workers. */
  router: 'ranker-router',
  /** feature-server: calls embedding-store for content vectors at ingest. */
  featureServer: 'feature-server',
  embeddingStore: 'embedding-store',
  gpuWorker: 'ranker-gpu',
  cpuWorker: 'ranker-cpu',
  /** The batch PinnerFormer job: loads and activates the snapshots it wrote. */
  embedJob: 'pinnerformer-embed',
  /** Whatever writes user actions into feature-server (event pipelines, the local replay). */
  producer: 'action-producer',
  /** The operators' certificate; servers map it to the admin principal through PINRANK_ADMIN_IDENTITIES. */
  operator: 'pinrank-operator',
} as const;

/** One of {@link SERVICE_IDENTITIES}. */
export type ServiceIdentity = (typeof SERVICE_IDENTITIES)[keyof typeof SERVICE_IDENTITIES];
