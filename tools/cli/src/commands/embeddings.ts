import { InvalidArgumentError, type Command } from 'commander';
import { EmbeddingStoreClient, GetEmbeddingsRequest, VectorKind } from '@pinrank/proto';
import { type CliIo } from '../io';
import { openClient, unary } from '../remote/call';
import { type RemoteFlags } from '../remote/endpoints';
import { remoteOptions, resolveRemote } from '../remote/remote-options';
import { table, toJson } from '../remote/table';

interface EmbeddingsFlags extends RemoteFlags {
  user?: string;
  items?: string;
  kind: string;
  version?: string;
}

function preview(values: ArrayLike<number>): string {
  const head = Array.from(values).slice(0, 4).map((v) => v.toFixed(3));
  return `[${head.join(', ')}${values.length > 4 ? `, … (${values.length})` : ''}]`;
}

/** Decodes a FLOAT32 tensor given either as typed values or as raw little-endian bytes. */
function floatValues(t: { floatValues: number[]; raw: Buffer } | undefined): Float32Array {
  if (!t) return new Float32Array(0);
  if (t.raw.length) return new Float32Array(t.raw.buffer.slice(t.raw.byteOffset, t.raw.byteOffset + t.raw.length));
  return Float32Array.from(t.floatValues);
}

/** `pinrank embeddings`: look up a user's and items' vectors from one snapshot version. */
export function registerEmbeddings(program: Command, io: CliIo): void {
  remoteOptions(
    program
      .command('embeddings')
      .description('look up vectors in embedding-store (GetEmbeddings): a user vector and item vectors of one kind')
      .option('--user <id>', 'user id')
      .option('--items <ids>', 'comma-separated item ids')
      .option('--kind <kind>', 'item vector kind: content or tower', 'tower')
      .option('--version <v>', 'pin a snapshot version (default: active)'),
    'embedding-store',
  ).action(async (flags: EmbeddingsFlags) => {
    if (flags.kind !== 'content' && flags.kind !== 'tower') throw new InvalidArgumentError(`--kind must be content or tower, got "${flags.kind}"`);
    const r = resolveRemote(flags, 'embedding-store');
    const client = openClient(EmbeddingStoreClient, r.address, r.tls);
    try {
      const req = GetEmbeddingsRequest.fromPartial({
        userId: flags.user ?? '',
        itemIds: (flags.items ?? '').split(',').map((s) => s.trim()).filter(Boolean),
        kind: flags.kind === 'content' ? VectorKind.VECTOR_KIND_CONTENT : VectorKind.VECTOR_KIND_TOWER,
        snapshotVersion: flags.version ?? '',
      });
      const res = await unary('embedding-store', r.address, client.getEmbeddings.bind(client), req, r);
      if (flags.json) {
        io.out(toJson(res));
        return;
      }
      const values = floatValues(res.itemVectors);
      const dim = res.itemIds.length ? values.length / res.itemIds.length : 0;
      const rows: (string | number)[][] = [];
      if (flags.user) rows.push(['user', flags.user, res.userFound ? preview(res.userVector) : 'NOT FOUND']);
      res.itemIds.forEach((id, i) => {
        const note = res.computedItemIds.includes(id) ? ' (computed on the fly)' : '';
        rows.push([flags.kind, id, preview(values.subarray(i * dim, (i + 1) * dim)) + note]);
      });
      for (const id of res.unknownItemIds) rows.push([flags.kind, id, 'UNKNOWN']);
      io.out(table(['kind', 'id', 'vector'], rows));
      io.out(`snapshot ${res.snapshotVersion || '-'} (produced by pinnerformer ${res.producerModelVersion || '-'})\n`);
    } finally {
      client.close();
    }
  });
}
