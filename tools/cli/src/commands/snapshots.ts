import { resolve } from 'node:path';
import { type Command } from 'commander';
import {
  ActivateSnapshotRequest,
  EmbeddingStoreClient,
  ListSnapshotsRequest,
  LoadCatalogRequest,
  LoadSnapshotRequest,
  snapshotStateToJSON,
} from '@pinrank/proto';
import { type CliIo } from '../io';
import { openClient, unary } from '../remote/call';
import { type RemoteFlags } from '../remote/endpoints';
import { remoteOptions, resolveRemote } from '../remote/remote-options';
import { table, toJson } from '../remote/table';

interface LoadFlags extends RemoteFlags {
  activate?: boolean;
}

/** `pinrank snapshots list|load|activate` and `pinrank catalog load`: manage embedding-store data. */
export function registerSnapshots(program: Command, io: CliIo): void {
  const snapshots = program.command('snapshots').description('list, load and activate PinnerFormer snapshot versions in embedding-store');
  const withClient = async <T>(flags: RemoteFlags, fn: (c: EmbeddingStoreClient, r: ReturnType<typeof resolveRemote>) => Promise<T>): Promise<T> => {
    const r = resolveRemote(flags, 'embedding-store');
    const client = openClient(EmbeddingStoreClient, r.address, r.tls);
    try {
      return await fn(client, r);
    } finally {
      client.close();
    }
  };

  remoteOptions(snapshots.command('list').description('retained versions with state and load progress'), 'embedding-store').action(
    (flags: RemoteFlags) =>
      withClient(flags, async (c, r) => {
        const res = await unary('embedding-store', r.address, c.listSnapshots.bind(c), ListSnapshotsRequest.fromPartial({}), r);
        if (flags.json) return io.out(toJson(res));
        io.out(
          table(
            ['version', 'state', 'progress', 'users', 'items', 'dim', 'as of', 'producer', 'base', 'error'],
            res.snapshots.map((s) => [
              s.version,
              snapshotStateToJSON(s.state).replace('SNAPSHOT_STATE_', ''),
              `${Math.round(s.progress * 100)}%`,
              s.userCount,
              s.itemCount,
              s.dimension,
              s.asOfDate,
              `${s.producerModel}@${s.producerModelVersion}`,
              s.baseVersion || '-',
              s.error,
            ]),
          ),
        );
      }),
  );

  remoteOptions(
    snapshots
      .command('load <userFile> <itemFile>')
      .description('load a snapshot version (user + item-tower files, paths on the server) in the background; admin')
      .option('--activate', 'activate as soon as it has loaded and validated'),
    'embedding-store',
  ).action((userFile: string, itemFile: string, flags: LoadFlags) =>
    withClient(flags, async (c, r) => {
      const req = LoadSnapshotRequest.fromPartial({ userFile: resolve(userFile), itemFile: resolve(itemFile), activate: flags.activate ?? false });
      const res = await unary('embedding-store', r.address, c.loadSnapshot.bind(c), req, r);
      io.out(flags.json ? toJson(res) : `loading ${res.version} (${snapshotStateToJSON(res.state)}); follow with \`pinrank snapshots list\`\n`);
    }),
  );

  remoteOptions(snapshots.command('activate <version>').description('switch the active version atomically (also rollback); admin'), 'embedding-store').action(
    (version: string, flags: RemoteFlags) =>
      withClient(flags, async (c, r) => {
        const res = await unary('embedding-store', r.address, c.activateSnapshot.bind(c), ActivateSnapshotRequest.fromPartial({ version }), r);
        io.out(flags.json ? toJson(res) : `active: ${res.activeVersion} (was ${res.previousVersion || 'none'})\n`);
      }),
  );

  remoteOptions(
    program.command('catalog').description("manage embedding-store's item catalog (content vectors)").command('load <file>').description('add or replace items from an item catalog file (path on the server); admin'),
    'embedding-store',
  ).action((file: string, flags: RemoteFlags) =>
    withClient(flags, async (c, r) => {
      const res = await unary('embedding-store', r.address, c.loadCatalog.bind(c), LoadCatalogRequest.fromPartial({ path: resolve(file) }), r);
      io.out(flags.json ? toJson(res) : `catalog: ${res.itemsAdded} items added, ${res.itemsReplaced} replaced\n`);
    }),
  );
}
