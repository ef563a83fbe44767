import { createReadStream, statSync } from 'node:fs';
import type {
  HashEntry,
  KeyRecord,
  RdbFlavor,
  RdbRecord,
  StreamConsumer,
  StreamEntry,
  StreamGroup,
  StreamId,
  StreamPendingEntry,
  StreamValue,
  Value,
  ValueType,
  ZSetEntry,
} from '../model.js';
import { type ByteInput, ByteSource } from './byte-source.js';
import {
  ENCODING_NAMES,
  KNOWN_REDIS_VERSION,
  ModuleOpcode,
  RdbOpcode,
  RdbType,
  decodeModuleId,
} from './constants.js';
import {
  type PackedValue,
  duplicateIndex,
  packedToBuffer,
  parseIntset,
  parseListpack,
  parseStreamListpack,
  parseZiplist,
  parseZipmap,
  validateStreamNode,
} from './containers.js';
import { asciiScore, listpackScore } from './numbers.js';
import { RDB_HEADER_BYTES, parseRdbHeader } from './header.js';
import { RdbError, type RdbErrorCode } from '../errors.js';
import { LzfFormatError, LzfStreamDecoder, lzfDecompress, lzfLengthsPossible } from './lzf.js';
import { displayBytes } from './text.js';

export type { ByteInput } from './byte-source.js';

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
   * Memory then stays bounded by one batch. Smaller keys still arrive as ordinary `key` records.
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

export type RdbWarningCode = 'empty-key' | 'slot-import-skipped' | 'trailing-data' | 'orphan-pending-entry';

export interface RdbWarning {
  code: RdbWarningCode;
  message: string;
  offset: number;
  db?: number;
  key?: Buffer;
}

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

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const BLOB_TYPES = new Set<number>([9, 10, 11, 12, 13, 16, 17, 20, 23, 25]);
const U64_MAX = (1n << 64n) - 1n;
/** What each compact container is called in messages (the string read before decoding it). */
const BLOB_WHAT: Record<number, string> = {
  9: 'zipmap',
  10: 'list ziplist',
  11: 'intset',
  12: 'zset ziplist',
  13: 'hash ziplist',
  16: 'hash listpack',
  17: 'zset listpack',
  20: 'set listpack',
  23: 'hash listpack',
  25: 'hash listpack',
};
const EMPTY = Buffer.alloc(0);

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

/** A key record, its properties in the same order as the chunked records' (no intermediate object). */
function keyRecord(
  db: number,
  key: Buffer,
  encoding: string,
  expiresAt: number | undefined,
  lruIdle: number | undefined,
  lfuFreq: number | undefined,
  value: Value,
): KeyRecord {
  const r = { kind: 'key', db, key, encoding } as KeyRecord;
  if (expiresAt !== undefined) r.expiresAt = expiresAt;
  if (lruIdle !== undefined) r.lruIdle = lruIdle;
  if (lfuFreq !== undefined) r.lfuFreq = lfuFreq;
  r.value = value;
  return r;
}

class RdbReader {
  readonly src: ByteSource;
  private version = 0;
  private flavor: RdbFlavor = 'redis';
  private db = 0;
  private currentKey: Buffer | undefined;
  /** The key being read, as text for messages (computed only when needed). */
  private get keyText(): string | undefined {
    return this.currentKey === undefined ? undefined : displayBytes(this.currentKey);
  }
  private encoded = false;
  private readonly maxString: number;
  private readonly chunkElements: number;
  private readonly chunkBytes: number;
  private readonly pieceBytes: number;
  private keys = 0;
  /** Element count (bytes for strings) the current value declared up front, if any. */
  private declared: number | undefined;
  private readonly progressEvery: number;

  constructor(
    input: ByteInput,
    private readonly options: ReadRdbOptions,
  ) {
    this.src = new ByteSource(input, {
      ...(options.totalBytes !== undefined ? { total: options.totalBytes } : {}),
      checksum: options.checksum !== false,
    });
    this.maxString = options.maxStringBytes ?? 1 << 30;
    const chunked = options.chunked === true ? {} : options.chunked || null;
    this.chunkElements = chunked ? Math.max(1, chunked.elements ?? 10_000) : Number.POSITIVE_INFINITY;
    this.chunkBytes = chunked ? Math.max(1, chunked.bytes ?? 8 << 20) : Number.POSITIVE_INFINITY;
    this.pieceBytes = chunked ? Math.max(1, chunked.pieceBytes ?? 1 << 20) : 1 << 20;
    this.progressEvery = options.onProgress
      ? Math.max(1, options.progressEvery ?? 10_000)
      : Number.POSITIVE_INFINITY;
  }

  fail(code: RdbErrorCode, message: string, hint?: string, at?: number): never {
    throw new RdbError(code, message, {
      details: {
        offset: at ?? this.src.offset,
        ...(this.keyText !== undefined ? { key: this.keyText } : {}),
        ...(this.options.file !== undefined ? { file: this.options.file } : {}),
      },
      ...(hint ? { hint } : {}),
    });
  }

  private progress(): void {
    const total = this.src.total;
    this.options.onProgress?.({
      keys: this.keys,
      bytes: this.src.offset,
      ...(total !== undefined ? { totalBytes: total } : {}),
    });
  }

  private warn(code: RdbWarningCode, message: string, key?: Buffer): void {
    this.options.onWarning?.({
      code,
      message,
      offset: this.src.offset,
      db: this.db,
      ...(key ? { key } : {}),
    });
  }

  private truncated(n: number, what: string): never {
    this.src.truncated(n, what, this.keyText);
  }

  private async need(n: number, what: string): Promise<void> {
    if (this.src.avail < n) {
      const p = this.src.ensure(n);
      if (p) await p;
      if (this.src.avail < n) this.truncated(n, what);
    }
  }

  // ---- primitives ------------------------------------------------------------------------

  /** Reads a length; sets `this.encoded` when it is a special string encoding instead. */
  private async lenRaw(what: string): Promise<number> {
    const src = this.src;
    if (src.avail < 9) {
      const p = src.ensure(9);
      if (p) await p;
      if (src.avail < 1) this.truncated(1, what);
    }
    const b = src.u8();
    const kind = b >> 6;
    this.encoded = false;
    if (kind === 0) return b & 0x3f;
    if (kind === 1) {
      if (src.avail < 1) this.truncated(1, what);
      return ((b & 0x3f) << 8) | src.u8();
    }
    if (kind === 3) {
      this.encoded = true;
      return b & 0x3f;
    }
    if (b === 0x80) {
      if (src.avail < 4) this.truncated(4, what);
      const v = src.buf.readUInt32BE(src.pos);
      src.pos += 4;
      return v;
    }
    if (b === 0x81) {
      if (src.avail < 8) this.truncated(8, what);
      const v = src.buf.readBigUInt64BE(src.pos);
      src.pos += 8;
      if (v > MAX_SAFE)
        this.fail('ERR_RDB_BAD_LENGTH', `${what}: 64-bit length ${v} is beyond any real value`);
      return Number(v);
    }
    this.fail(
      'ERR_RDB_BAD_LENGTH',
      `${what}: invalid length byte 0x${b.toString(16)}`,
      undefined,
      src.offset - 1,
    );
  }

  /**
   * A length where the server reads one with `rdbLoadLen(rdb, NULL)`: a byte with the "encoded"
   * bits (11xxxxxx) is taken as its low 6 bits, as the server does.
   */
  private async len(what: string): Promise<number> {
    return this.lenRaw(what);
  }

  /** A length read as an unsigned 64-bit bigint (stream ids, counters, module values). */
  private async lenBig(what: string): Promise<bigint> {
    const src = this.src;
    if (src.avail < 9) {
      const p = src.ensure(9);
      if (p) await p;
    }
    if (src.avail >= 1 && src.buf[src.pos] === 0x81) {
      if (src.avail < 9) this.truncated(9, what);
      const v = src.buf.readBigUInt64BE(src.pos + 1);
      src.pos += 9;
      return v;
    }
    return BigInt(await this.len(what));
  }

  /** A count of following items, each at least `minBytes` long: checked against what remains. */
  private async count(what: string, minBytes = 1): Promise<number> {
    const at = this.src.offset;
    const n = await this.len(what);
    const remaining = this.src.remaining;
    if (remaining !== undefined && n * minBytes > remaining) {
      this.fail(
        'ERR_RDB_BAD_LENGTH',
        `${what}: ${n} items cannot fit in the ${remaining} bytes left in the input`,
        'The length is corrupt or the file is truncated',
        at,
      );
    }
    return n;
  }

  private checkStringLength(n: number, what: string, at: number): void {
    if (n > this.maxString) {
      this.fail(
        'ERR_RDB_BAD_LENGTH',
        `${what}: string length ${n} exceeds the ${this.maxString}-byte limit`,
        'If the value is real, raise the maxStringBytes option',
        at,
      );
    }
    const remaining = this.src.remaining;
    if (remaining !== undefined && n > remaining) {
      this.fail(
        'ERR_RDB_BAD_LENGTH',
        `${what}: string length ${n} is larger than the ${remaining} bytes left in the input`,
        'The length is corrupt or the file is truncated',
        at,
      );
    }
  }

  /** Reads a plain or int-encoded string synchronously when it is fully buffered; null (nothing consumed) otherwise. */
  private stringSync(maxLength = this.maxString): Buffer | null {
    const src = this.src;
    const buf = src.buf;
    let p = src.pos;
    const end = buf.length;
    if (p >= end) return null;
    const b = buf[p]!;
    let n: number;
    if (b < 0x40) {
      n = b;
      p += 1;
    } else if (b < 0x80) {
      if (p + 2 > end) return null;
      n = ((b & 0x3f) << 8) | buf[p + 1]!;
      p += 2;
    } else if (b === 0x80) {
      if (p + 5 > end) return null;
      n = buf.readUInt32BE(p + 1);
      p += 5;
    } else if (b === 0xc0) {
      if (p + 2 > end) return null;
      src.pos = p + 2;
      return Buffer.from(String(buf.readInt8(p + 1)));
    } else if (b === 0xc1) {
      if (p + 3 > end) return null;
      src.pos = p + 3;
      return Buffer.from(String(buf.readInt16LE(p + 1)));
    } else if (b === 0xc2) {
      if (p + 5 > end) return null;
      src.pos = p + 5;
      return Buffer.from(String(buf.readInt32LE(p + 1)));
    } else return null;
    if (n > maxLength || p + n > end) return null;
    src.pos = p + n;
    const out = Buffer.allocUnsafe(n);
    buf.copy(out, 0, p, p + n);
    return out;
  }

  private async string(what: string): Promise<Buffer> {
    const at = this.src.offset;
    const n = await this.lenRaw(what);
    return this.stringBody(n, what, at);
  }

  /** The rest of a string whose length byte(s) were read by `lenRaw` (honours `this.encoded`). */
  private async stringBody(n: number, what: string, at: number): Promise<Buffer> {
    const src = this.src;
    if (!this.encoded) {
      this.checkStringLength(n, what, at);
      if (src.avail >= n) return src.take(n);
      return src.bytes(n, what, this.keyText);
    }
    switch (n) {
      case 0: {
        await this.need(1, what);
        const v = src.buf.readInt8(src.pos);
        src.pos += 1;
        return Buffer.from(String(v));
      }
      case 1: {
        await this.need(2, what);
        const v = src.buf.readInt16LE(src.pos);
        src.pos += 2;
        return Buffer.from(String(v));
      }
      case 2: {
        await this.need(4, what);
        const v = src.buf.readInt32LE(src.pos);
        src.pos += 4;
        return Buffer.from(String(v));
      }
      case 3: {
        const clen = await this.len(`${what} (LZF compressed length)`);
        const ulen = await this.len(`${what} (LZF original length)`);
        this.checkStringLength(clen, what, at);
        if (ulen > this.maxString) {
          this.fail(
            'ERR_RDB_BAD_LENGTH',
            `${what}: LZF original length ${ulen} exceeds the ${this.maxString}-byte limit`,
            'If the value is real, raise the maxStringBytes option',
            at,
          );
        }
        if (!lzfLengthsPossible(clen, ulen)) {
          this.fail(
            'ERR_RDB_CORRUPT_LZF',
            `${what}: LZF header claims ${clen} -> ${ulen} bytes, impossible for LZF`,
            undefined,
            at,
          );
        }
        const compressed = await src.bytes(clen, what, this.keyText);
        // The server's lzf_decompress returns 0 = the expected length: any data "decompresses" to "".
        if (ulen === 0) return EMPTY;
        return this.lzf(compressed, ulen, at, what);
      }
      default:
        this.fail('ERR_RDB_BAD_STRING', `${what}: unknown string encoding ${n}`, undefined, at);
    }
  }

  private lzf(compressed: Buffer, ulen: number, at: number, what = 'string value'): Buffer {
    try {
      return lzfDecompress(compressed, ulen);
    } catch (err) {
      if (err instanceof LzfFormatError)
        this.fail('ERR_RDB_CORRUPT_LZF', `${what}: invalid LZF data: ${err.message}`, undefined, at);
      throw err;
    }
  }

  private async millis(what: string): Promise<number> {
    await this.need(8, what);
    const v = this.src.buf.readBigInt64LE(this.src.pos);
    this.src.pos += 8;
    return Number(v);
  }

  private async binaryDouble(what: string): Promise<number> {
    await this.need(8, what);
    const v = this.src.buf.readDoubleLE(this.src.pos);
    this.src.pos += 8;
    return v;
  }

  private async asciiDouble(what: string): Promise<number> {
    await this.need(1, what);
    const n = this.src.u8();
    if (n === 253) return Number.NaN;
    if (n === 254) return Infinity;
    if (n === 255) return -Infinity;
    await this.need(n, what);
    const at = this.src.offset;
    // sscanf("%lg"), as the server reads it: " 1.5", "1e3", "inf" and "2.5abc" are numbers.
    const v = asciiScore(this.src.take(n));
    if (v === undefined) this.fail('ERR_RDB_CORRUPT_VALUE', `${what}: not a number`, undefined, at);
    return v;
  }

  private async rawId(what: string): Promise<StreamId> {
    await this.need(16, what);
    const buf = this.src.buf;
    const id = { ms: buf.readBigUInt64BE(this.src.pos), seq: buf.readBigUInt64BE(this.src.pos + 8) };
    this.src.pos += 16;
    return id;
  }

  private async lenId(what: string): Promise<StreamId> {
    return { ms: await this.lenBig(what), seq: await this.lenBig(what) };
  }

  /** Reads a blob string and decodes the container in it, mapping integrity failures to `code`. */
  private async blob<T>(
    what: string,
    code: RdbErrorCode,
    parse: (b: Buffer, fail: (m: string) => never) => T,
  ): Promise<T> {
    const at = this.src.offset;
    const b = this.stringSync() ?? (await this.string(what));
    return parse(b, (m) =>
      this.fail(code, `${what} integrity check failed: ${m}`, 'The file is corrupt', at),
    );
  }

  // ---- records ---------------------------------------------------------------------------

  async header(): Promise<RdbRecord> {
    await this.src.ensure(RDB_HEADER_BYTES);
    if (this.src.avail < RDB_HEADER_BYTES) {
      this.fail(
        'ERR_RDB_BAD_MAGIC',
        `input is ${this.src.avail} bytes, too short for an RDB header`,
        'Is this an RDB file?',
      );
    }
    const head = this.src.take(RDB_HEADER_BYTES).toString('latin1');
    const parsed = parseRdbHeader(head);
    if (parsed === null) {
      const hint = head.startsWith('*')
        ? 'This looks like RESP text (an AOF or .valkey file), not an RDB'
        : head.startsWith('$')
          ? 'This looks like a replication stream ($<len> / $EOF: framing); strip the framing first'
          : 'An RDB file starts with REDIS0011 or VALKEY080';
      this.fail('ERR_RDB_BAD_MAGIC', `wrong signature ${JSON.stringify(head)}`, hint, 0);
    }
    const { magic, version, known } = parsed;
    if (version < 1)
      this.fail(
        'ERR_RDB_BAD_MAGIC',
        `wrong signature ${JSON.stringify(head)}: the version is not a positive number`,
        undefined,
        0,
      );
    this.version = version;
    this.flavor = parsed.flavor;
    if (!known && !this.options.allowUnknownVersion) {
      this.fail(
        'ERR_RDB_UNSUPPORTED_VERSION',
        `RDB format version ${version} (${head}) is not supported; this reader knows REDIS0001-REDIS00${KNOWN_REDIS_VERSION} and VALKEY080-VALKEY081`,
        'Pass allowUnknownVersion: true to try anyway (reading fails at the first unknown type or opcode)',
        5,
      );
    }
    return { kind: 'header', magic, version, flavor: this.flavor };
  }

  /**
   * The records in batches, each decoded synchronously from the buffered window: a batch ends when
   * the window runs dry (before waiting for input), after BATCH_RECORDS records or BATCH_BYTES
   * bytes of input, after a part of a huge key, and before a warning (so warnings keep their place
   * between records). Records decoded before an error are delivered before it is thrown. The input
   * is closed when they end or the caller stops early.
   */
  async *batches(): AsyncGenerator<RecordBatch> {
    const src = this.src;
    let records: Array<RdbRecord | RdbChunkRecord> = [];
    let offsets: number[] = [];
    let batchStart = 0;
    const take = (): RecordBatch => {
      const batch = { records, offsets };
      records = [];
      offsets = [];
      batchStart = src.offset;
      return batch;
    };
    try {
      records.push(await this.header());
      offsets.push(src.offset);
      let expiresAt: number | undefined;
      let lruIdle: number | undefined;
      let lfuFreq: number | undefined;
      for (;;) {
        if (
          records.length > 0 &&
          (src.avail < 1 || records.length >= BATCH_RECORDS || src.offset - batchStart >= BATCH_BYTES)
        )
          yield take();
        if (src.avail < 1) {
          const p = src.ensure(1);
          if (p) await p;
          if (src.avail < 1) this.truncated(1, 'the next opcode (the file has no EOF marker)');
        }
        const opAt = src.offset;
        const op = src.u8();
        if (op <= 25) {
          const { type, typeName } = this.checkType(op, opAt);
          const key = this.stringSync() ?? (await this.string('key'));
          this.currentKey = key;
          const exp = expiresAt;
          const idle = lruIdle;
          const freq = lfuFreq;
          expiresAt = lruIdle = lfuFreq = undefined;
          const small = type === RdbType.STRING ? this.stringSync(this.chunkBytes - 1) : null;
          if (small !== null || (type === RdbType.STRING && this.chunkBytes === Number.POSITIVE_INFINITY)) {
            // Fast path: most keys are small strings.
            const value = small ?? (await this.string('string value'));
            this.currentKey = undefined;
            records.push(keyRecord(this.db, key, typeName, exp, idle, freq, { type: 'string', value }));
            offsets.push(src.offset);
            if (++this.keys % this.progressEvery === 0) this.progress();
            continue;
          }
          if (BLOB_TYPES.has(type)) {
            // Fast path: compact collections are one small container, never delivered in parts.
            const value = this.blobValueSync(type) ?? (await this.blobValue(type));
            if (valueSize(value) === 0) {
              if (records.length > 0) yield take();
              this.warn(
                'empty-key',
                `skipping empty key ${JSON.stringify(this.keyText)} (the server skips it on load)`,
                key,
              );
            } else {
              records.push(keyRecord(this.db, key, typeName, exp, idle, freq, value));
              offsets.push(src.offset);
            }
            this.currentKey = undefined;
            if (++this.keys % this.progressEvery === 0) this.progress();
            continue;
          }
          const meta: Omit<KeyRecord, 'kind' | 'value'> = { db: this.db, key, encoding: typeName };
          if (exp !== undefined) meta.expiresAt = exp;
          if (idle !== undefined) meta.lruIdle = idle;
          if (freq !== undefined) meta.lfuFreq = freq;
          this.declared = undefined;
          const parts = this.value(type);
          let begun = false;
          let delivered = 0;
          for (;;) {
            const r = await parts.next();
            if (r.done) {
              const final = r.value;
              const size = valueSize(final);
              if (!begun) {
                // Streams stay even when empty (XADD MAXLEN 0); other empty collections are skipped like the server does.
                if (size === 0 && final.type !== 'stream') {
                  if (records.length > 0) yield take();
                  this.warn(
                    'empty-key',
                    `skipping empty key ${JSON.stringify(this.keyText)} (the server skips it on load)`,
                    key,
                  );
                } else {
                  records.push({ kind: 'key', ...meta, value: final } satisfies KeyRecord);
                  offsets.push(src.offset);
                }
              } else {
                const n = final.type === 'string' ? final.value.length : size;
                if (n > 0) {
                  records.push({ kind: 'key-part', db: meta.db, key, value: final } satisfies KeyPartRecord);
                  offsets.push(src.offset);
                }
                delivered += n;
                const end: KeyEndRecord = { kind: 'key-end', db: meta.db, key, size: delivered };
                if (final.type === 'stream') {
                  const { type: _t, entries: _e, ...rest } = final;
                  end.stream = rest;
                }
                records.push(end);
                offsets.push(src.offset);
                yield take();
              }
              break;
            }
            if (!begun) {
              begun = true;
              const begin: KeyBeginRecord = { kind: 'key-begin', ...meta, type: TYPE_OF[type]! };
              if (this.declared !== undefined) begin.elements = this.declared;
              records.push(begin);
              offsets.push(src.offset);
            }
            const part = r.value;
            delivered += part.type === 'string' ? part.value.length : valueSize(part);
            records.push({ kind: 'key-part', db: meta.db, key, value: part } satisfies KeyPartRecord);
            offsets.push(src.offset);
            // A part holds up to a chunk of elements: never keep several.
            yield take();
          }
          this.currentKey = undefined;
          if (++this.keys % this.progressEvery === 0) this.progress();
          continue;
        }
        switch (op) {
          case RdbOpcode.EOF: {
            src.flushConsumed();
            const computed = src.crc?.digest() ?? null;
            let checksum: bigint | null = null;
            if (this.version >= 5) {
              await this.need(8, 'the CRC-64 trailer');
              const stored = src.buf.readBigUInt64LE(src.pos);
              src.pos += 8;
              if (stored !== 0n) {
                checksum = stored;
                if (computed !== null && computed !== stored) {
                  this.fail(
                    'ERR_RDB_CHECKSUM',
                    `CRC-64 mismatch: the file says 0x${stored.toString(16).padStart(16, '0')}, the content hashes to 0x${computed.toString(16).padStart(16, '0')}`,
                    'The file is corrupt; take a fresh snapshot (or read with checksum: false to salvage it)',
                    src.offset - 8,
                  );
                }
              }
            }
            if (this.options.onProgress) this.progress();
            records.push({ kind: 'end', checksum });
            offsets.push(src.offset);
            yield take();
            // Never wait for more input here: a live source (replication) may stay open after the RDB.
            const left = src.total !== undefined ? src.total - src.offset : src.avail;
            if (left > 0) {
              this.warn(
                'trailing-data',
                `${left} byte(s) follow the end of the RDB (e.g. an AOF tail after an RDB preamble)`,
              );
            }
            return;
          }
          case RdbOpcode.SELECTDB:
            this.db = await this.len('SELECTDB database number');
            records.push({ kind: 'select-db', db: this.db });
            offsets.push(src.offset);
            break;
          case RdbOpcode.RESIZEDB: {
            // Only a hint: the server takes any 64-bit value (e.g. 2^62) without allocating it.
            const dbSize = Number(await this.lenBig('RESIZEDB db size'));
            const expiresSize = Number(await this.lenBig('RESIZEDB expires size'));
            records.push({ kind: 'resize-db', dbSize, expiresSize });
            offsets.push(src.offset);
            break;
          }
          case RdbOpcode.AUX: {
            const key = await this.string('AUX field name');
            const value = await this.string('AUX field value');
            records.push({ kind: 'aux', key, value });
            offsets.push(src.offset);
            break;
          }
          case RdbOpcode.EXPIRETIME_MS:
            expiresAt = await this.millis('EXPIRETIME_MS');
            break;
          case RdbOpcode.EXPIRETIME: {
            await this.need(4, 'EXPIRETIME');
            expiresAt = src.buf.readInt32LE(src.pos) * 1000;
            src.pos += 4;
            break;
          }
          case RdbOpcode.IDLE:
            lruIdle = Number(await this.lenBig('IDLE'));
            break;
          case RdbOpcode.FREQ:
            await this.need(1, 'FREQ');
            lfuFreq = src.u8();
            break;
          case RdbOpcode.MODULE_AUX: {
            src.startCapture();
            let moduleId: bigint;
            try {
              moduleId = await this.lenBig('MODULE_AUX module id');
              const whenOp = await this.len('MODULE_AUX when opcode');
              if (whenOp !== ModuleOpcode.UINT)
                this.fail(
                  'ERR_RDB_CORRUPT_MODULE',
                  `MODULE_AUX: expected the UINT "when" opcode, got ${whenOp}`,
                );
              await this.lenBig('MODULE_AUX when');
              await this.moduleOpcodes('MODULE_AUX');
            } catch (err) {
              src.endCapture();
              throw err;
            }
            const raw = src.endCapture();
            const { name } = decodeModuleId(moduleId);
            records.push({ kind: 'module-aux', moduleId, moduleName: name, raw });
            offsets.push(src.offset);
            break;
          }
          case RdbOpcode.FUNCTION2:
            records.push({ kind: 'function', code: await this.string('FUNCTION2 library code') });
            offsets.push(src.offset);
            break;
          case RdbOpcode.FUNCTION_PRE_GA:
            this.fail(
              'ERR_RDB_UNKNOWN_OPCODE',
              'FUNCTION_PRE_GA (0xF6, Redis 7.0 release candidates) is not supported',
              'Load the file into Redis 7.0 GA and save it again',
              opAt,
            );
            break;
          case RdbOpcode.SLOT_INFO:
            if (this.version < 12) this.unknownOpcode(op, opAt);
            {
              const slot = await this.len('SLOT_INFO slot');
              const slotSize = await this.len('SLOT_INFO slot size');
              const expiresSlotSize = await this.len('SLOT_INFO expires size');
              records.push({ kind: 'slot-info', slot, slotSize, expiresSlotSize });
              offsets.push(src.offset);
            }
            break;
          case RdbOpcode.SLOT_IMPORT:
            if (this.flavor !== 'valkey') this.unknownOpcode(op, opAt);
            {
              await this.string('SLOT_IMPORT job name');
              const ranges = await this.count('SLOT_IMPORT range count', 2);
              for (let i = 0; i < ranges; i++) {
                await this.len('SLOT_IMPORT range start');
                await this.len('SLOT_IMPORT range end');
              }
              if (records.length > 0) yield take();
              this.warn(
                'slot-import-skipped',
                `skipped Valkey atomic slot migration state (${ranges} slot range(s))`,
              );
            }
            break;
          default:
            this.unknownOpcode(op, opAt);
        }
      }
    } catch (err) {
      // What was decoded before the failure is delivered first, as record by record.
      if (records.length > 0) yield take();
      throw err;
    } finally {
      await this.close();
    }
  }

  /** The records one by one (from `batches`); the input is closed when they end or the caller stops early. */
  async *records(): AsyncGenerator<RdbRecord | RdbChunkRecord> {
    for await (const batch of this.batches()) for (const r of batch.records) yield r;
  }

  private unknownOpcode(op: number, at: number): never {
    this.fail(
      op < 0xf0 ? 'ERR_RDB_UNKNOWN_TYPE' : 'ERR_RDB_UNKNOWN_OPCODE',
      `unknown opcode or type ${op} (0x${op.toString(16)}) for ${this.flavor === 'valkey' ? 'VALKEY' : 'REDIS'}${this.version} files`,
      'The file is corrupt or comes from a newer server than this reader knows',
      at,
    );
  }

  private checkType(op: number, at: number): { type: number; typeName: string } {
    const redis12 = this.flavor === 'redis' && this.version >= 12;
    const valkey = this.flavor === 'valkey';
    let name = ENCODING_NAMES[op];
    if (op === RdbType.MODULE_PRE_GA) {
      this.fail(
        'ERR_RDB_UNSUPPORTED_VALUE',
        'module value of pre-GA format (type 6) is not supported',
        undefined,
        at,
      );
    }
    if (op === RdbType.HASH_2) name = valkey ? 'hashtable-ttl' : redis12 ? 'hash-metadata-pre-ga' : undefined;
    else if (op === RdbType.TYPE_23) {
      if (valkey)
        this.fail(
          'ERR_RDB_UNKNOWN_TYPE',
          'type 23 (Valkey 9.2 PATH_HASH) is not supported yet',
          undefined,
          at,
        );
      name = redis12 ? 'listpack-ex-pre-ga' : undefined;
    } else if (op === RdbType.REDIS_HASH_METADATA) name = redis12 ? 'hash-metadata' : undefined;
    else if (op === RdbType.REDIS_HASH_LISTPACK_EX) name = redis12 ? 'listpack-ex' : undefined;
    if (name === undefined) {
      this.fail(
        'ERR_RDB_UNKNOWN_TYPE',
        `unknown value type ${op} for ${this.flavor === 'valkey' ? 'VALKEY' : 'REDIS'}${this.version} files`,
        'The file is corrupt or uses a type this reader does not know',
        at,
      );
    }
    return { type: op, typeName: name };
  }

  private async moduleOpcodes(what: string): Promise<void> {
    for (;;) {
      const op = await this.len(`${what} opcode`);
      switch (op) {
        case ModuleOpcode.EOF:
          return;
        case ModuleOpcode.SINT:
        case ModuleOpcode.UINT:
          await this.lenBig(`${what} integer`);
          break;
        case ModuleOpcode.FLOAT:
          await this.need(4, `${what} float`);
          this.src.pos += 4;
          break;
        case ModuleOpcode.DOUBLE:
          await this.need(8, `${what} double`);
          this.src.pos += 8;
          break;
        case ModuleOpcode.STRING: {
          const at = this.src.offset;
          const n = await this.lenRaw(`${what} string`);
          if (!this.encoded && n > 65536) {
            this.checkStringLength(n, `${what} string`, at);
            for await (const _ of this.src.pieces(n, 1 << 20, `${what} string`, this.keyText)) {
              // skipped; the capture keeps the bytes
            }
          } else {
            await this.stringBody(n, `${what} string`, at);
          }
          break;
        }
        default:
        // Carries nothing: valkey-check-rdb (rdbLoadCheckModuleValue) skips unknown opcodes too.
      }
    }
  }

  // ---- values ----------------------------------------------------------------------------

  private async *value(type: number): AsyncGenerator<Value, Value> {
    switch (type) {
      case RdbType.STRING: {
        const at = this.src.offset;
        const n = await this.lenRaw('string value');
        if (!this.encoded && n >= this.chunkBytes) {
          this.checkStringLength(n, 'string value', at);
          this.declared = n;
          for await (const piece of this.src.pieces(n, this.pieceBytes, 'string value', this.keyText)) {
            yield { type: 'string', value: Buffer.from(piece) };
          }
          return { type: 'string', value: EMPTY };
        }
        if (this.encoded && n === 3 && this.chunkBytes !== Number.POSITIVE_INFINITY) {
          // LZF: decompress incrementally when the result is huge.
          const clen = await this.len('string value (LZF compressed length)');
          const ulen = await this.len('string value (LZF original length)');
          this.checkStringLength(clen, 'string value', at);
          if (ulen < this.chunkBytes) {
            const compressed = await this.src.bytes(clen, 'string value', this.keyText);
            return { type: 'string', value: this.lzf(compressed, ulen, at) };
          }
          if (ulen > this.maxString || !lzfLengthsPossible(clen, ulen)) {
            this.fail(
              'ERR_RDB_CORRUPT_LZF',
              `string value: LZF header claims ${clen} -> ${ulen} bytes`,
              undefined,
              at,
            );
          }
          this.declared = ulen;
          const decoder = new LzfStreamDecoder(ulen, this.pieceBytes);
          try {
            for await (const piece of this.src.pieces(clen, 1 << 20, 'string value', this.keyText)) {
              for (const out of decoder.push(piece)) yield { type: 'string', value: out };
            }
            for (const out of decoder.end()) yield { type: 'string', value: out };
          } catch (err) {
            if (err instanceof LzfFormatError)
              this.fail(
                'ERR_RDB_CORRUPT_LZF',
                `string value: invalid LZF data: ${err.message}`,
                undefined,
                at,
              );
            throw err;
          }
          return { type: 'string', value: EMPTY };
        }
        return { type: 'string', value: await this.stringBody(n, 'string value', at) };
      }
      case RdbType.LIST:
      case RdbType.SET: {
        const t = type === RdbType.LIST ? 'list' : 'set';
        const n = await this.count(`${t} length`);
        this.declared = n;
        const seen = t === 'set' && n > 1 ? new Set<string>() : undefined;
        let acc: Buffer[] = [];
        for (let i = 0; i < n; i++) {
          const at = this.src.offset;
          const e = this.stringSync() ?? (await this.string(`${t} element`));
          if (seen) this.seenBefore(seen, e, 'set', 'member', at);
          acc.push(e);
          if (acc.length >= this.chunkElements) {
            yield t === 'list' ? { type: 'list', items: acc } : { type: 'set', members: acc };
            acc = [];
          }
        }
        return t === 'list' ? { type: 'list', items: acc } : { type: 'set', members: acc };
      }
      case RdbType.ZSET:
      case RdbType.ZSET_2: {
        const n = await this.count('zset length', 2);
        this.declared = n;
        const seen = n > 1 ? new Set<string>() : undefined;
        let acc: ZSetEntry[] = [];
        for (let i = 0; i < n; i++) {
          const at = this.src.offset;
          const member = this.stringSync() ?? (await this.string('zset member'));
          if (seen) this.seenBefore(seen, member, 'zset', 'member', at);
          const score =
            type === RdbType.ZSET
              ? await this.asciiDouble('zset score')
              : await this.binaryDouble('zset score');
          if (Number.isNaN(score)) this.fail('ERR_RDB_CORRUPT_VALUE', 'zset score is NaN');
          acc.push({ member, score });
          if (acc.length >= this.chunkElements) {
            yield { type: 'zset', entries: acc };
            acc = [];
          }
        }
        return { type: 'zset', entries: acc };
      }
      case RdbType.HASH:
      case RdbType.HASH_2:
      case RdbType.REDIS_HASH_METADATA: {
        const valkey2 = type === RdbType.HASH_2 && this.flavor === 'valkey';
        const redisPreGa = type === RdbType.HASH_2 && !valkey2;
        const minExpire = type === RdbType.REDIS_HASH_METADATA ? await this.millis('hash min expire') : 0;
        const n = await this.count('hash length', 2);
        this.declared = n;
        const seen = n > 1 ? new Set<string>() : undefined;
        let acc: HashEntry[] = [];
        for (let i = 0; i < n; i++) {
          let expiresAt: number | undefined;
          if (redisPreGa || type === RdbType.REDIS_HASH_METADATA) {
            const ttl = await this.lenBig('hash field ttl');
            if (ttl !== 0n) expiresAt = Number(redisPreGa ? ttl : ttl + BigInt(minExpire) - 1n);
          }
          const at = this.src.offset;
          const field = this.stringSync() ?? (await this.string('hash field'));
          if (seen) this.seenBefore(seen, field, 'hash', 'field', at);
          const value = this.stringSync() ?? (await this.string('hash value'));
          if (valkey2) {
            const ms = await this.millis('hash field expiry');
            if (ms < -1) this.fail('ERR_RDB_CORRUPT_VALUE', `hash field expiry ${ms} is invalid`);
            if (ms !== -1) expiresAt = ms;
          }
          acc.push(expiresAt === undefined ? { field, value } : { field, value, expiresAt });
          if (acc.length >= this.chunkElements) {
            yield { type: 'hash', entries: acc };
            acc = [];
          }
        }
        return { type: 'hash', entries: acc };
      }
      case RdbType.MODULE_2: {
        this.src.startCapture();
        let moduleId: bigint;
        try {
          moduleId = await this.lenBig('module id');
          await this.moduleOpcodes('module value');
        } catch (err) {
          this.src.endCapture();
          throw err;
        }
        const raw = this.src.endCapture();
        const { name, encodingVersion } = decodeModuleId(moduleId);
        return { type: 'module', moduleId, moduleName: name, encodingVersion, raw };
      }
      case RdbType.HASH_ZIPMAP:
      case RdbType.LIST_ZIPLIST:
      case RdbType.SET_INTSET:
      case RdbType.SET_LISTPACK:
      case RdbType.ZSET_ZIPLIST:
      case RdbType.ZSET_LISTPACK:
      case RdbType.HASH_ZIPLIST:
      case RdbType.HASH_LISTPACK:
      case RdbType.TYPE_23:
      case RdbType.REDIS_HASH_LISTPACK_EX:
        return this.blobValue(type);
      case RdbType.LIST_QUICKLIST:
      case RdbType.LIST_QUICKLIST_2: {
        const v2 = type === RdbType.LIST_QUICKLIST_2;
        const nodes = await this.count('quicklist node count', v2 ? 2 : 1);
        let acc: Buffer[] = [];
        for (let i = 0; i < nodes; i++) {
          let container = 2;
          if (v2) {
            container = await this.len('quicklist node container');
            if (container !== 1 && container !== 2) {
              this.fail(
                'ERR_RDB_CORRUPT_VALUE',
                `quicklist node container ${container} is neither PLAIN (1) nor PACKED (2)`,
              );
            }
          }
          if (container === 1) {
            const at = this.src.offset;
            const item = await this.string('quicklist plain node');
            if (item.length === 0)
              this.fail('ERR_RDB_CORRUPT_VALUE', 'quicklist plain node is empty', 'The file is corrupt', at);
            acc.push(item);
          } else {
            const vals = v2
              ? await this.blob('quicklist listpack node', 'ERR_RDB_CORRUPT_LISTPACK', parseListpack)
              : await this.blob('quicklist ziplist node', 'ERR_RDB_CORRUPT_ZIPLIST', parseZiplist);
            for (const v of vals) acc.push(packedToBuffer(v));
          }
          if (acc.length >= this.chunkElements) {
            yield { type: 'list', items: acc };
            acc = [];
          }
        }
        return { type: 'list', items: acc };
      }
      case RdbType.STREAM_LISTPACKS:
      case RdbType.STREAM_LISTPACKS_2:
      case RdbType.STREAM_LISTPACKS_3:
        return yield* this.stream(type);
      default:
        this.fail('ERR_RDB_UNKNOWN_TYPE', `unknown value type ${type}`);
    }
  }

  /** Values stored as one compact container (never chunked: the server keeps them small). */
  private async blobValue(type: number): Promise<Value> {
    if (type === RdbType.REDIS_HASH_LISTPACK_EX) await this.millis('hash min expire');
    const at = this.src.offset;
    const b = this.stringSync() ?? (await this.string(BLOB_WHAT[type] ?? 'container'));
    return this.decodeBlob(type, b, at);
  }

  /**
   * The blob value when its string is already buffered (no await: most keys of real datasets);
   * null, with nothing consumed, otherwise.
   */
  private blobValueSync(type: number): Value | null {
    if (type === RdbType.REDIS_HASH_LISTPACK_EX) return null;
    const at = this.src.offset;
    const b = this.stringSync();
    return b === null ? null : this.decodeBlob(type, b, at);
  }

  /** Decodes a container blob read at `at`, mapping integrity failures to the container's error code. */
  private parseBlob<T>(
    b: Buffer,
    at: number,
    what: string,
    code: RdbErrorCode,
    parse: (b: Buffer, fail: (m: string) => never) => T,
  ): T {
    return parse(b, (m) =>
      this.fail(code, `${what} integrity check failed: ${m}`, 'The file is corrupt', at),
    );
  }

  /**
   * Fails like the server's deep sanitization when an element among every `step`-th one repeats
   * ("Duplicate set members", "Hash with dup elements", "Duplicate zset fields").
   */
  private noDuplicates(
    vals: readonly PackedValue[],
    step: 1 | 2,
    what: string,
    element: string,
    at: number,
  ): void {
    const i = duplicateIndex(vals, step);
    if (i < 0) return;
    this.fail(
      'ERR_RDB_DUPLICATE',
      `${what} holds ${element} ${JSON.stringify(displayBytes(packedToBuffer(vals[i]!)))} twice (element ${i})`,
      'The server refuses such a value (sanitize-dump-payload yes); the file is corrupt',
      at,
    );
  }

  /** Fails when `element` was already seen in this value (plain-encoded sets, hashes, zsets). */
  private seenBefore(seen: Set<string>, element: Buffer, what: string, kind: string, at: number): void {
    const k = element.toString('latin1');
    if (seen.has(k)) {
      this.fail(
        'ERR_RDB_DUPLICATE',
        `${what} holds ${kind} ${JSON.stringify(displayBytes(element))} twice`,
        'The server refuses such a value (sanitize-dump-payload yes); the file is corrupt',
        at,
      );
    }
    seen.add(k);
  }

  private decodeBlob(type: number, b: Buffer, at: number): Value {
    switch (type) {
      case RdbType.HASH_ZIPMAP: {
        const pairs = this.parseBlob(b, at, 'zipmap', 'ERR_RDB_CORRUPT_ZIPMAP', parseZipmap);
        this.noDuplicates(
          pairs.map((e) => e[0]),
          1,
          'zipmap',
          'field',
          at,
        );
        return { type: 'hash', entries: pairs.map(([field, value]) => ({ field, value })) };
      }
      case RdbType.LIST_ZIPLIST: {
        const vals = this.parseBlob(b, at, 'list ziplist', 'ERR_RDB_CORRUPT_ZIPLIST', parseZiplist);
        return { type: 'list', items: vals.map(packedToBuffer) };
      }
      case RdbType.SET_INTSET:
        return {
          type: 'set',
          members: this.parseBlob(b, at, 'intset', 'ERR_RDB_CORRUPT_INTSET', (blob, fail) =>
            parseIntset(blob, fail, (m) =>
              this.fail(
                'ERR_RDB_DUPLICATE',
                m,
                'The server refuses such a value (sanitize-dump-payload yes); the file is corrupt',
                at,
              ),
            ),
          ),
        };
      case RdbType.SET_LISTPACK: {
        const vals = this.parseBlob(b, at, 'set listpack', 'ERR_RDB_CORRUPT_LISTPACK', parseListpack);
        this.noDuplicates(vals, 1, 'set listpack', 'member', at);
        return { type: 'set', members: vals.map(packedToBuffer) };
      }
      case RdbType.ZSET_ZIPLIST:
      case RdbType.ZSET_LISTPACK: {
        const zip = type === RdbType.ZSET_ZIPLIST;
        const what = zip ? 'zset ziplist' : 'zset listpack';
        const code = zip ? 'ERR_RDB_CORRUPT_ZIPLIST' : 'ERR_RDB_CORRUPT_LISTPACK';
        const vals = this.parseBlob(b, at, what, code, zip ? parseZiplist : parseListpack);
        if (vals.length % 2)
          this.fail(code, `${what} has an odd number of elements (${vals.length})`, undefined, at);
        this.noDuplicates(vals, 2, what, 'member', at);
        const entries: ZSetEntry[] = [];
        for (let i = 0; i < vals.length; i += 2) {
          const s = vals[i + 1]!;
          // The server reads a text score with strtod (zzlStrtod): "abc" is 0, "-0" stays -0.
          const score = typeof s === 'object' ? listpackScore(s) : Number(s);
          // The server would keep it, but no sorted set can hold NaN (ZADD refuses it, and the
          // skiplist conversion asserts): refused.
          if (Number.isNaN(score))
            this.fail(code, `${what} score of element ${i / 2} is NaN`, 'The file is corrupt', at);
          entries.push({ member: packedToBuffer(vals[i]!), score });
        }
        return { type: 'zset', entries };
      }
      case RdbType.HASH_ZIPLIST:
      case RdbType.HASH_LISTPACK:
      case RdbType.TYPE_23:
      case RdbType.REDIS_HASH_LISTPACK_EX: {
        const zip = type === RdbType.HASH_ZIPLIST;
        const triplets = type === RdbType.TYPE_23 || type === RdbType.REDIS_HASH_LISTPACK_EX;
        const what = zip ? 'hash ziplist' : 'hash listpack';
        const code = zip ? 'ERR_RDB_CORRUPT_ZIPLIST' : 'ERR_RDB_CORRUPT_LISTPACK';
        const vals = this.parseBlob(b, at, what, code, zip ? parseZiplist : parseListpack);
        const step = triplets ? 3 : 2;
        if (vals.length % step)
          this.fail(code, `${what} element count ${vals.length} is not a multiple of ${step}`, undefined, at);
        this.noDuplicates(
          triplets ? vals.filter((_, i) => i % 3 === 0) : vals,
          triplets ? 1 : 2,
          what,
          'field',
          at,
        );
        const entries: HashEntry[] = [];
        for (let i = 0; i < vals.length; i += step) {
          const field = packedToBuffer(vals[i]!);
          const value = packedToBuffer(vals[i + 1]!);
          if (triplets) {
            const ttl = vals[i + 2]!;
            const ms = typeof ttl === 'object' ? Number(ttl.toString('latin1')) : Number(ttl);
            if (!Number.isFinite(ms)) this.fail(code, `${what} field ttl is not a number`);
            entries.push(ms === 0 ? { field, value } : { field, value, expiresAt: ms });
          } else entries.push({ field, value });
        }
        return { type: 'hash', entries };
      }
      default:
        this.fail('ERR_RDB_UNKNOWN_TYPE', `unknown value type ${type}`);
    }
  }

  private async *stream(type: number): AsyncGenerator<Value, Value> {
    const v2 = type >= RdbType.STREAM_LISTPACKS_2;
    const v3 = type >= RdbType.STREAM_LISTPACKS_3;
    const nodes = await this.count('stream listpack node count', 2);
    let acc: StreamEntry[] = [];
    const nodeKeys = new Set<string>();
    for (let i = 0; i < nodes; i++) {
      const keyAt = this.src.offset;
      const nodeKey = await this.string('stream node key');
      if (nodeKey.length !== 16)
        this.fail(
          'ERR_RDB_CORRUPT_STREAM',
          `stream node key is ${nodeKey.length} bytes, expected 16`,
          undefined,
          keyAt,
        );
      const master = { ms: nodeKey.readBigUInt64BE(0), seq: nodeKey.readBigUInt64BE(8) };
      const lpAt = this.src.offset;
      const vals = await this.blob('stream listpack', 'ERR_RDB_CORRUPT_LISTPACK', parseStreamListpack);
      if (vals.length === 0)
        this.fail('ERR_RDB_CORRUPT_STREAM', 'stream node has an empty listpack', undefined, lpAt);
      this.decodeStreamNode(master, vals, acc, lpAt);
      const nk = nodeKey.toString('latin1');
      if (nodeKeys.has(nk))
        this.fail(
          'ERR_RDB_CORRUPT_STREAM',
          `stream node ${master.ms}-${master.seq} appears twice`,
          undefined,
          keyAt,
        );
      nodeKeys.add(nk);
      if (acc.length >= this.chunkElements) {
        yield { type: 'stream', entries: acc, length: 0n, lastId: { ms: 0n, seq: 0n }, groups: [] };
        acc = [];
      }
    }
    const length = await this.lenBig('stream length');
    const lastId = await this.lenId('stream last id');
    const value: StreamValue = { type: 'stream', entries: acc, length, lastId, groups: [] };
    if (v2) {
      value.firstId = await this.lenId('stream first id');
      value.maxDeletedId = await this.lenId('stream max deleted id');
      value.entriesAdded = await this.lenBig('stream entries added');
    }
    if (length !== 0n && nodes === 0)
      this.fail('ERR_RDB_CORRUPT_STREAM', `stream length is ${length} but it has no nodes`);
    const groupCount = await this.count('stream consumer group count', 3);
    const groupNames = new Set<string>();
    for (let g = 0; g < groupCount; g++) {
      const nameAt = this.src.offset;
      const name = await this.string('consumer group name');
      if (groupNames.has(name.toString('latin1')))
        this.fail(
          'ERR_RDB_CORRUPT_STREAM',
          `consumer group ${displayBytes(name)} appears twice`,
          undefined,
          nameAt,
        );
      groupNames.add(name.toString('latin1'));
      const groupLast = await this.lenId('consumer group last id');
      const group: StreamGroup = { name, lastId: groupLast, pending: [], consumers: [] };
      if (v2) {
        const read = await this.lenBig('consumer group entries read');
        if (read !== U64_MAX) group.entriesRead = read;
      }
      const pelSize = await this.count('consumer group PEL size', 25);
      const byId = new Map<string, StreamPendingEntry>();
      for (let p = 0; p < pelSize; p++) {
        const idAt = this.src.offset;
        const id = await this.rawId('PEL entry id');
        const deliveryTime = await this.millis('PEL delivery time');
        const deliveryCount = Number(await this.lenBig('PEL delivery count'));
        const entry: StreamPendingEntry = { id, deliveryTime, deliveryCount, consumer: EMPTY };
        if (byId.has(`${id.ms}-${id.seq}`))
          this.fail(
            'ERR_RDB_CORRUPT_STREAM',
            `pending id ${id.ms}-${id.seq} appears twice in the PEL of group ${displayBytes(name)}`,
            undefined,
            idAt,
          );
        byId.set(`${id.ms}-${id.seq}`, entry);
        group.pending.push(entry);
      }
      const consumerCount = await this.count('consumer count', 10);
      const consumerNames = new Set<string>();
      for (let c = 0; c < consumerCount; c++) {
        const cnameAt = this.src.offset;
        const cname = await this.string('consumer name');
        if (consumerNames.has(cname.toString('latin1')))
          this.fail(
            'ERR_RDB_CORRUPT_STREAM',
            `consumer ${displayBytes(cname)} appears twice in group ${displayBytes(name)}`,
            undefined,
            cnameAt,
          );
        consumerNames.add(cname.toString('latin1'));
        const owned = new Set<string>();
        const seenTime = await this.millis('consumer seen time');
        const consumer: StreamConsumer = { name: cname, seenTime, pending: [] };
        if (v3) consumer.activeTime = await this.millis('consumer active time');
        const cpel = await this.count('consumer PEL size', 16);
        for (let p = 0; p < cpel; p++) {
          const at = this.src.offset;
          const id = await this.rawId('consumer PEL id');
          const owner = byId.get(`${id.ms}-${id.seq}`);
          if (owned.has(`${id.ms}-${id.seq}`))
            this.fail(
              'ERR_RDB_CORRUPT_STREAM',
              `consumer ${displayBytes(cname)} lists pending id ${id.ms}-${id.seq} twice`,
              undefined,
              at,
            );
          owned.add(`${id.ms}-${id.seq}`);
          if (!owner) {
            this.fail(
              'ERR_RDB_CORRUPT_STREAM',
              `consumer ${displayBytes(cname)} owns pending id ${id.ms}-${id.seq} that is not in the group PEL`,
              undefined,
              at,
            );
          }
          owner.consumer = cname;
          consumer.pending.push(id);
        }
        group.consumers.push(consumer);
      }
      for (const pe of group.pending) {
        // The server's deep sanitization refuses it ("Stream CG PEL entry without consumer").
        if (pe.consumer === EMPTY) {
          this.fail(
            'ERR_RDB_CORRUPT_STREAM',
            `pending entry ${pe.id.ms}-${pe.id.seq} of group ${displayBytes(name)} has no consumer`,
            'The server refuses such a stream (sanitize-dump-payload yes); the file is corrupt',
          );
        }
      }
      value.groups.push(group);
    }
    return value;
  }

  private decodeStreamNode(master: StreamId, vals: PackedValue[], out: StreamEntry[], at: number): void {
    const fail = (m: string): never =>
      this.fail('ERR_RDB_CORRUPT_STREAM', `stream listpack: ${m}`, 'The file is corrupt', at);
    validateStreamNode(vals, fail, (e) => {
      if (e.flags & 1n) return;
      out.push({
        id: { ms: master.ms + e.msDiff, seq: master.seq + e.seqDiff },
        fields: e.fields.map(([f, v]) => [packedToBuffer(f), packedToBuffer(v)]),
      });
    });
  }

  /** Decodes one value body of `type` (DUMP payloads); the whole input must be consumed. */
  async valueOnly(type: number, version: number): Promise<{ value: Value; encoding: string }> {
    this.version = version;
    this.flavor = version >= 80 ? 'valkey' : 'redis';
    const { typeName } = this.checkType(type, 0);
    const gen = this.value(type);
    let r = await gen.next();
    while (!r.done) r = await gen.next();
    if (this.src.avail > 0) {
      this.fail('ERR_RDB_BAD_PAYLOAD', `${this.src.avail} unexpected byte(s) after the value`);
    }
    return { value: r.value, encoding: typeName };
  }

  async close(): Promise<void> {
    await this.src.close();
  }
}

/** Decodes a serialized value body (as in a DUMP payload) of the given RDB type byte. */
export async function decodeValue(
  body: Uint8Array,
  type: number,
  version: number,
  options: Pick<ReadRdbOptions, 'maxStringBytes'> = {},
): Promise<{ value: Value; encoding: string }> {
  const reader = new RdbReader(body, { ...options, checksum: false });
  return reader.valueOnly(type, version);
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
  for await (const batch of new RdbReader(input, options).batches()) {
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
  return new RdbReader(input, options).batches();
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
  return new RdbReader(input, options).records();
}

/** `readRdb` over a file (streamed, 1 MiB at a time); errors name the file. */
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
  let size: number | undefined;
  try {
    size = statSync(path).size;
  } catch {
    // The stream itself reports the error (ENOENT, EACCES...) on the first read.
  }
  return readRdb(createReadStream(path, { highWaterMark: 1 << 20 }), {
    file: path,
    ...(size !== undefined ? { totalBytes: size } : {}),
    ...options,
  });
}
