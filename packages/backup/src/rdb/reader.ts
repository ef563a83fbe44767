/**
 * The record reader: RDB records (`readRdb`, `readRdbFile`, `readRdbBatches`, `decodeValue`) from
 * the one decoding core, the window walk of `walk.ts` in its exact mode, each key's value
 * read from the window by `span.ts`. This module only moves bytes in (files, streams, iterables),
 * hands records out in batches, and cuts huge keys into parts (`chunked`).
 */
import { open } from 'node:fs/promises';
import type { KeyRecord, RdbRecord, StreamValue, Value, ValueType } from '../model.js';
import { RdbType, encodingName } from './constants.js';
import {
  type KeySpan,
  type ReadInto,
  type RdbWarning,
  checkValueBytes,
  emptyKeySpan,
  walkRdb,
  readerFromChunks,
} from './walk.js';
import { ListpackCursor, SpanReader, spanStream, spanValue } from './span.js';
import { RdbError } from '../errors.js';
import { parseZiplist } from './containers.js';

/** Anything the readers accept as input bytes. */
export type ByteInput = AsyncIterable<Uint8Array> | NodeJS.ReadableStream | Uint8Array;

/** Delivery of huge keys in parts (see `ReadRdbOptions.chunked`). */
export interface ChunkedOptions {
  /** A collection reaching this many elements is delivered in parts of this many elements. Default 10000. */
  elements?: number;
  /** A plain (not LZF) string of at least this many bytes is delivered in pieces. Default 8 MiB. */
  bytes?: number;
  /** Size of each string piece. Default 1 MiB. */
  pieceBytes?: number;
}

export interface ReadRdbOptions {
  /** Try to read a version newer than this library knows (fails later on an unknown type or opcode). */
  allowUnknownVersion?: boolean;
  /** Verify the CRC-64 trailer (default true). */
  checksum?: boolean;
  /**
   * Opt-in element-by-element delivery for huge keys. With it, a key whose collection reaches
   * `elements` members (or a plain string of `bytes` bytes) is not yielded as one `key` record but
   * as `key-begin`, several `key-part` records (each carrying a partial value of the same shape:
   * a batch of list items / set members / zset entries / hash entries / stream entries, or a
   * piece of the string) and a `key-end` record (for streams it carries the metadata and groups).
   * Consumers then never hold more than one part of such a key (the reader holds the key's bytes
   * once, as stored, while it hands the parts out). Smaller keys still arrive as ordinary `key`
   * records.
   */
  chunked?: ChunkedOptions | boolean;
  /** Largest string accepted (a sanity cap against corrupt lengths). Default 1 GiB. */
  maxStringBytes?: number;
  /** Called for conditions that are not errors: empty keys skipped, Valkey slot-import state skipped, data after the end. */
  onWarning?: (warning: RdbWarning) => void;
  /** Called about every `progressEvery` keys (default 10000) with the bytes read so far (and the total, when known). */
  onProgress?: (progress: RdbReadProgress) => void;
  progressEvery?: number;
  /** Input size in bytes, when known (lets corrupt lengths fail early). Set automatically for Uint8Array and files. */
  totalBytes?: number;
  /** A file name to mention in errors. */
  file?: string;
}

export interface RdbReadProgress {
  keys: number;
  bytes: number;
  totalBytes?: number;
}

export type { RdbWarning, RdbWarningCode } from './walk.js';

/** First record of a key delivered in parts (chunked mode). */
export interface KeyBeginRecord extends Omit<KeyRecord, 'kind' | 'value'> {
  kind: 'key-begin';
  type: ValueType;
  /**
   * Exact number of elements that will follow (bytes for strings), when the encoding states it
   * up front (strings, hashtable sets/hashes, skiplist zsets, linked lists). Lets a writer stream
   * the key without holding it.
   */
  elements?: number;
}
/** A batch of a key's elements (chunked mode); `value` has the key's type and holds only this batch. */
export interface KeyPartRecord {
  kind: 'key-part';
  db: number;
  key: Buffer;
  value: Value;
}
/** Last record of a key delivered in parts. */
export interface KeyEndRecord {
  kind: 'key-end';
  db: number;
  key: Buffer;
  /** Elements delivered in all parts (bytes for strings). */
  size: number;
  /** Streams: everything but the entries (length, ids, groups). */
  stream?: Omit<StreamValue, 'type' | 'entries'>;
}

export type RdbChunkRecord = KeyBeginRecord | KeyPartRecord | KeyEndRecord;

const TYPE_OF: Record<number, ValueType> = {
  0: 'string',
  1: 'list',
  2: 'set',
  3: 'zset',
  4: 'hash',
  5: 'zset',
  7: 'module',
  9: 'hash',
  10: 'list',
  11: 'set',
  12: 'zset',
  13: 'hash',
  14: 'list',
  15: 'stream',
  16: 'hash',
  17: 'zset',
  18: 'list',
  19: 'stream',
  20: 'set',
  21: 'stream',
  22: 'hash',
  23: 'hash',
  24: 'hash',
  25: 'hash',
};

/** Number of elements in a value (for empty detection and chunk sizes); -1 for strings and modules. */
export function valueSize(v: Value): number {
  switch (v.type) {
    case 'list':
      return v.items.length;
    case 'set':
      return v.members.length;
    case 'zset':
    case 'hash':
    case 'stream':
      return v.entries.length;
    default:
      return -1;
  }
}

/** Records decoded from one input window, with the input offset just after each. */
export interface RecordBatch<R = RdbRecord | RdbChunkRecord> {
  records: R[];
  /** offsets[i]: byte offset in the input just after records[i]. */
  offsets: number[];
}

/**
 * A batch ends after this many records or this many bytes of input. Small on purpose: bigger
 * batches keep more records alive across young-generation collections (measured on the 1M-key
 * bench dataset: 64 records / 64 KiB converts ~13% faster than one record at a time, 1024 / 1 MiB
 * is slower than both).
 */
const BATCH_RECORDS = 64;
const BATCH_BYTES = 64 << 10;

/** Thrown into the walk when the consumer stopped reading. */
const STOPPED = new Error('the reader was closed');

/** Where the bytes come from, and how to let go of them. */
interface Source {
  read: ReadInto | Uint8Array;
  total: number | undefined;
  close: () => Promise<void>;
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new RdbError(
    'ERR_RDB_BAD_RECORD',
    `expected binary chunks (Buffer/Uint8Array), got ${typeof chunk}`,
    {
      hint: 'Open the stream without an encoding (no setEncoding / no "utf8" option)',
    },
  );
}

function sourceOf(input: ByteInput, total: number | undefined): Source {
  if (input instanceof Uint8Array)
    return { read: toBuffer(input), total: input.byteLength, close: async () => {} };
  const iterable = input as AsyncIterable<unknown>;
  if (typeof iterable[Symbol.asyncIterator] !== 'function')
    throw new RdbError('ERR_RDB_BAD_RECORD', 'input is neither a Uint8Array nor an async iterable of bytes');
  const it = iterable[Symbol.asyncIterator]();
  const chunks: AsyncIterator<Uint8Array> = {
    next: async () => {
      const r = await it.next();
      return r.done ? { done: true, value: undefined } : { done: false, value: toBuffer(r.value) };
    },
  };
  return {
    read: readerFromChunks(chunks),
    total,
    close: async () => {
      await it.return?.();
    },
  };
}

/** How huge keys are cut (`ReadRdbOptions.chunked`); null when they are not. */
interface Cuts {
  elements: number;
  bytes: number;
  pieceBytes: number;
}

function cutsOf(chunked: ReadRdbOptions['chunked']): Cuts | null {
  const c = chunked === true ? {} : chunked || null;
  if (!c) return null;
  return {
    elements: Math.max(1, c.elements ?? 10_000),
    bytes: Math.max(1, c.bytes ?? 8 << 20),
    pieceBytes: Math.max(1, c.pieceBytes ?? 1 << 20),
  };
}

/** The item count after each node of a (checked) quicklist: where a huge list may be cut. */
function quicklistNodeEnds(span: KeySpan, r: SpanReader, lp: ListpackCursor): number[] {
  r.atSpan(span);
  const v2 = span.type === RdbType.LIST_QUICKLIST_2;
  const nodes = r.len();
  const ends: number[] = [];
  let items = 0;
  for (let i = 0; i < nodes; i++) {
    const container = v2 ? r.len() : 2;
    r.string();
    if (container === 1) items++;
    else if (v2) {
      lp.open(r.sbuf, r.s);
      while (lp.next()) items++;
    } else
      items += parseZiplist(r.sbuf.subarray(r.s, r.e), (m) => {
        throw new Error(m);
      }).length;
    ends.push(items);
  }
  return ends;
}

/**
 * The parts a huge key is delivered in: slices of its value's elements, cut after every
 * `cuts.elements` (at node ends for quicklists and streams, as they are stored), or pieces of a
 * string. Empty when the key is delivered whole.
 */
function partsOf(span: KeySpan, value: Value, cuts: Cuts, r: SpanReader, lp: ListpackCursor): Value[] {
  switch (span.type) {
    case RdbType.STRING: {
      const v = (value as { value: Buffer }).value;
      const first = span.buf[span.valueStart]!;
      // Int-encoded strings are never cut; plain and LZF ones from `bytes` on.
      if (v.length < cuts.bytes || (first >= 0xc0 && first !== 0xc3)) return [];
      const out: Value[] = [];
      for (let at = 0; at < v.length; at += cuts.pieceBytes)
        out.push({ type: 'string', value: v.subarray(at, Math.min(v.length, at + cuts.pieceBytes)) });
      return out;
    }
    case RdbType.LIST:
    case RdbType.SET:
    case RdbType.ZSET:
    case RdbType.ZSET_2:
    case RdbType.HASH:
    case RdbType.HASH_2:
    case RdbType.REDIS_HASH_METADATA: {
      const n = valueSize(value);
      if (n < cuts.elements) return [];
      const ends: number[] = [];
      for (let at = cuts.elements; at < n; at += cuts.elements) ends.push(at);
      ends.push(n);
      return slices(value, ends);
    }
    case RdbType.LIST_QUICKLIST:
    case RdbType.LIST_QUICKLIST_2:
      return cutAt(value, quicklistNodeEnds(span, r, lp), cuts.elements);
    case RdbType.STREAM_LISTPACKS:
    case RdbType.STREAM_LISTPACKS_2:
    case RdbType.STREAM_LISTPACKS_3: {
      const nodeEnds: number[] = [];
      spanStream(span, r, lp, nodeEnds);
      return cutAt(value, nodeEnds, cuts.elements);
    }
    default:
      return [];
  }
}

/** Cuts after the first node end that completes `elements` since the last cut (the rest goes last). */
function cutAt(value: Value, nodeEnds: number[], elements: number): Value[] {
  const ends: number[] = [];
  let from = 0;
  for (const end of nodeEnds) {
    if (end - from >= elements) {
      ends.push(end);
      from = end;
    }
  }
  if (ends.length === 0) return [];
  const n = valueSize(value);
  if (from < n) ends.push(n);
  return slices(value, ends);
}

/** The value's elements cut at `ends` (increasing, the last = all of them). */
function slices(value: Value, ends: number[]): Value[] {
  const out: Value[] = [];
  let from = 0;
  for (const end of ends) {
    switch (value.type) {
      case 'list':
        out.push({ type: 'list', items: value.items.slice(from, end) });
        break;
      case 'set':
        out.push({ type: 'set', members: value.members.slice(from, end) });
        break;
      case 'zset':
        out.push({ type: 'zset', entries: value.entries.slice(from, end) });
        break;
      case 'hash':
        out.push({ type: 'hash', entries: value.entries.slice(from, end) });
        break;
      case 'stream':
        out.push({
          type: 'stream',
          entries: value.entries.slice(from, end),
          length: 0n,
          lastId: { ms: 0n, seq: 0n },
          groups: [],
        });
        break;
      default:
        break;
    }
    from = end;
  }
  return out;
}

/** The element count a huge key's first record announces, when its encoding states it up front. */
function declaredCount(span: KeySpan, value: Value): number | undefined {
  switch (span.type) {
    case RdbType.STRING:
      return (value as { value: Buffer }).value.length;
    case RdbType.LIST:
    case RdbType.SET:
    case RdbType.ZSET:
    case RdbType.ZSET_2:
    case RdbType.HASH:
    case RdbType.HASH_2:
    case RdbType.REDIS_HASH_METADATA:
      return valueSize(value);
    default:
      return undefined;
  }
}

/**
 * The records of an RDB in batches: the exact walk runs ahead of the consumer by one batch. A
 * batch ends after BATCH_RECORDS records or BATCH_BYTES bytes of input, before the walk waits
 * for input, after each part of a huge key, and before a warning (so warnings keep their place
 * between records). Records decoded before an error are delivered before it is thrown. The input
 * is closed when they end or the caller stops early.
 */
async function* recordBatches(
  openSource: () => Source | Promise<Source>,
  options: ReadRdbOptions,
): AsyncGenerator<RecordBatch> {
  const cuts = cutsOf(options.chunked);
  const r = new SpanReader();
  const lp = new ListpackCursor();
  let records: Array<RdbRecord | RdbChunkRecord> = [];
  let offsets: number[] = [];
  let batchStart = 0;
  // The hand-off between the walk and this generator.
  let ready: RecordBatch | null = null;
  const hand: { resumeWalk: ((stop: boolean) => void) | null; wakeConsumer: (() => void) | null } = {
    resumeWalk: null,
    wakeConsumer: null,
  };
  let finished = false;
  let stopped = false;
  let failure: unknown;

  const take = (): RecordBatch => {
    const batch = { records, offsets };
    records = [];
    offsets = [];
    return batch;
  };
  /** Hands the batch to the consumer; resolves when it asks for the next one. */
  const handOff = (): Promise<void> => {
    if (stopped) return Promise.reject(STOPPED);
    ready = take();
    const wait = new Promise<void>((resolve, reject) => {
      hand.resumeWalk = (stop) => (stop ? reject(STOPPED) : resolve());
    });
    hand.wakeConsumer?.();
    return wait;
  };
  const push = (record: RdbRecord | RdbChunkRecord, end: number): Promise<void> | undefined => {
    records.push(record);
    offsets.push(end);
    if (records.length >= BATCH_RECORDS || end - batchStart >= BATCH_BYTES) {
      batchStart = end;
      return handOff();
    }
    return undefined;
  };
  const flush = (): Promise<void> | undefined => (records.length > 0 ? handOff() : undefined);

  const onKey = async (span: KeySpan): Promise<void> => {
    const value = spanValue(span, r, lp);
    if (value === null) throw new Error(`value type ${span.type} has no reader`);
    const end = span.base + span.valueEnd;
    const key = Buffer.from(span.keyBuf.subarray(span.keyStart, span.keyEnd));
    const encoding = encodingName(span.type, span.flavor ?? 'redis', span.version ?? 11) ?? 'unknown';
    const parts = cuts ? partsOf(span, value, cuts, r, lp) : [];
    if (parts.length === 0) {
      const rec = { kind: 'key', db: span.db, key, encoding } as KeyRecord;
      if (span.expiresAt !== undefined) rec.expiresAt = span.expiresAt;
      if (span.lruIdle !== undefined) rec.lruIdle = span.lruIdle;
      if (span.lfuFreq !== undefined) rec.lfuFreq = span.lfuFreq;
      rec.value = value;
      await push(rec, end);
      return;
    }
    const begin: KeyBeginRecord = {
      kind: 'key-begin',
      db: span.db,
      key,
      encoding,
      type: TYPE_OF[span.type]!,
    };
    if (span.expiresAt !== undefined) begin.expiresAt = span.expiresAt;
    if (span.lruIdle !== undefined) begin.lruIdle = span.lruIdle;
    if (span.lfuFreq !== undefined) begin.lfuFreq = span.lfuFreq;
    const declared = declaredCount(span, value);
    if (declared !== undefined) begin.elements = declared;
    await push(begin, end);
    let size = 0;
    for (let i = 0; i < parts.length; i++) {
      let part = parts[i]!;
      size += part.type === 'string' ? part.value.length : valueSize(part);
      // A stream's last part carries its metadata and groups, as the key-end record does.
      if (value.type === 'stream' && i === parts.length - 1 && part.type === 'stream')
        part = { ...value, entries: part.entries };
      records.push({ kind: 'key-part', db: span.db, key, value: part });
      offsets.push(end);
      // A part holds up to a chunk of elements: never keep several.
      await handOff();
    }
    const last: KeyEndRecord = { kind: 'key-end', db: span.db, key, size };
    if (value.type === 'stream') {
      const { type: _t, entries: _e, ...rest } = value as StreamValue;
      last.stream = rest;
    }
    await push(last, end);
  };

  const source = await openSource();
  const read = source.read;
  const walkInput: ReadInto | Uint8Array =
    typeof read === 'function'
      ? async (into, offset, length) => {
          // The window ran dry: the consumer gets what was decoded before the walk waits for input.
          const wait = flush();
          if (wait) await wait;
          if (stopped) throw STOPPED;
          return read(into, offset, length);
        }
      : read;
  const walk = walkRdb(walkInput, source.total, {
    ...(options.checksum === false ? { checksum: false } : {}),
    ...(options.maxStringBytes !== undefined ? { maxStringBytes: options.maxStringBytes } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.progressEvery !== undefined ? { progressEvery: options.progressEvery } : {}),
    keepLzf: true,
    onKey,
    exact: {
      ...(options.file !== undefined ? { file: options.file } : {}),
      ...(options.allowUnknownVersion ? { allowUnknownVersion: true } : {}),
      onWarning: async (warning: RdbWarning) => {
        const wait = flush();
        if (wait) await wait;
        options.onWarning?.(warning);
      },
      onRecord: push,
    },
  }).then(
    () => {
      finished = true;
      hand.wakeConsumer?.();
    },
    (err: unknown) => {
      failure = err;
      finished = true;
      hand.wakeConsumer?.();
    },
  );
  try {
    for (;;) {
      if (ready) {
        const batch = ready;
        ready = null;
        yield batch;
        const go = hand.resumeWalk;
        hand.resumeWalk = null;
        go?.(false);
        continue;
      }
      if (finished) {
        if (records.length > 0) yield take();
        if (failure !== undefined && failure !== STOPPED) throw failure;
        return;
      }
      await new Promise<void>((resolve) => {
        hand.wakeConsumer = resolve;
      });
      hand.wakeConsumer = null;
    }
  } finally {
    if (!finished) {
      stopped = true;
      const go = hand.resumeWalk;
      hand.resumeWalk = null;
      go?.(true);
      await walk;
    }
    await source.close();
  }
}

/** Decodes a serialized value body (as in a DUMP payload) of the given RDB type byte. */
export async function decodeValue(
  body: Uint8Array,
  type: number,
  version: number,
  options: Pick<ReadRdbOptions, 'maxStringBytes'> = {},
): Promise<{ value: Value; encoding: string }> {
  const buf = toBuffer(body);
  const flavor = version >= 80 ? 'valkey' : 'redis';
  const encoding = encodingName(type, flavor, version);
  if (encoding === undefined || type === RdbType.MODULE_PRE_GA)
    throw new RdbError(
      type === RdbType.MODULE_PRE_GA ? 'ERR_RDB_UNSUPPORTED_VALUE' : 'ERR_RDB_UNKNOWN_TYPE',
      `unknown value type ${type} for ${flavor === 'valkey' ? 'VALKEY' : 'REDIS'}${version} payloads`,
      { details: { offset: 0 } },
    );
  const failure = checkValueBytes(buf, type, 0, buf.length, version, options.maxStringBytes);
  // An empty collection decodes (the caller decides about it); anything else is refused.
  if (failure && !(failure.empty && failure.offset === buf.length))
    throw new RdbError(failure.code, failure.reason, {
      details: { offset: failure.offset },
      hint: 'The value is corrupt',
    });
  const span = emptyKeySpan(buf);
  span.type = type;
  span.valueEnd = buf.length;
  span.version = version;
  span.flavor = flavor;
  const value = spanValue(span, new SpanReader(), new ListpackCursor());
  if (value === null) throw new RdbError('ERR_RDB_UNKNOWN_TYPE', `unknown value type ${type}`);
  return { value, encoding };
}

/** A record with the input offset right after it (lets callers measure each key's serialized size). */
export interface RecordWithOffset<R> {
  record: R;
  /** Byte offset in the input just after this record. */
  offset: number;
}

/**
 * Like `readRdb`, but each record comes with the byte offset just after it: the difference
 * between consecutive offsets is a record's size on disk (used by inspect and memory reports).
 * The parts of a huge key all carry the offset after the whole key.
 */
export function readRdbWithOffsets(
  input: ByteInput,
  options?: ReadRdbOptions & { chunked?: undefined | false },
): AsyncGenerator<RecordWithOffset<RdbRecord>>;
export function readRdbWithOffsets(
  input: ByteInput,
  options: ReadRdbOptions,
): AsyncGenerator<RecordWithOffset<RdbRecord | RdbChunkRecord>>;
export async function* readRdbWithOffsets(
  input: ByteInput,
  options: ReadRdbOptions = {},
): AsyncGenerator<RecordWithOffset<RdbRecord | RdbChunkRecord>> {
  for await (const batch of readRdbBatches(input, options)) {
    const { records, offsets } = batch;
    for (let i = 0; i < records.length; i++) yield { record: records[i]!, offset: offsets[i]! };
  }
}

/**
 * Like `readRdb`, but the records come in batches decoded synchronously from the buffered input
 * (no await per record): the fast way to consume a large file. Same records, errors and warnings.
 */
export function readRdbBatches(
  input: ByteInput,
  options?: ReadRdbOptions & { chunked?: undefined | false },
): AsyncGenerator<RecordBatch<RdbRecord>>;
export function readRdbBatches(input: ByteInput, options: ReadRdbOptions): AsyncGenerator<RecordBatch>;
export function readRdbBatches(input: ByteInput, options: ReadRdbOptions = {}): AsyncGenerator<RecordBatch> {
  return recordBatches(() => sourceOf(input, options.totalBytes), options);
}

async function* recordsOf(batches: AsyncGenerator<RecordBatch>): AsyncGenerator<RdbRecord | RdbChunkRecord> {
  for await (const batch of batches) for (const r of batch.records) yield r;
}

/**
 * Reads an RDB file as a stream of records (header, aux, module-aux, function, select-db,
 * resize-db, slot-info, key..., end). Memory stays bounded; break out of the loop to stop early
 * (the input stream is closed). Throws `RdbError` on corrupt input.
 */
export function readRdb(
  input: ByteInput,
  options?: ReadRdbOptions & { chunked?: undefined | false },
): AsyncGenerator<RdbRecord>;
export function readRdb(
  input: ByteInput,
  options: ReadRdbOptions,
): AsyncGenerator<RdbRecord | RdbChunkRecord>;
export function readRdb(
  input: ByteInput,
  options: ReadRdbOptions = {},
): AsyncGenerator<RdbRecord | RdbChunkRecord> {
  return recordsOf(readRdbBatches(input, options));
}

/** `readRdb` over a file (read into the walk's window directly); errors name the file. */
export function readRdbFile(
  path: string,
  options?: ReadRdbOptions & { chunked?: undefined | false },
): AsyncGenerator<RdbRecord>;
export function readRdbFile(
  path: string,
  options: ReadRdbOptions,
): AsyncGenerator<RdbRecord | RdbChunkRecord>;
export function readRdbFile(
  path: string,
  options: ReadRdbOptions = {},
): AsyncGenerator<RdbRecord | RdbChunkRecord> {
  return recordsOf(readRdbFileBatches(path, options));
}

/** `readRdbBatches` over a file. */
export function readRdbFileBatches(path: string, options: ReadRdbOptions = {}): AsyncGenerator<RecordBatch> {
  return recordBatches(
    async () => {
      const fh = await open(path, 'r');
      const size = options.totalBytes ?? (await fh.stat()).size;
      return {
        read: async (into, offset, length) => (await fh.read(into, offset, length, null)).bytesRead,
        total: size,
        close: () => fh.close(),
      };
    },
    { file: path, ...options },
  );
}
