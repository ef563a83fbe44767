import type { KeyRecord, StreamGroup, StreamId, Value, ValueType } from '../model.js';
import type { PackedSummary } from '../rdb/span.js';
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
  type ScoreFormat,
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
  /**
   * How the snapshot's writer printed scores of sorted sets it stored as listpacks (default
   * `shortest`; `estimateRecords` picks `legacy` for Redis 7.0 and older files by itself).
   */
  scoreFormat?: ScoreFormat;
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
  const estimator = new KeyMemoryEstimator(record.value.type, options);
  estimator.add(record.value);
  return estimator.finish(record);
}

/** What `finish` needs besides the elements: where the key lives and, for streams, the groups. */
export interface KeyMeta {
  db: number;
  key: Buffer;
  expiresAt?: number;
}

/** Stream metadata delivered after the entries (the reader's chunked `key-end` record). */
export interface StreamMeta {
  groups: StreamGroup[];
  /** With `entriesAdded`, `firstId` and `maxDeletedId` (RDB stream v2+): tells XDEL'd entries still in the nodes. */
  length?: bigint;
  entriesAdded?: bigint;
  firstId?: StreamId;
  maxDeletedId?: StreamId;
}

/** A value kept as one listpack of `lpBytes` (plus its robj). */
function listpackEstimate(lpBytes: number, elements: number, largest: number): ValueEstimate {
  return {
    encoding: 'listpack',
    bytes: SIZEOF.robj + jemallocSize(lpBytes),
    elements,
    largestElement: largest,
  };
}

/**
 * The estimate built element batch by element batch, for keys too large to hold at once (the RDB
 * reader's chunked mode): `add` each batch (a value of the key's type holding some of its
 * elements), then `finish`. Memory held is a few counters, plus 16 bytes per stream node.
 */
export class KeyMemoryEstimator {
  readonly type: ValueType;
  private readonly sizer: ValueSizer;
  private readonly written: boolean;

  constructor(type: ValueType, options: EstimateOptions = {}) {
    const config = options.config
      ? { ...DEFAULT_MEMORY_MODEL_CONFIG, ...options.config }
      : DEFAULT_MEMORY_MODEL_CONFIG;
    this.type = type;
    this.written = options.state === 'written';
    this.sizer = createSizer(type, config, this.written, options.scoreFormat ?? 'shortest');
  }

  /** Adds a whole value or one batch of its elements; its type must be the key's type. */
  add(value: Value): void {
    if (value.type !== this.type) {
      throw new TypeError(`a ${value.type} batch was added to the estimate of a ${this.type} key`);
    }
    this.sizer.add(value);
  }

  /** The estimate once every element was added; `stream` carries the groups when they came apart. */
  finish(meta: KeyMeta & { value?: Value; stream?: StreamMeta }): KeyMemory {
    const stream = meta.stream ?? (meta.value?.type === 'stream' ? meta.value : NO_STREAM);
    return keyMemory(meta, this.type, this.sizer.result(stream), this.written);
  }
}

function keyMemory(meta: KeyMeta, type: ValueType, value: ValueEstimate, written: boolean): KeyMemory {
  const result: KeyMemory = {
    db: meta.db,
    key: meta.key,
    type,
    encoding: value.encoding,
    bytes: Math.round(value.bytes + embeddedKeyEntrySize(meta.key.length, !written)),
    expiryBytes: meta.expiresAt === undefined ? 0 : SIZEOF.expiresEntry,
    elements: value.elements,
    largestElement: value.largestElement,
  };
  if (meta.expiresAt !== undefined) result.expiresAt = meta.expiresAt;
  return result;
}

/**
 * The estimate of a key from its sizes alone (`packedSummary`): a string, or a set, hash, sorted
 * set or one-node list the file holds as a listpack when the server keeps that listpack as it is
 * on load (within the listpack limits; for a set, not an intset candidate; for a list, one node
 * as appends would fill it): the listpack's own size is what the server holds. Undefined when the
 * server would convert it: estimate it from its elements then.
 */
export function estimatePackedKey(
  meta: KeyMeta,
  summary: PackedSummary,
  options: EstimateOptions = {},
): KeyMemory | undefined {
  const written = options.state === 'written';
  if (summary.type === 'string')
    return keyMemory(meta, 'string', stringEstimate(summary.length, summary.isInt), written);
  const config = options.config
    ? { ...DEFAULT_MEMORY_MODEL_CONFIG, ...options.config }
    : DEFAULT_MEMORY_MODEL_CONFIG;
  const { elements: n, largest } = summary;
  if (summary.type === 'intset') {
    if (n > config.setMaxIntsetEntries) return undefined;
    const bytes = SIZEOF.robj + intsetAllocSize(n, summary.width);
    return keyMemory(
      meta,
      'set',
      { encoding: 'intset', bytes, elements: n, largestElement: largest },
      written,
    );
  }
  if (summary.type === 'list') {
    // One node as appends would fill it (see ListSizer): every element went in while the node's
    // size plus the element plus 8 stayed within the limit, which the whole listpack plus the
    // largest element plus 8 within the limit guarantees.
    const fill = config.listMaxListpackSize;
    const oneNode =
      (fill <= 0 || n <= fill) && summary.listpackBytes + largest + 8 <= quicklistNodeByteLimit(fill);
    return oneNode
      ? keyMemory(meta, 'list', listpackEstimate(summary.listpackBytes, n, largest), written)
      : undefined;
  }
  const fits =
    summary.type === 'set'
      ? !(summary.allInts && n <= config.setMaxIntsetEntries) &&
        n <= config.setMaxListpackEntries &&
        largest <= config.setMaxListpackValue
      : summary.type === 'hash'
        ? n <= config.hashMaxListpackEntries && largest <= config.hashMaxListpackValue
        : n <= config.zsetMaxListpackEntries && largest <= config.zsetMaxListpackValue;
  if (!fits) return undefined;
  return keyMemory(meta, summary.type, listpackEstimate(summary.listpackBytes, n, largest), written);
}

const NO_STREAM: StreamMeta = { groups: [] };

interface ValueSizer {
  add(value: Value): void;
  result(stream: StreamMeta): ValueEstimate;
}

function createSizer(
  type: ValueType,
  config: Readonly<MemoryModelConfig>,
  written: boolean,
  scoreFormat: ScoreFormat,
): ValueSizer {
  switch (type) {
    case 'string':
      return new StringSizer();
    case 'list':
      return new ListSizer(config);
    case 'set':
      return new SetSizer(config);
    case 'zset':
      return new ZsetSizer(config, scoreFormat);
    case 'hash':
      return new HashSizer(config);
    case 'stream':
      return new StreamSizer(config, written);
    case 'module':
      return new ModuleSizer();
  }
}

class StringSizer implements ValueSizer {
  private length = 0;
  /** The bytes while they could still be an integer (20 bytes at most). */
  private head: Buffer[] = [];

  add(value: Value): void {
    if (value.type !== 'string') return;
    this.length += value.value.length;
    if (this.length <= 20) this.head.push(value.value);
    else this.head = [];
  }

  result(): ValueEstimate {
    const len = this.length;
    return stringEstimate(len, len <= 20 && strictInt64(Buffer.concat(this.head)) !== null);
  }
}

/** A string of `len` bytes, an int64 or not. */
function stringEstimate(len: number, isInt: boolean): ValueEstimate {
  // 64-bit `long`: every int64 lives in the robj's pointer.
  if (isInt) return { encoding: 'int', bytes: SIZEOF.robj, elements: 1, largestElement: len };
  if (len <= 44) {
    return {
      encoding: 'embstr',
      bytes: jemallocSize(SIZEOF.robj + 3 + len + 1),
      elements: 1,
      largestElement: len,
    };
  }
  return { encoding: 'raw', bytes: SIZEOF.robj + sdsAllocSize(len), elements: 1, largestElement: len };
}

/**
 * Quicklist nodes rebuilt the way appends fill them: the tail node takes an element while its size
 * plus the element plus 8 stays within the node limit; an element over the limit gets a "plain" node
 * holding its raw bytes. A list that ends up as one packed node is stored as a bare listpack.
 */
class ListSizer implements ValueSizer {
  private readonly byteLimit: number;
  private readonly countLimit: number;
  private nodes = 0;
  private packedNodes = 0;
  private nodeBytes = 0;
  private lastListpack = 0;
  private curSize = -1;
  private curCount = 0;
  private elements = 0;
  private largest = 0;

  constructor(config: Readonly<MemoryModelConfig>) {
    const fill = config.listMaxListpackSize;
    this.byteLimit = quicklistNodeByteLimit(fill);
    this.countLimit = fill > 0 ? fill : Number.POSITIVE_INFINITY;
  }

  add(value: Value): void {
    if (value.type !== 'list') return;
    for (const item of value.items) {
      this.elements++;
      if (item.length > this.largest) this.largest = item.length;
      if (item.length > this.byteLimit) {
        this.closeNode();
        this.nodes++;
        this.nodeBytes += jemallocSize(item.length);
        continue;
      }
      if (
        this.curSize >= 0 &&
        (this.curSize + item.length + 8 > this.byteLimit || this.curCount + 1 > this.countLimit)
      ) {
        this.closeNode();
      }
      if (this.curSize < 0) this.curSize = LISTPACK_OVERHEAD;
      this.curSize += listpackEntrySize(item);
      this.curCount++;
    }
  }

  private closeNode(): void {
    if (this.curSize >= 0) {
      this.nodes++;
      this.packedNodes++;
      this.nodeBytes += jemallocSize(this.curSize);
      this.lastListpack = this.curSize;
    }
    this.curSize = -1;
    this.curCount = 0;
  }

  result(): ValueEstimate {
    this.closeNode();
    const { elements, largest } = this;
    if (this.nodes <= 1 && this.packedNodes === this.nodes) {
      const lp = this.nodes === 0 ? LISTPACK_OVERHEAD : this.lastListpack;
      return listpackEstimate(lp, elements, largest);
    }
    return {
      encoding: 'quicklist',
      bytes: SIZEOF.robj + SIZEOF.quicklist + this.nodes * SIZEOF.quicklistNode + this.nodeBytes,
      elements,
      largestElement: largest,
    };
  }
}

class SetSizer implements ValueSizer {
  private n = 0;
  private largest = 0;
  private allInts = true;
  private min = 0n;
  private max = 0n;
  private lpSize = LISTPACK_OVERHEAD;
  private sdsBytes = 0;

  constructor(private readonly config: Readonly<MemoryModelConfig>) {}

  add(value: Value): void {
    if (value.type !== 'set') return;
    for (const m of value.members) {
      this.n++;
      if (m.length > this.largest) this.largest = m.length;
      if (this.allInts) {
        const asInt = strictInt64(m);
        if (asInt === null) this.allInts = false;
        else {
          if (asInt < this.min) this.min = asInt;
          if (asInt > this.max) this.max = asInt;
        }
      }
      this.lpSize += listpackEntrySize(m);
      this.sdsBytes += sdsAllocSize(m.length);
    }
  }

  result(): ValueEstimate {
    const { n, largest, config } = this;
    if (this.allInts && n <= config.setMaxIntsetEntries) {
      const bytes = SIZEOF.robj + intsetAllocSize(n, intsetWidth(this.min, this.max));
      return { encoding: 'intset', bytes, elements: n, largestElement: largest };
    }
    if (n <= config.setMaxListpackEntries && largest <= config.setMaxListpackValue) {
      return listpackEstimate(this.lpSize, n, largest);
    }
    // Members are sds strings stored straight in their bucket; a member landing in a taken bucket
    // gets a {key, next} entry.
    const buckets = dictBuckets(n);
    const bytes =
      SIZEOF.robj +
      SIZEOF.dict +
      SIZEOF.bucket * buckets +
      this.sdsBytes +
      SIZEOF.dictEntryNoValue * expectedChainedEntries(n, buckets);
    return { encoding: 'hashtable', bytes, elements: n, largestElement: largest };
  }
}

class ZsetSizer implements ValueSizer {
  private n = 0;
  private largest = 0;
  private lpSize = LISTPACK_OVERHEAD;
  private sdsBytes = 0;

  constructor(
    private readonly config: Readonly<MemoryModelConfig>,
    private readonly scoreFormat: ScoreFormat,
  ) {}

  add(value: Value): void {
    if (value.type !== 'zset') return;
    for (const e of value.entries) {
      this.n++;
      if (e.member.length > this.largest) this.largest = e.member.length;
      this.lpSize += listpackEntrySize(e.member) + listpackEntrySize(scoreToBytes(e.score, this.scoreFormat));
      this.sdsBytes += sdsAllocSize(e.member.length);
    }
  }

  result(): ValueEstimate {
    const { n, largest, config } = this;
    if (n <= config.zsetMaxListpackEntries && largest <= config.zsetMaxListpackValue) {
      return listpackEstimate(this.lpSize, n, largest);
    }
    const bytes =
      SIZEOF.robj +
      SIZEOF.zset +
      SIZEOF.zskiplist +
      SIZEOF.dict +
      SIZEOF.bucket * dictBuckets(n) +
      SKIPLIST_HEADER_SIZE +
      this.sdsBytes +
      n * (SIZEOF.dictEntry + EXPECTED_SKIPLIST_NODE_SIZE);
    return { encoding: 'skiplist', bytes, elements: n, largestElement: largest };
  }
}

class HashSizer implements ValueSizer {
  private n = 0;
  private largest = 0;
  private lpSize = LISTPACK_OVERHEAD;
  private sdsBytes = 0;

  constructor(private readonly config: Readonly<MemoryModelConfig>) {}

  add(value: Value): void {
    if (value.type !== 'hash') return;
    for (const e of value.entries) {
      this.n++;
      const longer = Math.max(e.field.length, e.value.length);
      if (longer > this.largest) this.largest = longer;
      this.lpSize += listpackEntrySize(e.field) + listpackEntrySize(e.value);
      this.sdsBytes += sdsAllocSize(e.field.length) + sdsAllocSize(e.value.length);
    }
  }

  result(): ValueEstimate {
    const { n, largest, config } = this;
    if (n <= config.hashMaxListpackEntries && largest <= config.hashMaxListpackValue) {
      return listpackEstimate(this.lpSize, n, largest);
    }
    const bytes =
      SIZEOF.robj + SIZEOF.dict + SIZEOF.bucket * dictBuckets(n) + this.sdsBytes + n * SIZEOF.dictEntry;
    return { encoding: 'hashtable', bytes, elements: n, largestElement: largest };
  }
}

/** XADD starts a stream node with a listpack of this many bytes (`STREAM_LISTPACK_MAX_PRE_ALLOCATE`). */
const STREAM_LISTPACK_PREALLOC = 4096;

/**
 * A stream is a rax of listpack nodes keyed by each node's first ("master") ID. The nodes are
 * rebuilt the way XADD fills them (stream-node-max-entries / -bytes); a loaded node's listpack is
 * allocated at its exact size; on a server clients wrote to, the tail node keeps its preallocation.
 */
class StreamSizer implements ValueSizer {
  private readonly maxBytes: number;
  private readonly maxEntries: number;
  private readonly nodeKeys: Buffer[] = [];
  private listpacks = 0;
  private largest = 0;
  private elements = 0;
  private master: { ms: bigint; seq: bigint; fields: Buffer[] } | null = null;
  private count = 0;
  private size = 0;

  constructor(
    config: Readonly<MemoryModelConfig>,
    private readonly written: boolean,
  ) {
    this.maxBytes = config.streamNodeMaxBytes > 0 ? config.streamNodeMaxBytes : Number.POSITIVE_INFINITY;
    this.maxEntries =
      config.streamNodeMaxEntries > 0 ? config.streamNodeMaxEntries : Number.POSITIVE_INFINITY;
  }

  /** Listpack bytes of the current node with its master count patched to the final value. */
  private finalSize(): number {
    return this.size - listpackIntEntrySize(1) + listpackIntEntrySize(this.count);
  }

  private closeNode(): void {
    if (this.master) this.listpacks += jemallocSize(this.finalSize());
    this.master = null;
  }

  add(value: Value): void {
    if (value.type !== 'stream') return;
    for (const entry of value.entries) {
      this.elements++;
      let rawLen = 0;
      for (const [f, v] of entry.fields) {
        rawLen += f.length + v.length;
        if (f.length > this.largest) this.largest = f.length;
        if (v.length > this.largest) this.largest = v.length;
      }
      if (this.master && (this.size + rawLen >= this.maxBytes || this.count >= this.maxEntries))
        this.closeNode();
      let master = this.master;
      if (!master) {
        master = { ms: entry.id.ms, seq: entry.id.seq, fields: entry.fields.map(([f]) => f) };
        this.master = master;
        this.nodeKeys.push(streamIdKey(entry.id));
        this.count = 0;
        // Master entry: count (patched on close), deleted, field count, the fields, a terminator.
        let size = LISTPACK_OVERHEAD + listpackIntEntrySize(1) + listpackIntEntrySize(0);
        size += listpackIntEntrySize(master.fields.length);
        for (const f of master.fields) size += listpackEntrySize(f);
        this.size = size + listpackIntEntrySize(0);
      }
      const masterFields = master.fields;
      const sameFields =
        entry.fields.length === masterFields.length &&
        entry.fields.every(([f], i) => f.equals(masterFields[i]!));
      let size = listpackIntEntrySize(sameFields ? 2 : 0);
      size += listpackIntEntrySize(BigInt.asIntN(64, entry.id.ms - master.ms));
      size += listpackIntEntrySize(BigInt.asIntN(64, entry.id.seq - master.seq));
      if (!sameFields) size += listpackIntEntrySize(entry.fields.length);
      for (const [f, v] of entry.fields) {
        if (!sameFields) size += listpackEntrySize(f);
        size += listpackEntrySize(v);
      }
      size += listpackIntEntrySize(3 + entry.fields.length + (sameFields ? 0 : entry.fields.length + 1));
      this.size += size;
      this.count++;
    }
  }

  result(stream: StreamMeta): ValueEstimate {
    let tail = 0;
    if (this.master && this.written) {
      const prealloc = Math.min(STREAM_LISTPACK_PREALLOC, this.maxBytes);
      if (this.finalSize() <= prealloc) {
        tail = jemallocSize(prealloc);
        this.master = null;
      }
    }
    this.closeNode();
    // XDEL only flags an entry as deleted: it stays in its node until the node empties. The file
    // keeps no tombstones, so they are spread evenly over the live entries' nodes.
    const tombstones = deletedInPlace(stream);
    const spread = this.elements > 0 ? (this.elements + tombstones) / this.elements : 1;
    let bytes =
      SIZEOF.robj + SIZEOF.stream + (streamRaxCharge(this.nodeKeys) + this.listpacks) * spread + tail;
    for (const group of stream.groups) {
      bytes += SIZEOF.streamCG;
      bytes += streamRaxCharge(sortedIdKeys(group.pending.map((p) => p.id)));
      bytes += SIZEOF.streamNack * group.pending.length;
      for (const consumer of group.consumers) {
        bytes += SIZEOF.streamConsumer + consumer.name.length;
        bytes += streamRaxCharge(sortedIdKeys(consumer.pending));
      }
    }
    return { encoding: 'stream', bytes, elements: this.elements, largestElement: this.largest };
  }
}

/** Entries XDEL'd between the first and the last entry (0 when all deletions were trims before it). */
function deletedInPlace(s: StreamMeta): number {
  const { entriesAdded, length, firstId, maxDeletedId } = s;
  if (entriesAdded === undefined || length === undefined || !firstId || !maxDeletedId) return 0;
  const before =
    maxDeletedId.ms < firstId.ms || (maxDeletedId.ms === firstId.ms && maxDeletedId.seq < firstId.seq);
  if (before) return 0;
  const deleted = entriesAdded - length;
  return deleted > 0n ? Number(deleted) : 0;
}

class ModuleSizer implements ValueSizer {
  private length = 0;

  add(value: Value): void {
    if (value.type === 'module') this.length += value.raw.length;
  }

  result(): ValueEstimate {
    // Modules report their own usage; the serialized size is the only hint a snapshot carries.
    return { encoding: 'module', bytes: SIZEOF.robj + this.length, elements: 1, largestElement: this.length };
  }
}
