/** One namespace of a `PartitionedLru`: its own key → slot map. */
export interface LruPartition<K> {
  readonly name: string;
  readonly id: number;
  readonly slots: Map<K, number>;
}

const NONE = -1;

/**
 * An exact least-recently-used store whose keys live in named partitions (one per model scope) while
 * recency is global: one doubly linked list over every key of every partition. The list is kept in typed
 * arrays indexed by slot number, so a hit costs one `Map.get` and a few integer writes, and a key costs no
 * object of its own. Slots of deleted keys are reused.
 */
export class PartitionedLru<K, V> {
  private readonly byName = new Map<string, LruPartition<K>>();
  private readonly byId: LruPartition<K>[] = [];
  private keys: Array<K | undefined> = [];
  private values: Array<V | undefined> = [];
  private owner = new Int32Array(1024);
  private prev = new Int32Array(1024);
  private next = new Int32Array(1024);
  /** Most recently used slot. */
  private head = NONE;
  /** Least recently used slot. */
  private tail = NONE;
  /** Free slots, chained through `next`. */
  private freeHead = NONE;
  /** Slots ever handed out (the high-water mark). */
  private used = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  partition(name: string, create: true): LruPartition<K>;
  partition(name: string, create: false): LruPartition<K> | undefined;
  partition(name: string, create: boolean): LruPartition<K> | undefined {
    let p = this.byName.get(name);
    if (p === undefined && create) {
      p = { name, id: this.byId.length, slots: new Map() };
      this.byName.set(name, p);
      this.byId.push(p);
    }
    return p;
  }

  partitions(): IterableIterator<LruPartition<K>> {
    return this.byName.values();
  }

  /** The value in `slot` (a slot from `p.slots`). */
  valueAt(slot: number): V {
    return this.values[slot] as V;
  }

  /** The value, without refreshing recency. */
  peek(p: LruPartition<K>, key: K): V | undefined {
    const slot = p.slots.get(key);
    return slot === undefined ? undefined : (this.values[slot] as V);
  }

  /** The value, refreshing recency. */
  get(p: LruPartition<K>, key: K): V | undefined {
    const slot = p.slots.get(key);
    if (slot === undefined) return undefined;
    this.refresh(slot);
    return this.values[slot] as V;
  }

  has(p: LruPartition<K>, key: K): boolean {
    return p.slots.has(key);
  }

  /**
   * Marks `slot` used: it becomes the most recent, or — with `after` — the one just older than `after`,
   * so refreshing a chain head first, each next key after the previous, leaves the head most recent.
   */
  refresh(slot: number, after: number = NONE): void {
    if (after === NONE ? this.head === slot : this.next[after] === slot || after === slot) return;
    this.unlink(slot);
    this.linkAfter(slot, after);
  }

  /** Sets and makes most recent; returns true when the key is new. */
  set(p: LruPartition<K>, key: K, value: V): boolean {
    const slot = p.slots.get(key);
    if (slot !== undefined) {
      this.values[slot] = value;
      this.refresh(slot);
      return false;
    }
    const s = this.allocate();
    this.keys[s] = key;
    this.values[s] = value;
    this.owner[s] = p.id;
    p.slots.set(key, s);
    this.linkAfter(s, NONE);
    this.count++;
    return true;
  }

  /** Replaces the value in `slot` without refreshing recency. */
  replaceAt(slot: number, value: V): void {
    this.values[slot] = value;
  }

  delete(p: LruPartition<K>, key: K): boolean {
    const slot = p.slots.get(key);
    if (slot === undefined) return false;
    p.slots.delete(key);
    this.release(slot);
    return true;
  }

  /** Removes and returns the least recently used entry. */
  evictOldest(): { partition: LruPartition<K>; key: K; value: V } | undefined {
    const slot = this.tail;
    if (slot === NONE) return undefined;
    const partition = this.byId[this.owner[slot]!]!;
    const key = this.keys[slot] as K;
    const value = this.values[slot] as V;
    partition.slots.delete(key);
    this.release(slot);
    return { partition, key, value };
  }

  /** Keys from least to most recently used (for tests and diagnostics). */
  *oldestFirst(): IterableIterator<[string, K, V]> {
    for (let s = this.tail; s !== NONE; s = this.prev[s]!)
      yield [this.byId[this.owner[s]!]!.name, this.keys[s] as K, this.values[s] as V];
  }

  clear(): void {
    for (const p of this.byId) p.slots.clear();
    this.keys = [];
    this.values = [];
    this.owner = new Int32Array(1024);
    this.prev = new Int32Array(1024);
    this.next = new Int32Array(1024);
    this.head = this.tail = this.freeHead = NONE;
    this.used = this.count = 0;
  }

  private allocate(): number {
    if (this.freeHead !== NONE) {
      const s = this.freeHead;
      this.freeHead = this.next[s]!;
      return s;
    }
    if (this.used === this.next.length) this.grow();
    return this.used++;
  }

  private release(slot: number): void {
    this.unlink(slot);
    this.keys[slot] = undefined;
    this.values[slot] = undefined;
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
    this.count--;
  }

  private grow(): void {
    const size = this.next.length * 2;
    for (const name of ['owner', 'prev', 'next'] as const) {
      const bigger = new Int32Array(size);
      bigger.set(this[name]);
      this[name] = bigger;
    }
  }

  private unlink(slot: number): void {
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
  }

  /** Links `slot` right after `after` (towards the tail), or at the head when `after` is NONE. */
  private linkAfter(slot: number, after: number): void {
    const n = after === NONE ? this.head : this.next[after]!;
    this.prev[slot] = after;
    this.next[slot] = n;
    if (after === NONE) this.head = slot;
    else this.next[after] = slot;
    if (n === NONE) this.tail = slot;
    else this.prev[n] = slot;
  }
}
