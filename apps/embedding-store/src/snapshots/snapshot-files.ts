import { ContractError, readVectorFileHeader, type VectorFileHeader } from '@pinrank/contracts';
import { PinrankError } from '@pinrank/service-kit';

/** The validated headers of a snapshot's two files. */
export interface SnapshotFiles {
  /** Path of the user-vector file. */
  userFile: string;
  /** Path of the item-tower file. */
  itemFile: string;
  /** Header of the user file. */
  user: VectorFileHeader;
  /** Header of the item-tower file. */
  item: VectorFileHeader;
}

async function header(path: string, role: string): Promise<VectorFileHeader> {
  if (!path) throw new PinrankError('INVALID_ARGUMENT', `${role}: a file path is required`);
  try {
    return await readVectorFileHeader(path);
  } catch (err) {
    if (err instanceof ContractError) {
      const missing = (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
      throw new PinrankError(missing ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `${role}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Reads both headers and checks they describe one snapshot version of the
 * expected dimension (`0` accepts any). Thrown by: a missing file (NOT_FOUND),
 * a bad header or mismatched pair (INVALID_ARGUMENT), as PinrankError.
 */
export async function readSnapshotHeaders(userFile: string, itemFile: string, expectedDimension: number): Promise<SnapshotFiles> {
  const [user, item] = await Promise.all([header(userFile, 'user_file'), header(itemFile, 'item_file')]);
  const bad = (message: string): never => {
    throw new PinrankError('INVALID_ARGUMENT', message);
  };
  if (user.kind !== 'user') bad(`user_file: kind is "${user.kind}", expected "user" (${userFile})`);
  if (item.kind !== 'item_tower') bad(`item_file: kind is "${item.kind}", expected "item_tower" (${itemFile})`);
  for (const field of ['version', 'dimension', 'producerModel', 'producerModelVersion', 'asOfDate', 'baseVersion'] as const) {
    if (user[field] !== item[field]) {
      bad(`user_file and item_file disagree on ${field}: ${JSON.stringify(user[field])} vs ${JSON.stringify(item[field])}; both files must come from one snapshot`);
    }
  }
  if (expectedDimension > 0 && user.dimension !== expectedDimension) {
    bad(`snapshot ${user.version} has dimension ${user.dimension}; this store serves dimension ${expectedDimension}`);
  }
  return { userFile, itemFile, user, item };
}
