import { KvCacheError, invalidArgument } from './errors.js';
import { GenerationalLru } from './lru.js';
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
 * Heap bytes per item, measured on Node 20 x64 with `scripts/measure-memory.ts` (see README "Memory"):
 * a request key holding one pod entry costs `key`, every further pod entry on it `extraEntry`, an engine
 * mapping `engineKey`. Measured 53–73 B per key and per engine mapping (Map tables grow in powers of
 * two), 27 B per extra entry; the constants sit at the upper end. The byte bound uses this estimate.
 */
export const IN_MEMORY_BYTES = { key: 72, extraEntry: 28, engineKey: 72 } as const;

type Slot = PodEntry | readonly PodEntry[];

function slotEntries(slot: Slot): readonly PodEntry[] {
  return Array.isArray(slot) ? (slot as readonly PodEntry[]) : [slot as PodEntry];
}

function toSlot(list: readonly PodEntry[]): Slot | undefined {
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0]!;
  return list.slice();
}

type EngineMap = GenerationalLru<BlockHash, BlockHash | BlockHash[]>;

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
 * block stores references only. Lookups and adds refresh recency; the count and byte bounds drop the
 * least recently used request keys (and engine mappings).
 */
export class InMemoryIndex implements KvBlockIndex {
  readonly maxKeys: number;
  readonly maxBytes: number;
  readonly podCacheSize: number;
  /** One interned entry is stored as itself; several as an exact-size array (copy on write). */
  private readonly blocks = new GenerationalLru<BlockHash, Slot>();
  /** Engine → request keys, one map per model scope (engines of different models reuse hashes). */
  private readonly engines = new Map<string, EngineMap>();
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
  private purge(rk: BlockHash, slot: Slot): readonly PodEntry[] | undefined {
    const list = slotEntries(slot);
    if (!this.anyDead) return list;
    const kept = list.filter((e) => !this.dead.has(e));
    if (kept.length === list.length) return list;
    this.counters.entries -= list.length - kept.length;
    const next = toSlot(kept);
    if (next === undefined) {
      this.blocks.delete(rk);
      this.counters.keys--;
      return undefined;
    }
    this.blocks.replace(rk, next);
    return kept;
  }

  /**
   * Request keys are global: they already hash the model, so two models never share one. Engine keys
   * are not (vLLM engines with the same PYTHONHASHSEED hash the same tokens alike), so they are kept
   * per model scope.
   */
  private engineMap(scope: IndexScope | undefined, create: true): EngineMap;
  private engineMap(scope: IndexScope | undefined, create: false): EngineMap | undefined;
  private engineMap(scope: IndexScope | undefined, create: boolean) {
    const model = scope?.model ?? '';
    let map = this.engines.get(model);
    if (!map && create) {
      map = new GenerationalLru();
      this.engines.set(model, map);
    }
    return map;
  }

  private check(): void {
    if (this.closed) throw new KvCacheError('ERR_CLOSED', 'The in-memory index is closed');
  }

  async lookup(
    requestKeys: readonly BlockHash[],
    podFilter?: PodFilter,
    _scope?: IndexScope,
  ): Promise<Map<BlockHash, PodEntry[]>> {
    this.check();
    if (!Array.isArray(requestKeys)) throw invalidArgument('lookup() needs an array of request keys', {});
    const pods = toPodSet(podFilter);
    const result = new Map<BlockHash, PodEntry[]>();
    let stale: BlockHash[] | undefined;
    for (const key of requestKeys) {
      if (typeof key !== 'bigint') assertBlockHash(key, 'request key');
      const slot = this.blocks.peek(key);
      if (slot === undefined) break;
      const entries = this.purge(key, slot);
      if (entries === undefined) break;
      const allowed = pods ? entries.filter((e) => pods.has(e.pod)) : entries.slice();
      if (allowed.length === 0) break;
      if (!this.blocks.isYoung(key)) (stale ??= []).push(key);
      result.set(key, allowed);
    }
    // refresh recency tail first, so a chain's head is the last of it to be evicted
    if (stale) for (let i = stale.length - 1; i >= 0; i--) this.blocks.touch(stale[i]!);
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
    if (engineKeys !== null) {
      const engine = this.engineMap(scope, true);
      for (const [ek, rks] of engineToRequestMapping(engineKeys, requestKeys)) {
        if (engine.set(ek, rks.length === 1 ? rks[0]! : rks)) this.counters.engineKeys++;
      }
    }
    // tail first, so a chain's head is the last of it to be evicted
    for (let k = requestKeys.length - 1; k >= 0; k--) {
      const rk = requestKeys[k]!;
      const slot = this.blocks.peek(rk);
      const live = slot === undefined ? undefined : this.purge(rk, slot);
      let list: PodEntry[];
      if (live === undefined) {
        list = [];
        this.counters.keys++;
      } else list = live.slice();
      for (const entry of normalized) {
        const at = list.indexOf(entry);
        if (at !== -1) list.splice(at, 1);
        else this.counters.entries++;
        list.push(entry);
        if (list.length > this.podCacheSize) {
          list.shift();
          this.counters.entries--;
        }
      }
      this.blocks.set(rk, toSlot(list)!);
    }
    this.enforceBounds();
  }

  private enforceBounds(): void {
    while (this.counters.keys > this.maxKeys || this.estimatedBytes() > this.maxBytes) {
      const oldest = this.blocks.evictOldest();
      if (oldest === undefined) break;
      const slot = oldest[1];
      this.counters.keys--;
      this.counters.entries -= slotEntries(slot).length;
      this.capacityEvictions++;
      // engine mappings age out alongside: drop the oldest one when they outnumber request keys
      if (this.counters.engineKeys > this.counters.keys) this.dropOldestEngineKey();
    }
    while (this.counters.engineKeys > this.maxKeys) this.dropOldestEngineKey();
  }

  private dropOldestEngineKey(): void {
    // the largest scope gives up its least recently used mapping
    let largest: EngineMap | undefined;
    for (const map of this.engines.values()) if (!largest || map.size > largest.size) largest = map;
    if (largest?.evictOldest()) this.counters.engineKeys--;
  }

  private removeEntries(rk: BlockHash, entries: readonly PodEntry[]): void {
    const slot = this.blocks.peek(rk);
    const live = slot === undefined ? undefined : this.purge(rk, slot);
    if (live === undefined) return;
    const list = live.slice();
    for (const entry of entries) {
      const at = list.indexOf(this.intern(entry));
      if (at !== -1) {
        list.splice(at, 1);
        this.counters.entries--;
      }
    }
    const next = toSlot(list);
    if (next === undefined) {
      this.blocks.delete(rk);
      this.counters.keys--;
    } else this.blocks.replace(rk, next);
  }

  async evict(
    key: BlockHash,
    keyType: KeyType,
    entries: readonly PodEntry[],
    scope?: IndexScope,
  ): Promise<void> {
    this.check();
    const normalized = validateEvictArguments(key, keyType, entries);
    if (keyType === 'request') return this.removeEntries(key, normalized);
    const engine = this.engineMap(scope, false);
    const mapped = engine?.peek(key);
    if (engine === undefined || mapped === undefined) return;
    const rks = typeof mapped === 'bigint' ? [mapped] : mapped;
    for (const rk of rks) this.removeEntries(rk, normalized);
    if (rks.every((rk) => !this.blocks.has(rk))) {
      engine.delete(key);
      this.counters.engineKeys--;
    }
  }

  async getRequestKey(engineKey: BlockHash, scope?: IndexScope): Promise<BlockHash> {
    this.check();
    assertBlockHash(engineKey, 'engine key');
    const engine = this.engineMap(scope, false);
    const mapped = engine?.get(engineKey);
    if (mapped === undefined)
      throw new KvCacheError('ERR_KEY_NOT_FOUND', `Engine key ${engineKey} is not in the index`, {
        details: { engineKey: engineKey.toString() },
      });
    return typeof mapped === 'bigint' ? mapped : mapped[mapped.length - 1]!;
  }

  /**
   * The pod's entries become invisible at once (its interned entries are marked dead, O(pods)); a sweep
   * then removes them in slices of 16k blocks, yielding to the event loop between slices, so lookups
   * keep flowing while a large index is cleaned. Resolves when the sweep is done. Engine mappings are
   * left in place: they resolve to emptied request keys and self-heal.
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
    for (const generation of this.blocks.generations()) {
      for (const [rk, slot] of generation) {
        if (this.closed) return;
        this.purge(rk, slot);
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
