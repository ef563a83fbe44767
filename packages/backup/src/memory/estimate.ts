import type { KeyRecord, StreamValue, ValueType } from '../model.js';
import { DEFAULT_MEMORY_MODEL_CONFIG, type MemoryModelConfig, quicklistNodeByteLimit } from './config.js';
import { jemallocSize } from './jemalloc.js';
import { sortedIdKeys, streamIdKey, streamRaxCharge } from './rax.js';
import {
  dictBuckets,
  EXPECTED_SKIPLIST_NODE_SIZE,
  embeddedKeyEntrySize,
  expectedChainedEntries,
  intsetAllocSize,
  intsetWidth,
  LISTPACK_OVERHEAD,
  listpackEntrySize,
  listpackIntEntrySize,
  SIZEOF,
  SKIPLIST_HEADER_SIZE,
  scoreToBytes,
  sdsAllocSize,
  strictInt64,
} from './sizes.js';

/** The in-memory encoding a key gets once a server has loaded it (`OBJECT ENCODING`). */
export type MemoryEncoding =
  | 'int'
  | 'embstr'
  | 'raw'
  | 'listpack'
  | 'quicklist'
  | 'intset'
  | 'hashtable'
  | 'skiplist'
  | 'stream'
  | 'module';

/** The memory estimate of one key. */
export interface KeyMemory {
  db: number;
  key: Buffer;
  type: ValueType;
  /** Encoding the server would use for the value after loading it with the given settings. */
  encoding: MemoryEncoding;
  /** Estimate of `MEMORY USAGE key SAMPLES 0` on valkey 8.0: value, key, main-dict entry. */
  bytes: number;
  /** The key's entry in the `expires` dict (not part of `MEMORY USAGE`); 0 without a TTL. */
  expiryBytes: number;
  /** Elements: 1 for a string, items/members/fields/entries for collections. */
  elements: number;
  /** Length in bytes of the largest element (the string itself, a member, a field or value). */
  largestElement: number;
  /** Absolute expiry, Unix ms. */
  expiresAt?: number;
}

export interface EstimateOptions {
  /** Encoding thresholds of the target server (defaults: valkey 8.0's). */
  config?: Partial<MemoryModelConfig>;
  /**
   * `loaded` (default): the server loaded the key from this snapshot (a restart, a replica after a
   * full sync). `written`: clients wrote the key into a running server, which keeps a wider key
   * header and a stream's preallocated 4 KiB tail node.
   */
  state?: 'loaded' | 'written';
}

interface ValueEstimate {
  encoding: MemoryEncoding;
  bytes: number;
  elements: number;
  largestElement: number;
}

/**
 * Estimates what `MEMORY USAGE <key> SAMPLES 0` reports for this key on a valkey 8.0 server that
 * loaded it: the value in the encoding the server would choose, the key embedded in its main-dict
 * entry, and the entry itself. Hash-table and skiplist parts that depend on the server's random hash
 * seed or level draws use their expected size.
 */
export function estimateKeyMemory(record: KeyRecord, options: EstimateOptions = {}): KeyMemory {
  const config = options.config
    ? { ...DEFAULT_MEMORY_MODEL_CONFIG, ...options.config }
    : DEFAULT_MEMORY_MODEL_CONFIG;
  const written = options.state === 'written';
  const value = estimateValue(record, config, written);
  const result: KeyMemory = {
    db: record.db,
    key: record.key,
    type: record.value.type,
    encoding: value.encoding,
    bytes: Math.round(value.bytes + embeddedKeyEntrySize(record.key.length, !written)),
    expiryBytes: record.expiresAt === undefined ? 0 : SIZEOF.expiresEntry,
    elements: value.elements,
    largestElement: value.largestElement,
  };
  if (record.expiresAt !== undefined) result.expiresAt = record.expiresAt;
  return result;
}

function estimateValue(
  record: KeyRecord,
  config: Readonly<MemoryModelConfig>,
  written: boolean,
): ValueEstimate {
  const v = record.value;
  switch (v.type) {
    case 'string':
      return stringEstimate(v.value);
    case 'list':
      return listEstimate(v.items, config);
    case 'set':
      return setEstimate(v.members, config);
    case 'zset':
      return zsetEstimate(v.entries, config);
    case 'hash':
      return hashEstimate(v.entries, config);
    case 'stream':
      return streamEstimate(v, config, written);
    case 'module':
      // Modules report their own usage; the serialized size is the only hint a snapshot carries.
      return {
        encoding: 'module',
        bytes: SIZEOF.robj + v.raw.length,
        elements: 1,
        largestElement: v.raw.length,
      };
  }
}

function stringEstimate(s: Buffer): ValueEstimate {
  const len = s.length;
  if (len <= 20 && strictInt64(s) !== null) {
    const n = strictInt64(s)!;
    // `long` on 64-bit: every int64 fits, so the value lives in the robj pointer.
    if (n >= -(2n ** 63n)) return { encoding: 'int', bytes: SIZEOF.robj, elements: 1, largestElement: len };
  }
  if (len <= 44)
    return {
      encoding: 'embstr',
      bytes: jemallocSize(SIZEOF.robj + 3 + len + 1),
      elements: 1,
      largestElement: len,
    };
  return { encoding: 'raw', bytes: SIZEOF.robj + sdsAllocSize(len), elements: 1, largestElement: len };
}

function listEstimate(items: readonly Buffer[], config: Readonly<MemoryModelConfig>): ValueEstimate {
  const fill = config.listMaxListpackSize;
  const byteLimit = quicklistNodeByteLimit(fill);
  const countLimit = fill > 0 ? fill : Number.POSITIVE_INFINITY;
  // Appends go to the tail node while the estimate (current size + element + 8) stays within the
  // limit; elements larger than the limit get a node of their own holding the raw bytes ("plain").
  let nodes = 0;
  let nodeBytes = 0;
  let packedNodes = 0;
  let curSize = -1;
  let curCount = 0;
  let largest = 0;
  let lastListpack = 0;
  const closeNode = (): void => {
    if (curSize >= 0) {
      nodes++;
      packedNodes++;
      nodeBytes += jemallocSize(curSize);
      lastListpack = curSize;
    }
    curSize = -1;
    curCount = 0;
  };
  for (const item of items) {
    if (item.length > largest) largest = item.length;
    if (item.length > byteLimit) {
      closeNode();
      nodes++;
      nodeBytes += jemallocSize(item.length);
      continue;
    }
    if (curSize >= 0 && (curSize + item.length + 8 > byteLimit || curCount + 1 > countLimit)) closeNode();
    if (curSize < 0) curSize = LISTPACK_OVERHEAD;
    curSize += listpackEntrySize(item);
    curCount++;
  }
  closeNode();
  const elements = items.length;
  if (nodes <= 1 && packedNodes === nodes) {
    const lp = nodes === 0 ? LISTPACK_OVERHEAD : lastListpack;
    return { encoding: 'listpack', bytes: SIZEOF.robj + jemallocSize(lp), elements, largestElement: largest };
  }
  return {
    encoding: 'quicklist',
    bytes: SIZEOF.robj + SIZEOF.quicklist + nodes * SIZEOF.quicklistNode + nodeBytes,
    elements,
    largestElement: largest,
  };
}

function setEstimate(members: readonly Buffer[], config: Readonly<MemoryModelConfig>): ValueEstimate {
  const n = members.length;
  let largest = 0;
  let allInts = true;
  let min = 0n;
  let max = 0n;
  let lpSize = LISTPACK_OVERHEAD;
  let sdsBytes = 0;
  for (const m of members) {
    if (m.length > largest) largest = m.length;
    if (allInts) {
      const asInt = strictInt64(m);
      if (asInt === null) allInts = false;
      else {
        if (asInt < min) min = asInt;
        if (asInt > max) max = asInt;
      }
    }
    lpSize += listpackEntrySize(m);
    sdsBytes += sdsAllocSize(m.length);
  }
  if (allInts && n <= config.setMaxIntsetEntries) {
    return {
      encoding: 'intset',
      bytes: SIZEOF.robj + intsetAllocSize(n, intsetWidth(min, max)),
      elements: n,
      largestElement: largest,
    };
  }
  if (n <= config.setMaxListpackEntries && largest <= config.setMaxListpackValue) {
    return {
      encoding: 'listpack',
      bytes: SIZEOF.robj + jemallocSize(lpSize),
      elements: n,
      largestElement: largest,
    };
  }
  const buckets = dictBuckets(n);
  const bytes =
    SIZEOF.robj +
    SIZEOF.dict +
    SIZEOF.bucket * buckets +
    sdsBytes +
    SIZEOF.dictEntryNoValue * expectedChainedEntries(n, buckets);
  return { encoding: 'hashtable', bytes, elements: n, largestElement: largest };
}

function zsetEstimate(
  entries: ReadonlyArray<{ member: Buffer; score: number }>,
  config: Readonly<MemoryModelConfig>,
): ValueEstimate {
  const n = entries.length;
  let largest = 0;
  let lpSize = LISTPACK_OVERHEAD;
  let sdsBytes = 0;
  for (const e of entries) {
    if (e.member.length > largest) largest = e.member.length;
    lpSize += listpackEntrySize(e.member) + listpackEntrySize(scoreToBytes(e.score));
    sdsBytes += sdsAllocSize(e.member.length);
  }
  if (n <= config.zsetMaxListpackEntries && largest <= config.zsetMaxListpackValue) {
    return {
      encoding: 'listpack',
      bytes: SIZEOF.robj + jemallocSize(lpSize),
      elements: n,
      largestElement: largest,
    };
  }
  const buckets = dictBuckets(n);
  const bytes =
    SIZEOF.robj +
    SIZEOF.zset +
    SIZEOF.zskiplist +
    SIZEOF.dict +
    SIZEOF.bucket * buckets +
    SKIPLIST_HEADER_SIZE +
    sdsBytes +
    n * (SIZEOF.dictEntry + EXPECTED_SKIPLIST_NODE_SIZE);
  return { encoding: 'skiplist', bytes, elements: n, largestElement: largest };
}

function hashEstimate(
  entries: ReadonlyArray<{ field: Buffer; value: Buffer }>,
  config: Readonly<MemoryModelConfig>,
): ValueEstimate {
  const n = entries.length;
  let largest = 0;
  let lpSize = LISTPACK_OVERHEAD;
  let sdsBytes = 0;
  for (const e of entries) {
    const longer = Math.max(e.field.length, e.value.length);
    if (longer > largest) largest = longer;
    lpSize += listpackEntrySize(e.field) + listpackEntrySize(e.value);
    sdsBytes += sdsAllocSize(e.field.length) + sdsAllocSize(e.value.length);
  }
  if (n <= config.hashMaxListpackEntries && largest <= config.hashMaxListpackValue) {
    return {
      encoding: 'listpack',
      bytes: SIZEOF.robj + jemallocSize(lpSize),
      elements: n,
      largestElement: largest,
    };
  }
  const bytes = SIZEOF.robj + SIZEOF.dict + SIZEOF.bucket * dictBuckets(n) + sdsBytes + n * SIZEOF.dictEntry;
  return { encoding: 'hashtable', bytes, elements: n, largestElement: largest };
}

/**
 * A stream is a rax of listpack nodes keyed by each node's first ("master") ID. The nodes are
 * rebuilt the way XADD fills them (stream-node-max-entries / -bytes); a loaded node's listpack is
 * allocated at its exact size; on a server clients wrote to, the tail node keeps its preallocation.
 */
/** XADD starts a stream node with a listpack of this many bytes (`STREAM_LISTPACK_MAX_PRE_ALLOCATE`). */
const STREAM_LISTPACK_PREALLOC = 4096;

function streamEstimate(
  s: StreamValue,
  config: Readonly<MemoryModelConfig>,
  written: boolean,
): ValueEstimate {
  const maxBytes = config.streamNodeMaxBytes > 0 ? config.streamNodeMaxBytes : Number.POSITIVE_INFINITY;
  const maxEntries = config.streamNodeMaxEntries > 0 ? config.streamNodeMaxEntries : Number.POSITIVE_INFINITY;
  const nodeKeys: Buffer[] = [];
  let listpacks = 0;
  let largest = 0;

  let master: { ms: bigint; seq: bigint; fields: Buffer[] } | null = null;
  let count = 0;
  let size = 0;
  const closeNode = (): void => {
    if (master) listpacks += jemallocSize(size - listpackIntEntrySize(1) + listpackIntEntrySize(count));
    master = null;
  };
  for (const entry of s.entries) {
    let rawLen = 0;
    for (const [f, v] of entry.fields) {
      rawLen += f.length + v.length;
      if (f.length > largest) largest = f.length;
      if (v.length > largest) largest = v.length;
    }
    if (master && (size + rawLen >= maxBytes || count >= maxEntries)) closeNode();
    if (!master) {
      master = { ms: entry.id.ms, seq: entry.id.seq, fields: entry.fields.map(([f]) => f) };
      nodeKeys.push(streamIdKey(entry.id));
      count = 0;
      // count (patched to the final value on close), deleted, field count, fields, terminator.
      size =
        LISTPACK_OVERHEAD +
        listpackIntEntrySize(1) +
        listpackIntEntrySize(0) +
        listpackIntEntrySize(master.fields.length);
      for (const f of master.fields) size += listpackEntrySize(f);
      size += listpackIntEntrySize(0);
    }
    const sameFields =
      entry.fields.length === master.fields.length &&
      entry.fields.every(([f], i) => f.equals(master!.fields[i]!));
    size += listpackIntEntrySize(sameFields ? 2 : 0);
    size += listpackIntEntrySize(BigInt.asIntN(64, entry.id.ms - master.ms));
    size += listpackIntEntrySize(BigInt.asIntN(64, entry.id.seq - master.seq));
    if (!sameFields) size += listpackIntEntrySize(entry.fields.length);
    for (const [f, v] of entry.fields) {
      if (!sameFields) size += listpackEntrySize(f);
      size += listpackEntrySize(v);
    }
    size += listpackIntEntrySize(3 + entry.fields.length + (sameFields ? 0 : entry.fields.length + 1));
    count++;
  }
  if (master && written) {
    const prealloc = Math.min(STREAM_LISTPACK_PREALLOC, maxBytes);
    const finalSize = size - listpackIntEntrySize(1) + listpackIntEntrySize(count);
    if (finalSize <= prealloc) {
      listpacks += jemallocSize(prealloc);
      master = null;
    }
  }
  closeNode();

  let bytes = SIZEOF.robj + SIZEOF.stream + streamRaxCharge(nodeKeys) + listpacks;
  for (const group of s.groups) {
    bytes += SIZEOF.streamCG;
    bytes += streamRaxCharge(sortedIdKeys(group.pending.map((p) => p.id)));
    bytes += SIZEOF.streamNack * group.pending.length;
    for (const consumer of group.consumers) {
      bytes += SIZEOF.streamConsumer + consumer.name.length;
      bytes += streamRaxCharge(sortedIdKeys(consumer.pending));
    }
  }
  return { encoding: 'stream', bytes, elements: s.entries.length, largestElement: largest };
}
