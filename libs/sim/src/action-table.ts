/**
 * Columns of generated actions, grown while simulating and sorted by time
 * before they are written (a stable radix sort: equal timestamps keep
 * generation order, so the order is deterministic).
 */
export class ActionTable {
  length = 0;
  timestampMs: Float64Array;
  userIndex: Uint32Array;
  itemIndex: Uint32Array;
  actionType: Uint8Array;
  surface: Uint8Array;
  durationMs: Uint32Array;

  /** An empty table with room for `capacity` rows before it grows. */
  constructor(capacity = 1 << 16) {
    this.timestampMs = new Float64Array(capacity);
    this.userIndex = new Uint32Array(capacity);
    this.itemIndex = new Uint32Array(capacity);
    this.actionType = new Uint8Array(capacity);
    this.surface = new Uint8Array(capacity);
    this.durationMs = new Uint32Array(capacity);
  }

  /** Appends one row. */
  push(timestampMs: number, user: number, item: number, actionType: number, surface: number, durationMs: number): void {
    if (this.length === this.timestampMs.length) this.grow();
    const k = this.length++;
    this.timestampMs[k] = timestampMs;
    this.userIndex[k] = user;
    this.itemIndex[k] = item;
    this.actionType[k] = actionType;
    this.surface[k] = surface;
    this.durationMs[k] = durationMs;
  }

  /** Row order by timestamp (stable), as a permutation of 0..length-1. `originMs` must be <= every timestamp. */
  sortedOrder(originMs: number): Uint32Array {
    const n = this.length;
    let order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    let maxKey = 0;
    for (let i = 0; i < n; i++) maxKey = Math.max(maxKey, (this.timestampMs[i] as number) - originMs);
    let tmp = new Uint32Array(n);
    const counts = new Uint32Array(1 << 16);
    for (let scale = 1; scale <= maxKey; scale *= 1 << 16) {
      counts.fill(0);
      for (let k = 0; k < n; k++) {
        const d = Math.floor(((this.timestampMs[k] as number) - originMs) / scale) & 0xffff;
        counts[d] = (counts[d] as number) + 1;
      }
      let sum = 0;
      for (let d = 0; d < counts.length; d++) {
        const c = counts[d] as number;
        counts[d] = sum;
        sum += c;
      }
      for (let k = 0; k < n; k++) {
        const row = order[k] as number;
        const d = Math.floor(((this.timestampMs[row] as number) - originMs) / scale) & 0xffff;
        tmp[counts[d] as number] = row;
        counts[d] = (counts[d] as number) + 1;
      }
      [order, tmp] = [tmp, order];
    }
    return order;
  }

  private grow(): void {
    const cap = Math.max(16, this.timestampMs.length * 2);
    const grow = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.timestampMs = grow(this.timestampMs, (n) => new Float64Array(n));
    this.userIndex = grow(this.userIndex, (n) => new Uint32Array(n));
    this.itemIndex = grow(this.itemIndex, (n) => new Uint32Array(n));
    this.actionType = grow(this.actionType, (n) => new Uint8Array(n));
    this.surface = grow(this.surface, (n) => new Uint8Array(n));
    this.durationMs = grow(this.durationMs, (n) => new Uint32Array(n));
  }
}
