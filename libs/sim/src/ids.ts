/** String ids of the simulated world: users `u<n>`, items `i<n>`, actions `a<seed>-<n>`. */

/** The id of user number `index`. */
export function userId(index: number): string {
  return `u${index}`;
}

/** The id of item number `index`. */
export function itemId(index: number): string {
  return `i${index}`;
}

/** The prefix of the action ids in the log of the world with this seed. */
export function actionIdPrefix(seed: number): string {
  return `a${seed}-`;
}

/** The id of the `index`-th record of a world's action log. */
export function actionId(seed: number, index: number): string {
  return `${actionIdPrefix(seed)}${index}`;
}

function parseIndex(id: string, prefix: string, limit: number): number {
  if (id.length < 2 || id[0] !== prefix) return -1;
  const digits = id.slice(1);
  if (!/^(0|[1-9][0-9]*)$/.test(digits)) return -1;
  const n = Number(digits);
  return n < limit ? n : -1;
}

/** The index of a user id in a world of `users` users, or -1 when it is not one of them. */
export function parseUserId(id: string, users: number): number {
  return parseIndex(id, 'u', users);
}

/** The index of an item id in a world of `items` items, or -1 when it is not one of them. */
export function parseItemId(id: string, items: number): number {
  return parseIndex(id, 'i', items);
}
