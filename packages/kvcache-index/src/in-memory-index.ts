import { KvCacheError, invalidArgument } from './errors.js';
import {
  type BlockHash,
  type IndexScope,
  type KeyType,
  type KvBlockIndex,
  type PodEntry,
  type PodFilter,
  assertBlockHash,
  engineToRequestMapping,
  normalizePodEntry,
  toPodSet,
  validateAddArguments,
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
 * Heap bytes per item, measured on Node 20 x64 with `node --expose-gc` (see README "Memory"):
 * a request key with one pod entry costs about `key + entry`; every further pod entry `entry`; an engine
 * mapping `engineKey`. The byte bound is enforced on this estimate.
 */
export const IN_MEMORY_BYTES = { key: 120, entry: 8, engineKey: 96 } as const;

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
  private readonly blocks = new Map<BlockHash, PodEntry[]>();
  private readonly engine = new Map<BlockHash, BlockHash | BlockHash[]>();
  private readonly interned = new Map<string, PodEntry>();
  private readonly counters: Counters = { keys: 0, entries: 0, engineKeys: 0 };
  private readonly scopes = new Map<string, bigint>();
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
      c.entries * IN_MEMORY_BYTES.entry +
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

  /** Scoped keys live at `(scopeId << 64) | key`; the unscoped partition (id 0) uses the key itself. */
  private scopeId(scope: IndexScope | undefined): bigint {
    const model = scope?.model;
    if (model === undefined || model === '') return 0n;
    let id = this.scopes.get(model);
    if (id === undefined) {
      id = BigInt(this.scopes.size + 1);
      this.scopes.set(model, id);
    }
    return id;
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
    const sid = this.scopeId(scope);
    const result = new Map<BlockHash, PodEntry[]>();
    for (const requestKey of requestKeys) {
      if (typeof requestKey !== 'bigint') assertBlockHash(requestKey, 'request key');
      const key = sid === 0n ? requestKey : (sid << 64n) | requestKey;
      const entries = this.blocks.get(key);
      if (entries === undefined) break;
      const allowed = pods ? entries.filter((e) => pods.has(e.pod)) : entries.slice();
      if (allowed.length === 0) break;
      // refresh recency
      this.blocks.delete(key);
      this.blocks.set(key, entries);
      result.set(requestKey, allowed);
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
    const sid = this.scopeId(scope);
    if (engineKeys !== null) {
      for (const [engineKey, rks] of engineToRequestMapping(engineKeys, requestKeys)) {
        const ek = sid === 0n ? engineKey : (sid << 64n) | engineKey;
        const had = this.engine.get(ek);
        if (had !== undefined) this.engine.delete(ek);
        else this.counters.engineKeys++;
        this.engine.set(ek, rks.length === 1 ? rks[0]! : rks);
      }
    }
    for (const requestKey of requestKeys) {
      const rk = sid === 0n ? requestKey : (sid << 64n) | requestKey;
      let list = this.blocks.get(rk);
      if (list === undefined) {
        list = [];
        this.counters.keys++;
      } else this.blocks.delete(rk);
      this.blocks.set(rk, list);
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
    }
    this.enforceBounds();
  }

  private enforceBounds(): void {
    while (this.counters.keys > this.maxKeys || this.estimatedBytes() > this.maxBytes) {
      const oldest = this.blocks.keys().next();
      if (oldest.done) break;
      const list = this.blocks.get(oldest.value)!;
      this.blocks.delete(oldest.value);
      this.counters.keys--;
      this.counters.entries -= list.length;
      this.capacityEvictions++;
      // engine mappings age out alongside: drop the oldest one when they outnumber request keys
      if (this.counters.engineKeys > this.counters.keys) this.dropOldestEngineKey();
    }
    while (this.counters.engineKeys > this.maxKeys) this.dropOldestEngineKey();
  }

  private dropOldestEngineKey(): void {
    const oldest = this.engine.keys().next();
    if (oldest.done) return;
    this.engine.delete(oldest.value);
    this.counters.engineKeys--;
  }

  private removeEntries(rk: BlockHash, entries: readonly PodEntry[]): void {
    const list = this.blocks.get(rk);
    if (list === undefined) return;
    for (const entry of entries) {
      const at = list.indexOf(this.intern(entry));
      if (at !== -1) {
        list.splice(at, 1);
        this.counters.entries--;
      }
    }
    if (list.length === 0) {
      this.blocks.delete(rk);
      this.counters.keys--;
    }
  }

  async evict(
    key: BlockHash,
    keyType: KeyType,
    entries: readonly PodEntry[],
    scope?: IndexScope,
  ): Promise<void> {
    this.check();
    assertBlockHash(key, `${keyType} key`);
    if (keyType !== 'engine' && keyType !== 'request')
      throw invalidArgument(
        `Unknown key type "${String(keyType)}"`,
        { keyType },
        'Use "engine" or "request"',
      );
    if (!Array.isArray(entries) || entries.length === 0)
      throw invalidArgument('evict() needs at least one pod entry', { key: key.toString() });
    const normalized = entries.map(normalizePodEntry);
    const sid = this.scopeId(scope);
    const scoped = (k: BlockHash) => (sid === 0n ? k : (sid << 64n) | k);
    if (keyType === 'request') return this.removeEntries(scoped(key), normalized);
    const ek = scoped(key);
    const mapped = this.engine.get(ek);
    if (mapped === undefined) return;
    const rks = (typeof mapped === 'bigint' ? [mapped] : mapped).map(scoped);
    for (const rk of rks) this.removeEntries(rk, normalized);
    if (rks.every((rk) => !this.blocks.has(rk))) {
      this.engine.delete(ek);
      this.counters.engineKeys--;
    }
  }

  async getRequestKey(engineKey: BlockHash, scope?: IndexScope): Promise<BlockHash> {
    this.check();
    assertBlockHash(engineKey, 'engine key');
    const sid = this.scopeId(scope);
    const ek = sid === 0n ? engineKey : (sid << 64n) | engineKey;
    const mapped = this.engine.get(ek);
    if (mapped === undefined)
      throw new KvCacheError('ERR_KEY_NOT_FOUND', `Engine key ${engineKey} is not in the index`, {
        details: { engineKey: engineKey.toString() },
      });
    this.engine.delete(ek);
    this.engine.set(ek, mapped);
    return typeof mapped === 'bigint' ? mapped : mapped[mapped.length - 1]!;
  }

  /** O(number of blocks): clearing a pod is rare (AllBlocksCleared, pod removal). Engine mappings self-heal. */
  async clear(pod: string): Promise<void> {
    this.check();
    if (typeof pod !== 'string' || pod === '')
      throw invalidArgument('clear() needs a pod identifier', { pod });
    for (const [rk, list] of this.blocks) {
      const kept = list.filter((e) => e.pod !== pod);
      if (kept.length === list.length) continue;
      this.counters.entries -= list.length - kept.length;
      if (kept.length === 0) {
        this.blocks.delete(rk);
        this.counters.keys--;
      } else this.blocks.set(rk, kept);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.blocks.clear();
    this.engine.clear();
    this.counters.keys = 0;
    this.counters.entries = 0;
    this.counters.engineKeys = 0;
  }
}
