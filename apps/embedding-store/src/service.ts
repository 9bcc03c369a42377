import {
  ActivateSnapshotResponse,
  DeleteUserEmbeddingsResponse,
  EmbeddingStoreService,
  EmbeddingStoreServiceRaw,
  ListSnapshotsResponse,
  LoadCatalogResponse,
  LoadSnapshotResponse,
  SnapshotInfo,
  SnapshotState,
  type ActivateSnapshotRequest,
  type DeleteUserEmbeddingsRequest,
  type EmbeddingsLookupResult,
  type GetEmbeddingsRequest,
  type LoadCatalogRequest,
  type LoadSnapshotRequest,
  type RetrieveRequest,
} from '@pinrank/proto';
import { PinrankError, checkId, defineService, lookupStream, type ServiceRegistration } from '@pinrank/service-kit';
import { loadCatalog } from './catalog';
import { checkSnapshotVersion, type Lookups } from './lookups';
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

/** Longest file path an admin RPC accepts, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 1024;

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
  // GetEmbeddings and StreamEmbeddings answers are written by the single-copy serializers (item vectors copied once).
  return defineService(
    EmbeddingStoreServiceRaw,
    {
      getEmbeddings: async (req: GetEmbeddingsRequest) => lookups.getEmbeddings(req),
      streamEmbeddings: lookupStream({
        unary: EmbeddingStoreService.getEmbeddings,
        handle: async (req: GetEmbeddingsRequest) => lookups.getEmbeddings(req),
        result: (requestId, status, response): EmbeddingsLookupResult => ({ requestId, status, response }),
      }),
      retrieve: async (req: RetrieveRequest) => lookups.retrieve(req),
      listSnapshots: async () => {
        const { records, active } = snapshots.list();
        return ListSnapshotsResponse.fromPartial({
          snapshots: records.map((r) => snapshotInfo(r, active)),
          activeVersion: active ?? '',
        });
      },
      loadSnapshot: async (req: LoadSnapshotRequest) => {
        checkId(req.userFile, 'user_file', { maxBytes: MAX_PATH_BYTES, required: false });
        checkId(req.itemFile, 'item_file', { maxBytes: MAX_PATH_BYTES, required: false });
        const record = await snapshots.startLoad(req.userFile, req.itemFile, req.activate);
        return LoadSnapshotResponse.fromPartial({ version: record.version, state: stateOf(record, null) });
      },
      activateSnapshot: async (req: ActivateSnapshotRequest) => {
        if (!req.version) throw new PinrankError('INVALID_ARGUMENT', 'version: name the retained version to activate (see ListSnapshots)');
        checkSnapshotVersion(req.version, 'version');
        const { active, previous } = await snapshots.activate(req.version);
        return ActivateSnapshotResponse.fromPartial({ activeVersion: active, previousVersion: previous ?? '' });
      },
      loadCatalog: async (req: LoadCatalogRequest) => {
        checkId(req.path, 'path', { maxBytes: MAX_PATH_BYTES, required: false });
        const { added, replaced } = await loadCatalog(deps.store, req.path, deps.contentDimension);
        return LoadCatalogResponse.fromPartial({ itemsAdded: added, itemsReplaced: replaced });
      },
      deleteUser: async (req: DeleteUserEmbeddingsRequest) => {
        checkId(req.userId, 'user_id');
        const versionsAffected = await snapshots.deleteUser(req.userId);
        return DeleteUserEmbeddingsResponse.fromPartial({ versionsAffected });
      },
    },
    { adminMethods: [...ADMIN_METHODS] },
  );
}
