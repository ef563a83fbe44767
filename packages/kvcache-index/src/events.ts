import { decode, encode } from '@msgpack/msgpack';
import { KvCacheError } from './errors.js';
import { digestToBlockHash } from './hashing.js';
import type { BlockHash } from './types.js';

/** vLLM `BlockStored`: blocks now held by the engine (tokens empty = offload to another tier). */
export interface BlockStoredEvent {
  type: 'BlockStored';
  blockHashes: BlockHash[];
  parentBlockHash: BlockHash | null;
  tokenIds: number[];
  blockSize: number;
  loraId: number | null;
  medium: string | null;
  loraName: string | null;
  /** Per engine block: multimodal identifiers etc. (bare strings or `[hash, offset]` tuples). */
  extraKeys: Array<unknown[] | null> | null;
  groupIdx: number | null;
  kvCacheSpecKind: string | null;
  kvCacheSpecSlidingWindow: number | null;
}

export interface BlockRemovedEvent {
  type: 'BlockRemoved';
  blockHashes: BlockHash[];
  medium: string | null;
  groupIdx: number | null;
}

export interface AllBlocksClearedEvent {
  type: 'AllBlocksCleared';
}

export type KvEvent = BlockStoredEvent | BlockRemovedEvent | AllBlocksClearedEvent;

export interface EventBatch {
  ts: number;
  events: KvEvent[];
  dataParallelRank: number | null;
}

/** Pod and model of a `kv@<pod>@<model>` topic; anything else → pod = whole topic, model = "". */
export function parseTopic(topic: string): { pod: string; model: string } {
  const parts = topic.split('@');
  if (parts.length === 3 && parts[1] !== '') return { pod: parts[1]!, model: parts[2]! };
  return { pod: topic, model: '' };
}

export function formatTopic(pod: string, model: string): string {
  return `kv@${pod}@${model}`;
}

const STORED_FIELDS = [
  'block_hashes',
  'parent_block_hash',
  'token_ids',
  'block_size',
  'lora_id',
  'medium',
  'lora_name',
  'extra_keys',
  'group_idx',
  'kv_cache_spec_kind',
  'kv_cache_spec_sliding_window',
] as const;
const REMOVED_FIELDS = ['block_hashes', 'medium', 'group_idx'] as const;

function malformed(message: string, details: Record<string, unknown> = {}): KvCacheError {
  return new KvCacheError('ERR_MALFORMED_EVENT', `Malformed KV event: ${message}`, { details });
}

/** An int (number/bigint, negative = two's complement) or a byte hash (last 8 bytes BE). */
export function toEventHash(value: unknown, where: string): BlockHash {
  if (typeof value === 'bigint') return BigInt.asUintN(64, value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw malformed(`${where} is ${value}, not an exact integer`);
    return BigInt.asUintN(64, BigInt(value));
  }
  if (value instanceof Uint8Array && value.length > 0) return digestToBlockHash(value);
  throw malformed(`${where} is ${describe(value)}, expected an integer or bytes`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function optString(value: unknown, where: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw malformed(`${where} is ${describe(value)}, expected a string`);
  return value;
}

function optInt(value: unknown, where: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= 0n)
    return Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw malformed(`${where} is ${describe(value)}, expected an integer`);
  return value;
}

function hashList(value: unknown, where: string): BlockHash[] {
  if (!Array.isArray(value)) throw malformed(`${where} is ${describe(value)}, expected an array`);
  return value.map((v, i) => toEventHash(v, `${where}[${i}]`));
}

function tokenList(value: unknown, where: string): number[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value))
    throw malformed(`${where} is ${describe(value)}, expected an array of token ids`);
  return value.map((v, i) => {
    const t = typeof v === 'bigint' ? Number(v) : v;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0xffff_ffff)
      throw malformed(`${where}[${i}] is ${describe(v)}, expected a token id`);
    return t;
  });
}

/** Normalizes a tagged-map event to positional fields. */
function fieldsOf(raw: unknown, index: number): { tag: string; fields: unknown[] } {
  const where = `events[${index}]`;
  if (Array.isArray(raw)) {
    if (typeof raw[0] !== 'string') throw malformed(`${where} has no event tag`, { index });
    return { tag: raw[0], fields: raw.slice(1) };
  }
  if (raw !== null && typeof raw === 'object' && !(raw instanceof Uint8Array)) {
    const map = raw as Record<string, unknown>;
    const tag = map.type ?? map.tag;
    if (typeof tag !== 'string') throw malformed(`${where} map has no "type"`, { index });
    const names = tag === 'BlockStored' ? STORED_FIELDS : tag === 'BlockRemoved' ? REMOVED_FIELDS : [];
    return { tag, fields: names.map((n) => map[n]) };
  }
  throw malformed(`${where} is ${describe(raw)}, expected an array or a map`, { index });
}

/** Decodes one event (positional `["BlockStored", ...]` or tagged map `{type: "BlockStored", ...}`). */
export function decodeEvent(raw: unknown, index = 0): KvEvent | null {
  const { tag, fields } = fieldsOf(raw, index);
  const where = `events[${index}]`;
  switch (tag) {
    case 'BlockStored': {
      const extra = fields[7];
      if (extra !== null && extra !== undefined && !Array.isArray(extra))
        throw malformed(`${where}.extra_keys is ${describe(extra)}, expected an array`);
      return {
        type: 'BlockStored',
        blockHashes: hashList(fields[0], `${where}.block_hashes`),
        parentBlockHash:
          fields[1] === null || fields[1] === undefined
            ? null
            : toEventHash(fields[1], `${where}.parent_block_hash`),
        tokenIds: tokenList(fields[2], `${where}.token_ids`),
        blockSize: optInt(fields[3], `${where}.block_size`) ?? 0,
        loraId: optInt(fields[4], `${where}.lora_id`),
        medium: optString(fields[5], `${where}.medium`),
        loraName: optString(fields[6], `${where}.lora_name`),
        extraKeys: (extra as Array<unknown[] | null> | null | undefined) ?? null,
        groupIdx: optInt(fields[8], `${where}.group_idx`),
        kvCacheSpecKind: optString(fields[9], `${where}.kv_cache_spec_kind`),
        kvCacheSpecSlidingWindow: optInt(fields[10], `${where}.kv_cache_spec_sliding_window`),
      };
    }
    case 'BlockRemoved':
      return {
        type: 'BlockRemoved',
        blockHashes: hashList(fields[0], `${where}.block_hashes`),
        medium: optString(fields[1], `${where}.medium`),
        groupIdx: optInt(fields[2], `${where}.group_idx`),
      };
    case 'AllBlocksCleared':
      return { type: 'AllBlocksCleared' };
    default:
      return null; // unknown event kinds from newer engines are skipped, not fatal
  }
}

/**
 * Decodes a vLLM `EventBatch` (`[ts, events, data_parallel_rank]`) from msgpack. Hashes stay exact
 * (uint64 → bigint). Throws `KvCacheError` `ERR_MALFORMED_EVENT` saying which field is wrong.
 * Unknown event kinds are dropped (counted in `skipped`).
 */
export function decodeEventBatch(payload: Uint8Array): EventBatch & { skipped: number } {
  let raw: unknown;
  try {
    raw = decode(payload, { useBigInt64: true });
  } catch (err) {
    throw new KvCacheError(
      'ERR_MALFORMED_EVENT',
      `Malformed KV event: payload is not msgpack (${(err as Error).message})`,
      {
        cause: err,
        details: { bytes: payload.length },
      },
    );
  }
  let ts: unknown;
  let events: unknown;
  let rank: unknown = null;
  if (Array.isArray(raw)) [ts, events, rank] = raw;
  else if (raw !== null && typeof raw === 'object' && !(raw instanceof Uint8Array)) {
    const map = raw as Record<string, unknown>;
    ts = map.ts;
    events = map.events;
    rank = map.data_parallel_rank;
  } else throw malformed(`batch is ${describe(raw)}, expected [ts, events, data_parallel_rank]`);
  if (!Array.isArray(events)) throw malformed(`batch events is ${describe(events)}, expected an array`);
  const out: KvEvent[] = [];
  let skipped = 0;
  events.forEach((e, i) => {
    const decoded = decodeEvent(e, i);
    if (decoded) out.push(decoded);
    else skipped++;
  });
  return {
    ts: typeof ts === 'number' ? ts : typeof ts === 'bigint' ? Number(ts) : 0,
    events: out,
    dataParallelRank: optInt(rank, 'batch data_parallel_rank'),
    skipped,
  };
}

export type EventEncoding = 'array' | 'map';

/**
 * Encodes an EventBatch as vLLM does (positional outer batch; inner events positional, or tagged maps
 * as vLLM ≥ PR #42892 sends them). For tests, simulators and benchmarks.
 */
export function encodeEventBatch(
  events: readonly KvEvent[],
  options: { ts?: number; dataParallelRank?: number | null; encoding?: EventEncoding } = {},
): Uint8Array {
  const encoding = options.encoding ?? 'array';
  const inner = events.map((e) => {
    if (e.type === 'AllBlocksCleared') return encoding === 'map' ? { type: e.type } : [e.type];
    const values: unknown[] =
      e.type === 'BlockStored'
        ? [
            e.blockHashes,
            e.parentBlockHash,
            e.tokenIds,
            e.blockSize,
            e.loraId,
            e.medium,
            e.loraName,
            e.extraKeys,
            e.groupIdx,
            e.kvCacheSpecKind,
            e.kvCacheSpecSlidingWindow,
          ]
        : [e.blockHashes, e.medium, e.groupIdx];
    if (encoding === 'map') {
      const names = e.type === 'BlockStored' ? STORED_FIELDS : REMOVED_FIELDS;
      const map: Record<string, unknown> = { type: e.type };
      names.forEach((n, i) => {
        if (values[i] !== null && values[i] !== undefined) map[n] = values[i];
      });
      return map;
    }
    // omit_defaults: trailing nulls are dropped
    while (
      values.length > 0 &&
      (values[values.length - 1] === null || values[values.length - 1] === undefined)
    )
      values.pop();
    return [e.type, ...values];
  });
  return encode([options.ts ?? Date.now() / 1000, inner, options.dataParallelRank ?? null], {
    useBigInt64: true,
  });
}

/** Encodes the 8-byte big-endian sequence frame. */
export function encodeSequence(seq: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(seq));
  return b;
}

/** Reads the 8-byte big-endian sequence frame (signed: vLLM's replay end marker is -1). */
export function decodeSequence(frame: Uint8Array): bigint {
  if (frame.length !== 8) throw malformed(`sequence frame has ${frame.length} bytes, expected 8`);
  return Buffer.from(frame.buffer, frame.byteOffset, 8).readBigInt64BE();
}

/** A BlockStored event with defaults (for tests, simulators and benchmarks). */
export function blockStored(
  fields: Partial<Omit<BlockStoredEvent, 'type'>> & { blockHashes: BlockHash[] },
): BlockStoredEvent {
  return {
    type: 'BlockStored',
    parentBlockHash: null,
    tokenIds: [],
    blockSize: 16,
    loraId: null,
    medium: null,
    loraName: null,
    extraKeys: null,
    groupIdx: null,
    kvCacheSpecKind: null,
    kvCacheSpecSlidingWindow: null,
    ...fields,
  };
}
