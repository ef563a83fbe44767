/**
 * An approximate LRU in two generations (like a segmented LRU): recently used keys live in `young`,
 * the rest in `old`; a hit in `young` costs one hash lookup (no reordering), a hit in `old` moves the
 * key to `young`. Eviction takes the oldest key of `old`; when `old` runs empty, `young` becomes `old`.
 * A key unused for a whole generation is therefore evicted before any key used since.
 */
export class GenerationalLru<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();

  get size(): number {
    return this.young.size + this.old.size;
  }

  /** The value, without refreshing recency. */
  peek(key: K): V | undefined {
    const v = this.young.get(key);
    return v !== undefined ? v : this.old.get(key);
  }

  /** The value, refreshing recency. */
  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.young.set(key, o);
    }
    return o;
  }

  /** Marks a key (known to be present in `old`) as used; used to promote in a chosen order. */
  touch(key: K): void {
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.young.set(key, o);
    }
  }

  isYoung(key: K): boolean {
    return this.young.has(key);
  }

  /** Sets and refreshes; returns true when the key is new. */
  set(key: K, value: V): boolean {
    if (this.young.has(key)) {
      this.young.set(key, value);
      return false;
    }
    const wasOld = this.old.delete(key);
    this.young.set(key, value);
    return !wasOld;
  }

  /** Replaces the value without refreshing recency (no-op if absent). */
  replace(key: K, value: V): void {
    if (this.young.has(key)) this.young.set(key, value);
    else if (this.old.has(key)) this.old.set(key, value);
  }

  delete(key: K): boolean {
    return this.young.delete(key) || this.old.delete(key);
  }

  has(key: K): boolean {
    return this.young.has(key) || this.old.has(key);
  }

  /** Removes and returns the least recently used entry (approximately). */
  evictOldest(): [K, V] | undefined {
    if (this.old.size === 0) {
      if (this.young.size === 0) return undefined;
      this.old = this.young;
      this.young = new Map();
    }
    const first = this.old.entries().next();
    if (first.done) return undefined;
    this.old.delete(first.value[0]);
    return first.value;
  }

  /** The two generation maps as they are now (for a sweep that yields between chunks). */
  generations(): Array<ReadonlyMap<K, V>> {
    return [this.old, this.young];
  }

  *entries(): IterableIterator<[K, V]> {
    yield* this.old;
    yield* this.young;
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}
