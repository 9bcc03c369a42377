/** FNV-1a over UTF-16 code units plus a finaliser: stable across processes and releases, so a user keeps an arm. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // FNV alone mixes the last characters poorly into the high bits; murmur3's finaliser spreads them.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** A user's position in [0, 1) under `salt`; different salts give independent positions. */
export function userPosition(salt: string, userId: string): number {
  return fnv1a(`${salt}:${userId}`) / 2 ** 32;
}

/** The index of the first cumulative share that exceeds `u`, or -1 when `u` is past them all. */
export function pickByShare(u: number, shares: readonly number[]): number {
  let acc = 0;
  for (let i = 0; i < shares.length; i++) {
    acc += shares[i] as number;
    if (u < acc) return i;
  }
  return -1;
}
