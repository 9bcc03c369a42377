/** Key of a user vector in a snapshot version. */
export function userKey(version: string, userId: string): string {
  return `v:${version}:u:${userId}`;
}

/** Key of an item-tower vector in a snapshot version. */
export function towerKey(version: string, itemId: string): string {
  return `v:${version}:t:${itemId}`;
}

/** Prefix of every content vector's key. */
export const CONTENT_PREFIX = 'c:';

/** Key of an item's content vector (catalog, not versioned). */
export function contentKey(itemId: string): string {
  return `${CONTENT_PREFIX}${itemId}`;
}

/** Prefix of every key of a snapshot version. */
export function versionPrefix(version: string): string {
  return `v:${version}:`;
}

/** Prefix of a version's user vectors. */
export function userPrefix(version: string): string {
  return `v:${version}:u:`;
}

/** Prefix of a version's item-tower vectors. */
export function towerPrefix(version: string): string {
  return `v:${version}:t:`;
}
