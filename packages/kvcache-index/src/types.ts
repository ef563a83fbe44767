import { invalidArgument } from './errors.js';

/** A block hash: an unsigned 64-bit integer, always a `bigint` so no precision is lost. */
export type BlockHash = bigint;

export const EMPTY_BLOCK_HASH: BlockHash = 0n;
export const MAX_BLOCK_HASH: BlockHash = 0xffff_ffff_ffff_ffffn;

/** Which key space a key passed to `evict` belongs to. */
export type KeyType = 'engine' | 'request';

/** Where a pod holds a block. */
export interface PodEntry {
  /** Pod identifier (usually `<ip>:<port>`), as found in the event topic. */
  pod: string;
  /** Device tier, lower case: `gpu`, `cpu`, ... (`""` is accepted, as in llm-d). */
  tier: string;
  /** Added before a KV event confirmed it (predictive routing). */
  speculative?: boolean;
  /** KV-cache group index (hybrid memory allocator). */
  group?: number;
}

/** Restricts a lookup to these pods; empty or absent = every pod. */
export type PodFilter = ReadonlySet<string> | readonly string[];

/**
 * Extra context for one call. `model` is a namespace, the same on every backend: what is written under
 * a model is seen only by calls with that model; no scope (or `model: ''`) is the default namespace,
 * shared by no named model. On a Valkey Cluster the model also picks the shard.
 */
export interface IndexScope {
  model?: string;
}

/**
 * The KV-block index. Every backend behaves the same (one behaviour suite runs against all of them):
 *
 * - `lookup` has prefix semantics: it walks `requestKeys` in order and stops at the first key that
 *   no allowed pod holds; the result holds only the keys before that point, in order.
 * - `add` stores `requestKey → entries`; when `engineKeys` is given it also maps engine keys to
 *   request keys (1:1, many:1 or 1:many, inferred from the length ratio).
 * - `evict` removes entries from a request key, or from every request key an engine key maps to.
 * - `getRequestKey` returns the last request key an engine key maps to.
 * - `clear` removes every entry of a pod, in every scope.
 * - `scope.model` is a namespace for every other call (see `IndexScope`).
 */
export interface KvBlockIndex {
  lookup(
    requestKeys: readonly BlockHash[],
    podFilter?: PodFilter,
    scope?: IndexScope,
  ): Promise<Map<BlockHash, PodEntry[]>>;
  add(
    engineKeys: readonly BlockHash[] | null,
    requestKeys: readonly BlockHash[],
    entries: readonly PodEntry[],
    scope?: IndexScope,
  ): Promise<void>;
  evict(key: BlockHash, keyType: KeyType, entries: readonly PodEntry[], scope?: IndexScope): Promise<void>;
  /** Throws `KvCacheError` `ERR_KEY_NOT_FOUND` when the engine key is unknown. */
  getRequestKey(engineKey: BlockHash, scope?: IndexScope): Promise<BlockHash>;
  clear(pod: string): Promise<void>;
  close(): Promise<void>;
}

/** `pod@tier[speculative][group=N]`, as llm-d prints entries. */
export function formatPodEntry(entry: PodEntry): string {
  return `${entry.pod}@${entry.tier}${entry.speculative ? '[speculative]' : ''}${entry.group !== undefined ? `[group=${entry.group}]` : ''}`;
}

export function samePodEntry(a: PodEntry, b: PodEntry): boolean {
  return (
    a.pod === b.pod &&
    a.tier === b.tier &&
    (a.speculative ?? false) === (b.speculative ?? false) &&
    a.group === b.group
  );
}

/** Returns a normalized copy (tier lower-cased, defaults dropped) after validating it. */
export function normalizePodEntry(entry: PodEntry): PodEntry {
  if (typeof entry !== 'object' || entry === null)
    throw invalidArgument('A pod entry must be an object', { entry });
  if (typeof entry.pod !== 'string' || entry.pod === '' || entry.pod.includes('\u0000'))
    throw invalidArgument(
      `Invalid pod identifier ${JSON.stringify(entry.pod)}`,
      { entry },
      'Use a non-empty string without NUL bytes',
    );
  // an empty tier is accepted, as in llm-d (its own tests use ""); it weighs like an unknown tier
  const tier = typeof entry.tier === 'string' ? entry.tier.toLowerCase() : undefined;
  if (tier === undefined || tier.includes('\u0000'))
    throw invalidArgument(
      `Invalid device tier ${JSON.stringify(entry.tier)} for pod "${entry.pod}"`,
      { entry },
      'Use e.g. "gpu" or "cpu"',
    );
  const out: PodEntry = { pod: entry.pod, tier };
  if (entry.speculative) out.speculative = true;
  if (entry.group !== undefined) {
    if (!Number.isSafeInteger(entry.group) || entry.group < 0)
      throw invalidArgument(`Invalid group index ${String(entry.group)} for pod "${entry.pod}"`, { entry });
    out.group = entry.group;
  }
  return out;
}

/** Validates a block hash (a bigint in 0..2^64-1) and returns it. */
export function assertBlockHash(value: unknown, what = 'block hash'): BlockHash {
  if (typeof value !== 'bigint' || value < 0n || value > MAX_BLOCK_HASH)
    throw invalidArgument(
      `Invalid ${what} ${typeof value === 'bigint' ? value.toString() : JSON.stringify(value)}`,
      { value: String(value) },
      'Block hashes are unsigned 64-bit integers passed as bigint (e.g. 1234n or BigInt("1234"))',
    );
  return value;
}

/** Parses a decimal/hex string, safe integer or bigint into a block hash. */
export function toBlockHash(value: string | number | bigint): BlockHash {
  if (typeof value === 'bigint') return assertBlockHash(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw invalidArgument(
        `Block hash ${value} is not an exact unsigned integer`,
        { value },
        'Numbers above 2^53 lose precision: pass the hash as a decimal string or bigint',
      );
    return BigInt(value);
  }
  if (!/^(?:\d+|0x[0-9a-f]+)$/i.test(value.trim()))
    throw invalidArgument(`Block hash "${value}" is not an unsigned integer`, { value });
  return assertBlockHash(BigInt(value.trim()));
}

export function toPodSet(filter: PodFilter | undefined): ReadonlySet<string> | undefined {
  if (filter === undefined) return undefined;
  const set = filter instanceof Set ? (filter as ReadonlySet<string>) : new Set(filter as readonly string[]);
  return set.size === 0 ? undefined : set;
}

/**
 * The engine→request mapping llm-d infers from the length ratio:
 * `n = max(|E|,|R|); E[i*|E|/n] → R[i*|R|/n]` — 1:1, many:1 (E0..E3 → R0) and 1:many (E0 → R0,R1).
 */
export function engineToRequestMapping(
  engineKeys: readonly BlockHash[],
  requestKeys: readonly BlockHash[],
): Map<BlockHash, BlockHash[]> {
  const mapping = new Map<BlockHash, BlockHash[]>();
  const e = engineKeys.length;
  const r = requestKeys.length;
  const n = Math.max(e, r);
  for (let i = 0; i < n; i++) {
    const ek = engineKeys[Math.floor((i * e) / n)]!;
    const rk = requestKeys[Math.floor((i * r) / n)]!;
    let list = mapping.get(ek);
    if (!list) {
      list = [];
      mapping.set(ek, list);
    }
    if (list[list.length - 1] !== rk) list.push(rk);
  }
  return mapping;
}

/** Checks evict() arguments (shared by every backend) and returns the normalized entries. */
export function validateEvictArguments(
  key: BlockHash,
  keyType: KeyType,
  entries: readonly PodEntry[],
): PodEntry[] {
  assertBlockHash(key, `${keyType} key`);
  if (keyType !== 'engine' && keyType !== 'request')
    throw invalidArgument(`Unknown key type "${String(keyType)}"`, { keyType }, 'Use "engine" or "request"');
  if (!Array.isArray(entries) || entries.length === 0)
    throw invalidArgument('evict() needs at least one pod entry', { key: key.toString() });
  return entries.map(normalizePodEntry);
}

export function validateAddArguments(
  engineKeys: readonly BlockHash[] | null,
  requestKeys: readonly BlockHash[],
  entries: readonly PodEntry[],
): PodEntry[] {
  if (!Array.isArray(requestKeys) || requestKeys.length === 0)
    throw invalidArgument('add() needs at least one request key', { requestKeys: requestKeys?.length ?? 0 });
  if (!Array.isArray(entries) || entries.length === 0)
    throw invalidArgument('add() needs at least one pod entry', { entries: entries?.length ?? 0 });
  for (const k of requestKeys) assertBlockHash(k, 'request key');
  if (engineKeys !== null) {
    if (!Array.isArray(engineKeys) || engineKeys.length === 0)
      throw invalidArgument('add() engine keys must be null or a non-empty array', {
        engineKeys: String(engineKeys),
      });
    for (const k of engineKeys) assertBlockHash(k, 'engine key');
  }
  return entries.map(normalizePodEntry);
}
