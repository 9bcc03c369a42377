import {
  ActivateSnapshotResponse,
  DeleteUserEmbeddingsResponse,
  EmbeddingStoreService,
  ListSnapshotsResponse,
  LoadCatalogResponse,
  LoadSnapshotResponse,
  SnapshotInfo,
  SnapshotState,
  type ActivateSnapshotRequest,
  type DeleteUserEmbeddingsRequest,
  type GetEmbeddingsRequest,
  type LoadCatalogRequest,
  type LoadSnapshotRequest,
  type RetrieveRequest,
} from '@pinrank/proto';
import { PinrankError, defineService, type ServiceRegistration } from '@pinrank/service-kit';
import { loadCatalog } from './catalog';
import { type Lookups } from './lookups';
import { type SnapshotManager } from './snapshots/snapshot-manager';
import { type SnapshotRecord } from './snapshots/snapshot-record';
import { type VectorStore } from './store/vector-store';

/** What the EmbeddingStore handlers are built from. */
export interface EmbeddingStoreDeps {
  /** Vector storage. */
  store: VectorStore;
  /** Snapshot versions. */
  snapshots: SnapshotManager;
  /** GetEmbeddings and Retrieve. */
  lookups: Lookups;
  /** Content vector dimension (catalog files must match). */
  contentDimension: number;
}

/** Admin-only methods (they change what is served). */
export const ADMIN_METHODS = ['loadSnapshot', 'activateSnapshot', 'loadCatalog', 'deleteUser'] as const;

function stateOf(record: SnapshotRecord, active: string | null): SnapshotState {
  if (record.status === 'loading') return SnapshotState.SNAPSHOT_STATE_LOADING;
  if (record.status === 'failed') return SnapshotState.SNAPSHOT_STATE_FAILED;
  return record.version === active ? SnapshotState.SNAPSHOT_STATE_ACTIVE : SnapshotState.SNAPSHOT_STATE_READY;
}

/** The snapshot record as the API shows it. */
export function snapshotInfo(record: SnapshotRecord, active: string | null): SnapshotInfo {
  return SnapshotInfo.fromPartial({
    version: record.version,
    state: stateOf(record, active),
    progress: record.progress,
    error: record.error,
    producerModel: record.producerModel,
    producerModelVersion: record.producerModelVersion,
    asOfDate: record.asOfDate,
    userCount: record.userCount,
    itemCount: record.itemCount,
    dimension: record.dimension,
    baseVersion: record.baseVersion ?? '',
    loadedAtMs: record.loadedAtMs,
  });
}

/** Binds the EmbeddingStore gRPC service to its handlers. */
export function embeddingStoreService(deps: EmbeddingStoreDeps): ServiceRegistration {
  const { snapshots, lookups } = deps;
  // Request types are spelled out: they document each handler and keep it typed whatever the kit infers.
  return defineService(
    EmbeddingStoreService,
    {
      getEmbeddings: async (req: GetEmbeddingsRequest) => lookups.getEmbeddings(req),
      retrieve: async (req: RetrieveRequest) => lookups.retrieve(req),
      listSnapshots: async () => {
        const { records, active } = snapshots.list();
        return ListSnapshotsResponse.fromPartial({
          snapshots: records.map((r) => snapshotInfo(r, active)),
          activeVersion: active ?? '',
        });
      },
      loadSnapshot: async (req: LoadSnapshotRequest) => {
        const record = await snapshots.startLoad(req.userFile, req.itemFile, req.activate);
        return LoadSnapshotResponse.fromPartial({ version: record.version, state: stateOf(record, null) });
      },
      activateSnapshot: async (req: ActivateSnapshotRequest) => {
        if (!req.version) throw new PinrankError('INVALID_ARGUMENT', 'version: name the retained version to activate (see ListSnapshots)');
        const { active, previous } = await snapshots.activate(req.version);
        return ActivateSnapshotResponse.fromPartial({ activeVersion: active, previousVersion: previous ?? '' });
      },
      loadCatalog: async (req: LoadCatalogRequest) => {
        const { added, replaced } = await loadCatalog(deps.store, req.path, deps.contentDimension);
        return LoadCatalogResponse.fromPartial({ itemsAdded: added, itemsReplaced: replaced });
      },
      deleteUser: async (req: DeleteUserEmbeddingsRequest) => {
        if (!req.userId) throw new PinrankError('INVALID_ARGUMENT', 'user_id: required');
        const versionsAffected = await snapshots.deleteUser(req.userId);
        return DeleteUserEmbeddingsResponse.fromPartial({ versionsAffected });
      },
    },
    { adminMethods: [...ADMIN_METHODS] },
  );
}
