/** A bounded least-recently-used map: `get` refreshes an entry; `set` past capacity evicts the oldest. */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  private readonly capacity: number;

  /** Throws TypeError unless capacity is an integer >= 1. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`lru capacity: must be an integer >= 1, got ${capacity}`);
    this.capacity = capacity;
  }

  /** The value, marked most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    // Map keeps insertion order: re-inserting moves the key to the young end.
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Stores the value as most recently used, evicting the least recently used past capacity. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }

  /** Number of entries held. */
  get size(): number {
    return this.map.size;
  }
}
