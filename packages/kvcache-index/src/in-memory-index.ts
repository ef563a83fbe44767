import { KvCacheError, invalidArgument } from './errors.js';
import { type LruPartition, PartitionedLru } from './lru.js';
import {
  type BlockHash,
  type IndexScope,
  type KeyType,
  type KvBlockIndex,
  type PodEntry,
  type PodFilter,
  assertBlockHash,
  engineToRequestMapping,
  toPodSet,
  validateAddArguments,
  validateEvictArguments,
} from './types.js';

export interface InMemoryIndexConfig {
  /** Most request keys (blocks) kept; least recently used go first. Default 10,000,000. */
  maxKeys?: number;
  /** Estimated heap bytes the index may use (see `IN_MEMORY_BYTES`); LRU beyond it. Default 1 GiB. */
  maxBytes?: number;
  /** Most pod entries per block; the least recently added entry is dropped beyond it. Default 64. */
  podCacheSize?: number;
}

/**
 * Bytes per item (JS heap plus the LRU's typed arrays), measured on Node 20 x64 with
 * `scripts/measure-memory.ts` (see README "Memory"): a request key holding one pod entry costs `key`,
 * every further pod entry on it `extraEntry`, an engine mapping `engineKey`. Measured 87 B per key and
 * per engine mapping at 1M keys (Map tables and the LRU's arrays grow in powers of two, so 75–100 B
 * between sizes), 27 B per extra entry; the constants sit at the upper end. The byte bound uses this.
 */
export const IN_MEMORY_BYTES = { key: 96, extraEntry: 28, engineKey: 96 } as const;

type Slot = PodEntry | readonly PodEntry[];

function slotEntries(slot: Slot): readonly PodEntry[] {
  return Array.isArray(slot) ? (slot as readonly PodEntry[]) : [slot as PodEntry];
}

function toSlot(list: readonly PodEntry[]): Slot | undefined {
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0]!;
  return list.slice();
}

type Part = LruPartition<BlockHash>;

interface Counters {
  keys: number;
  entries: number;
  engineKeys: number;
}

export interface InMemoryIndexStats extends Counters {
  estimatedBytes: number;
  /** Request keys dropped by the count/byte bound since creation. */
  capacityEvictions: number;
}

function checkPositive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new KvCacheError(
      'ERR_INVALID_CONFIG',
      `In-memory index ${name} must be a positive integer, got ${value}`,
      {
        details: { [name]: value },
      },
    );
  return value;
}

/**
 * An LRU index in the JS heap. Pod entries are interned (one frozen object per distinct entry), so a
 * block stores references only. Every hit of a lookup and every add refreshes recency (an exact LRU);
 * the count and byte bounds drop the least recently used request keys (and engine mappings).
 *
 * Scope rule (the same on every backend): `scope.model` is a namespace. Request keys, engine mappings
 * and entries written under one model are seen only by calls with the same model; calls without a
 * scope use the default namespace (model `""`), which no named model shares. `clear(pod)` spans all.
 */
export class InMemoryIndex implements KvBlockIndex {
  readonly maxKeys: number;
  readonly maxBytes: number;
  readonly podCacheSize: number;
  /** One interned entry is stored as itself; several as an exact-size array (copy on write). */
  private readonly blocks = new PartitionedLru<BlockHash, Slot>();
  /** Engine → request keys, one partition per model scope (engines of different models reuse hashes). */
  private readonly engines = new PartitionedLru<BlockHash, BlockHash | BlockHash[]>();
  private readonly interned = new Map<string, PodEntry>();
  /** Entries of cleared pods: invisible at once, physically removed by a sweep or when touched. */
  private readonly dead = new WeakSet<PodEntry>();
  private anyDead = false;
  private readonly counters: Counters = { keys: 0, entries: 0, engineKeys: 0 };
  private capacityEvictions = 0;
  private closed = false;

  constructor(config: InMemoryIndexConfig = {}) {
    this.maxKeys = checkPositive('maxKeys', config.maxKeys, 10_000_000);
    this.maxBytes = checkPositive('maxBytes', config.maxBytes, 1024 * 1024 * 1024);
    this.podCacheSize = checkPositive('podCacheSize', config.podCacheSize, 64);
  }

  stats(): InMemoryIndexStats {
    return {
      ...this.counters,
      estimatedBytes: this.estimatedBytes(),
      capacityEvictions: this.capacityEvictions,
    };
  }

  private estimatedBytes(): number {
    const c = this.counters;
    return (
      c.keys * IN_MEMORY_BYTES.key +
      (c.entries - c.keys) * IN_MEMORY_BYTES.extraEntry +
      c.engineKeys * IN_MEMORY_BYTES.engineKey
    );
  }

  private intern(entry: PodEntry): PodEntry {
    const id = `${entry.pod}\u0000${entry.tier}\u0000${entry.speculative ? 1 : 0}\u0000${entry.group ?? ''}`;
    let found = this.interned.get(id);
    if (!found) {
      found = Object.freeze(entry);
      this.interned.set(id, found);
    }
    return found;
  }

  /** The live entries of a slot, dropping entries of cleared pods (and the key when none is left). */
  private purge(part: Part, rk: BlockHash, at: number): readonly PodEntry[] | undefined {
    const list = slotEntries(this.blocks.valueAt(at));
    if (!this.anyDead) return list;
    const kept = list.filter((e) => !this.dead.has(e));
    if (kept.length === list.length) return list;
    this.counters.entries -= list.length - kept.length;
    const next = toSlot(kept);
    if (next === undefined) {
      this.blocks.delete(part, rk);
      this.counters.keys--;
      return undefined;
    }
    this.blocks.replaceAt(at, next);
    return kept;
  }

  /** Request keys and engine mappings live in the scope's namespace (see the class comment). */
  private static ns(scope: IndexScope | undefined): string {
    return scope?.model ?? '';
  }

  private check(): void {
    if (this.closed) throw new KvCacheError('ERR_CLOSED', 'The in-memory index is closed');
  }

  async lookup(
    requestKeys: readonly BlockHash[],
    podFilter?: PodFilter,
    scope?: IndexScope,
  ): Promise<Map<BlockHash, PodEntry[]>> {
    this.check();
    if (!Array.isArray(requestKeys)) throw invalidArgument('lookup() needs an array of request keys', {});
    const pods = toPodSet(podFilter);
    const result = new Map<BlockHash, PodEntry[]>();
    const part = this.blocks.partition(InMemoryIndex.ns(scope), false);
    let previous = -1;
    for (const key of requestKeys) {
      if (typeof key !== 'bigint') assertBlockHash(key, 'request key');
      if (part === undefined) break;
      const at = part.slots.get(key);
      if (at === undefined) break;
      let allowed: PodEntry[];
      const slot = this.blocks.valueAt(at);
      if (this.anyDead || Array.isArray(slot)) {
        const entries = this.purge(part, key, at);
        if (entries === undefined) break;
        allowed = pods ? entries.filter((e) => pods.has(e.pod)) : entries.slice();
      } else {
        // the common case, one live entry: a single allocation
        const entry = slot as PodEntry;
        allowed = pods && !pods.has(entry.pod) ? [] : [entry];
      }
      if (allowed.length === 0) break;
      // every hit is refreshed: the head most recent, each next key just older than the one before,
      // so a chain loses its tail before its head
      this.blocks.refresh(at, previous);
      previous = at;
      result.set(key, allowed);
    }
    return result;
  }

  async add(
    engineKeys: readonly BlockHash[] | null,
    requestKeys: readonly BlockHash[],
    entries: readonly PodEntry[],
    scope?: IndexScope,
  ): Promise<void> {
    this.check();
    const normalized = validateAddArguments(engineKeys, requestKeys, entries).map((e) => this.intern(e));
    const ns = InMemoryIndex.ns(scope);
    if (engineKeys !== null) {
      const engine = this.engines.partition(ns, true);
      for (const [ek, rks] of engineToRequestMapping(engineKeys, requestKeys)) {
        if (this.engines.set(engine, ek, rks.length === 1 ? rks[0]! : rks)) this.counters.engineKeys++;
      }
    }
    const part = this.blocks.partition(ns, true);
    // tail first, so a chain's head is the last of it to be evicted
    for (let k = requestKeys.length - 1; k >= 0; k--) {
      const rk = requestKeys[k]!;
      const at = part.slots.get(rk);
      const live = at === undefined ? undefined : this.purge(part, rk, at);
      let list: PodEntry[];
      if (live === undefined) {
        list = [];
        this.counters.keys++;
      } else list = live.slice();
      for (const entry of normalized) {
        const i = list.indexOf(entry);
        if (i !== -1) list.splice(i, 1);
        else this.counters.entries++;
        list.push(entry);
        if (list.length > this.podCacheSize) {
          list.shift();
          this.counters.entries--;
        }
      }
      this.blocks.set(part, rk, toSlot(list)!);
    }
    this.enforceBounds();
  }

  private enforceBounds(): void {
    while (this.counters.keys > this.maxKeys || this.estimatedBytes() > this.maxBytes) {
      const oldest = this.blocks.evictOldest();
      if (oldest === undefined) break;
      this.counters.keys--;
      this.counters.entries -= slotEntries(oldest.value).length;
      this.capacityEvictions++;
      // engine mappings age out alongside: drop the oldest one when they outnumber request keys
      if (this.counters.engineKeys > this.counters.keys) this.dropOldestEngineKey();
    }
    while (this.counters.engineKeys > this.maxKeys) this.dropOldestEngineKey();
  }

  private dropOldestEngineKey(): void {
    if (this.engines.evictOldest()) this.counters.engineKeys--;
  }

  private removeEntries(part: Part | undefined, rk: BlockHash, entries: readonly PodEntry[]): void {
    const at = part?.slots.get(rk);
    if (part === undefined || at === undefined) return;
    const live = this.purge(part, rk, at);
    if (live === undefined) return;
    const list = live.slice();
    for (const entry of entries) {
      const i = list.indexOf(this.intern(entry));
      if (i !== -1) {
        list.splice(i, 1);
        this.counters.entries--;
      }
    }
    const next = toSlot(list);
    if (next === undefined) {
      this.blocks.delete(part, rk);
      this.counters.keys--;
    } else this.blocks.replaceAt(at, next);
  }

  async evict(
    key: BlockHash,
    keyType: KeyType,
    entries: readonly PodEntry[],
    scope?: IndexScope,
  ): Promise<void> {
    this.check();
    const normalized = validateEvictArguments(key, keyType, entries);
    const ns = InMemoryIndex.ns(scope);
    const part = this.blocks.partition(ns, false);
    if (keyType === 'request') return this.removeEntries(part, key, normalized);
    const engine = this.engines.partition(ns, false);
    const mapped = engine === undefined ? undefined : this.engines.peek(engine, key);
    if (engine === undefined || mapped === undefined) return;
    const rks = typeof mapped === 'bigint' ? [mapped] : mapped;
    for (const rk of rks) this.removeEntries(part, rk, normalized);
    if (part === undefined || rks.every((rk) => !part.slots.has(rk))) {
      this.engines.delete(engine, key);
      this.counters.engineKeys--;
    }
  }

  async getRequestKey(engineKey: BlockHash, scope?: IndexScope): Promise<BlockHash> {
    this.check();
    assertBlockHash(engineKey, 'engine key');
    const engine = this.engines.partition(InMemoryIndex.ns(scope), false);
    const mapped = engine === undefined ? undefined : this.engines.get(engine, engineKey);
    if (mapped === undefined)
      throw new KvCacheError('ERR_KEY_NOT_FOUND', `Engine key ${engineKey} is not in the index`, {
        details: { engineKey: engineKey.toString() },
      });
    return typeof mapped === 'bigint' ? mapped : mapped[mapped.length - 1]!;
  }

  /**
   * The pod's entries become invisible at once (its interned entries are marked dead, O(pods)); a sweep
   * then removes them in slices of 16k blocks, yielding to the event loop between slices, so lookups
   * keep flowing while a large index is cleaned. Resolves when the sweep is done. Covers every scope.
   * Engine mappings are left in place: they resolve to emptied request keys and self-heal.
   */
  async clear(pod: string): Promise<void> {
    this.check();
    if (typeof pod !== 'string' || pod === '')
      throw invalidArgument('clear() needs a pod identifier', { pod });
    let found = false;
    for (const [id, entry] of this.interned) {
      if (entry.pod !== pod) continue;
      this.dead.add(entry);
      this.interned.delete(id);
      found = true;
    }
    if (!found) return;
    this.anyDead = true;
    let n = 0;
    for (const part of [...this.blocks.partitions()]) {
      // a live iteration: keys deleted meanwhile are skipped, keys added meanwhile hold no dead entry
      for (const [rk, at] of part.slots) {
        if (this.closed) return;
        this.purge(part, rk, at);
        if (++n % 16_384 === 0) await new Promise<void>((r) => setImmediate(r));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.blocks.clear();
    this.engines.clear();
    this.counters.keys = 0;
    this.counters.entries = 0;
    this.counters.engineKeys = 0;
  }
}
