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
import {
  ListpackCursor,
  SpanReader,
  ValueCursor,
  elementCount,
  spanKeyHead,
  spanKeyRecord,
  spanValue,
} from './span.js';
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
   * Neither the reader nor the consumer then holds more than one part of such a key decoded (the
   * reader holds the key's bytes once, as stored, while it hands the parts out). Smaller keys
   * still arrive as ordinary `key` records.
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

/** Types whose elements are stored one by one, so a huge key of them can be read a part at a time. */
const COUNTED = new Set<number>([
  RdbType.LIST,
  RdbType.SET,
  RdbType.ZSET,
  RdbType.ZSET_2,
  RdbType.HASH,
  RdbType.HASH_2,
  RdbType.REDIS_HASH_METADATA,
]);
const NODES = new Set<number>([
  RdbType.LIST_QUICKLIST,
  RdbType.LIST_QUICKLIST_2,
  RdbType.STREAM_LISTPACKS,
  RdbType.STREAM_LISTPACKS_2,
  RdbType.STREAM_LISTPACKS_3,
]);

/**
 * The element count of a (checked) collection stored element by element or in nodes, counted
 * without making the elements (stream entries: the live ones, from each node's master entry).
 */
function elementTotal(span: KeySpan, r: SpanReader, lp: ListpackCursor): number {
  r.atSpan(span);
  if (span.type === RdbType.REDIS_HASH_METADATA) r.millis();
  const n = r.len();
  if (COUNTED.has(span.type)) return n;
  const quicklist = span.type === RdbType.LIST_QUICKLIST || span.type === RdbType.LIST_QUICKLIST_2;
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (!quicklist) r.string(); // the stream node's key
    const container = span.type === RdbType.LIST_QUICKLIST_2 ? r.len() : 2;
    r.string();
    if (container === 1) total++;
    else if (span.type === RdbType.LIST_QUICKLIST)
      total += parseZiplist(r.sbuf.subarray(r.s, r.e), (m) => {
        throw new Error(m);
      }).length;
    else {
      lp.open(r.sbuf, r.s);
      if (quicklist) {
        // The header's count (checked by the walk), unless it is too big to be stored there.
        const declared = ListpackCursor.declared(r.sbuf, r.s);
        if (declared !== 0xffff) total += declared;
        else while (lp.next()) total++;
      } else {
        lp.next();
        total += Math.max(0, elementCount(lp));
      }
    }
  }
  return total;
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

  const part = (key: Buffer, db: number, value: Value, end: number): Promise<void> => {
    records.push({ kind: 'key-part', db, key, value });
    offsets.push(end);
    // A part holds up to a chunk of elements: never keep several.
    return handOff();
  };
  const cursor = new ValueCursor();
  /** A huge collection: read and handed out a part at a time, never whole. */
  const inParts = async (span: KeySpan, c: Cuts, total: number, end: number): Promise<void> => {
    const first = spanKeyHead('key-begin', span) as KeyBeginRecord;
    first.type = TYPE_OF[span.type]!;
    if (COUNTED.has(span.type)) first.elements = total;
    await push(first, end);
    const { key, db } = first;
    cursor.open(span, r, lp);
    let rest: Omit<StreamValue, 'type' | 'entries'> | undefined;
    let size = 0;
    while (!cursor.done) {
      const value = cursor.next(c.elements);
      const n = valueSize(value);
      size += n;
      if (cursor.done && value.type === 'stream') {
        rest = cursor.streamRest();
        // The remainder after the last cut carries the stream's metadata and groups.
        if (n < c.elements) Object.assign(value, rest);
      }
      if (n > 0) await part(key, db, value, end);
    }
    const last: KeyEndRecord = { kind: 'key-end', db, key, size };
    if (rest) last.stream = rest;
    await push(last, end);
  };
  /** A huge string: handed out in pieces of `pieceBytes`. */
  const inPieces = async (span: KeySpan, c: Cuts, v: Buffer, end: number): Promise<void> => {
    const first = spanKeyHead('key-begin', span) as KeyBeginRecord;
    first.type = 'string';
    first.elements = v.length;
    await push(first, end);
    for (let at = 0; at < v.length; at += c.pieceBytes)
      await part(
        first.key,
        first.db,
        { type: 'string', value: v.subarray(at, Math.min(v.length, at + c.pieceBytes)) },
        end,
      );
    await push({ kind: 'key-end', db: first.db, key: first.key, size: v.length }, end);
  };
  /** Each key, synchronously unless its batch is full or it goes in parts (no await per key). */
  const onKey = (span: KeySpan): Promise<void> | undefined => {
    const end = span.base + span.valueEnd;
    if (cuts && (COUNTED.has(span.type) || NODES.has(span.type))) {
      const total = elementTotal(span, r, lp);
      if (total >= cuts.elements) return inParts(span, cuts, total, end);
    }
    const whole = spanKeyRecord(span, r, lp);
    const value = whole.value;
    const first = span.buf[span.valueStart]!;
    // Strings from `bytes` on (plain or LZF; never int-encoded ones) go in pieces of `pieceBytes`.
    if (
      cuts &&
      value.type === 'string' &&
      value.value.length >= cuts.bytes &&
      (first < 0xc0 || first === 0xc3)
    )
      return inPieces(span, cuts, value.value, end);
    return push(whole, end);
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
    ...(options.allowUnknownVersion ? { allowUnknownVersion: true } : {}),
    keepLzf: true,
    onKey,
    exact: {
      ...(options.file !== undefined ? { file: options.file } : {}),
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
