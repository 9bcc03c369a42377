/**
 * Equal-width float rows (vectors) by id in one preallocated buffer: memory is
 * fixed at construction, one backing store for every row, and a full cache
 * overwrites the oldest row it wrote (FIFO ring). Used where a service keeps
 * a bounded copy of vectors it served or read.
 */
export class RowCache {
  private readonly data: Float32Array;
  private readonly slotOf = new Map<string, number>();
  private readonly owners: (string | undefined)[];
  private next = 0;

  constructor(
    readonly width: number,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(width) || width < 1) throw new RangeError(`RowCache: width must be an integer >= 1, got ${width}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`RowCache: capacity must be an integer >= 1, got ${capacity}`);
    this.data = new Float32Array(width * capacity);
    this.owners = new Array<string | undefined>(capacity);
  }

  /** Rows held. */
  get size(): number {
    return this.slotOf.size;
  }

  /** Stores (or refreshes) `id`'s row: `width` values of `src` from `offset`. */
  put(id: string, src: Float32Array, offset: number): void {
    let slot = this.slotOf.get(id);
    if (slot === undefined) {
      slot = this.next;
      this.next = (this.next + 1) % this.capacity;
      const evicted = this.owners[slot];
      if (evicted !== undefined) this.slotOf.delete(evicted);
      this.owners[slot] = id;
      this.slotOf.set(id, slot);
    }
    this.data.set(src.subarray(offset, offset + this.width), slot * this.width);
  }

  /** Copies `id`'s row into `dst` at `offset`; false when it is not held. */
  copyTo(id: string, dst: Float32Array, offset: number): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    dst.set(this.data.subarray(slot * this.width, (slot + 1) * this.width), offset);
    return true;
  }

  /** Forgets `id`'s row (its slot is reused in ring order); false when it was not held. */
  delete(id: string): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.slotOf.delete(id);
    this.owners[slot] = undefined;
    return true;
  }

  /** Forgets every row. */
  clear(): void {
    this.slotOf.clear();
    this.owners.fill(undefined);
    this.next = 0;
  }
}
