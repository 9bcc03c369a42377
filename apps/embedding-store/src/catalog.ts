import { ContractError, readVectorFile, readVectorFileHeader, type VectorFileHeader } from '@pinrank/contracts';
import { PinrankError } from '@pinrank/service-kit';
import { contentKey } from './store/keys';
import { type VectorStore } from './store/vector-store';

/** Result of a catalog load. */
export interface CatalogLoadResult {
  /** Items new to the store. */
  added: number;
  /** Items whose content vector was replaced. */
  replaced: number;
}

function asPinrankError(err: unknown, path: string): PinrankError {
  if (err instanceof PinrankError) return err;
  if (err instanceof ContractError) {
    const missing = (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    return new PinrankError(missing ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `catalog ${path}: ${err.message}; nothing was applied`, { cause: err });
  }
  return new PinrankError('INVALID_ARGUMENT', `catalog ${path}: ${PinrankError.from(err).message}; nothing was applied`, { cause: err });
}

/**
 * Adds or replaces items' content vectors from an item catalog file. The whole
 * file is validated first (header, dimension, finite values, count, checksum,
 * duplicate ids) and only then applied, so a corrupt catalog changes nothing.
 * Thrown by: a missing (NOT_FOUND) or invalid (INVALID_ARGUMENT) file.
 */
export async function loadCatalog(store: VectorStore, path: string, contentDimension: number, batchSize = 2000): Promise<CatalogLoadResult> {
  if (!path) throw new PinrankError('INVALID_ARGUMENT', 'path: the catalog file path is required');
  let header: VectorFileHeader;
  try {
    header = await readVectorFileHeader(path);
    if (header.kind !== 'item_content') throw new Error(`kind is "${header.kind}", expected "item_content"`);
    if (header.dimension !== contentDimension) throw new Error(`dimension is ${header.dimension}; content vectors here are ${contentDimension}-d`);
    const seen = new Set<string>();
    let index = 0;
    for await (const record of readVectorFile(path)) {
      if (seen.has(record.id)) throw new Error(`record ${index}: id "${record.id}" appears twice`);
      seen.add(record.id);
      index++;
    }
  } catch (err) {
    throw asPinrankError(err, path);
  }

  let added = 0;
  let replaced = 0;
  let batch: Array<readonly [string, Float32Array]> = [];
  const flush = async (): Promise<void> => {
    const found = await store.readRows(batch.map(([k]) => k), contentDimension, new Float32Array(batch.length * contentDimension));
    for (const f of found) if (f) replaced++; else added++;
    await store.writeVectors(batch);
    batch = [];
  };
  for await (const record of readVectorFile(path)) {
    batch.push([contentKey(record.id), record.vector]);
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  return { added, replaced };
}
