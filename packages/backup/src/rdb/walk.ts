/**
 * The RDB decoding core: a synchronous walk over a window of the input that checks everything the
 * server's deep sanitization checks (lengths, string encodings, LZF, every container's integrity,
 * stream structure, scores, the CRC-64 trailer), finds where each record and value is, and awaits
 * only at the I/O edge (the next input read, a caller's callback). Values are read from the
 * window by `span.ts`; nothing else in the package parses the RDB format.
 *
 * Two modes. Fast (the default) only ever says "valid" (with the counts) or gives up: anything
 * unusual — corrupt or truncated data, a condition that yields a warning, module values, rare
 * opcodes, a record larger than the window cap — returns null, and the caller starts again in
 * exact mode. Exact (`exact`, the record reader `reader.ts`) reads everything the file's magic
 * allows, throws a typed `RdbError` saying what, where and in which key, and skips with a warning
 * what the server skips. The same walk does both, so they cannot disagree.
 */
import {
  backlenSize,
  checkStreamListpack,
  decodeBacklen,
  duplicateIndex,
  parseListpack,
  parseStreamListpack,
  parseZiplist,
  parseZipmap,
  validateStreamNode,
} from './containers.js';
import { RdbError, type RdbErrorCode } from '../errors.js';
import type { RdbRecord } from '../model.js';
import { displayBytes } from './text.js';
import { asciiScore, listpackScore, string2ll } from './numbers.js';
import { ListpackCursor } from './span.js';
import { RDB_HEADER_BYTES, type RdbHeader, parseRdbHeader } from './header.js';
import { Crc64 } from './crc64.js';
import {
  KNOWN_REDIS_VERSION,
  ModuleOpcode,
  RdbOpcode,
  RdbType,
  decodeModuleId,
  encodingName,
} from './constants.js';
import { ByteSet } from './byte-set.js';
import { LzfMemo, lzfCheck, lzfDecompressInto, lzfLengthsPossible } from './lzf.js';

/** Thrown to abandon the fast path (the caller re-reads with the full reader). */
class GiveUp extends Error {}
const GIVE_UP = new GiveUp('fast verify gave up');
/** Thrown when the current record needs bytes beyond the window. */
class NeedMore extends Error {}
const NEED_MORE = new NeedMore('need more input');

/**
 * Why the walk last gave up (for `checkDumpPayload`, which has no reader to fall back on). Set only
 * when giving up, so the common path pays nothing.
 */
export const lastGiveUp: { reason: string; code: RdbErrorCode } = {
  reason: '',
  code: 'ERR_RDB_BAD_PAYLOAD',
};

const giveUp = (reason = 'the value is malformed', code: RdbErrorCode = 'ERR_RDB_BAD_PAYLOAD'): never => {
  lastGiveUp.reason = reason;
  lastGiveUp.code = code;
  throw GIVE_UP;
};

export interface WalkResult {
  magic: 'REDIS' | 'VALKEY';
  version: number;
  keys: number;
  bytes: number;
  checksum: 'ok' | 'disabled' | 'absent' | 'unchecked';
  /** Function libraries (FUNCTION2 records) seen. */
  functions: number;
  /** The dbs that hold keys (SELECTDB followed by a key; db 0 when keys come before any SELECTDB). */
  dbs: number[];
  /** The checksum the file stores, when the walk did not check it (`checksum: 'unchecked'`). */
  trailer?: Buffer;
  /**
   * With `resume` or `stopAt` (and the checksum on): the CRC-64 of the bytes this walk covered
   * (from its start to where it stopped, or to the trailer), for `crc64Combine`.
   */
  partialCrc?: bigint;
  /** Set when the walk stopped at `stopAt` (a record start) instead of the end of the file. */
  stopped?: true;
}

/**
 * A key as the walk meets it, its value still in RDB encoding (the way a `DUMP` payload carries
 * it). One object is reused for every key: its fields are valid only during the `onKey` call (and
 * until the promise it returns settles), and the buffers are views of the input window.
 */
export interface KeySpan {
  db: number;
  /** The RDB value type byte. */
  type: number;
  /** The key: `keyBuf[keyStart, keyEnd)` (the window, or decoded bytes for an encoded key). */
  keyBuf: Buffer;
  keyStart: number;
  keyEnd: number;
  /** The value in RDB encoding: `buf[valueStart, valueEnd)`. */
  buf: Buffer;
  /** Where `buf[0]` is in the input (so `base + valueEnd` is where the record ends). */
  base: number;
  /** Where the whole record starts in the input (its first opcode), even when no longer in `buf`. */
  recordOffset: number;
  valueStart: number;
  valueEnd: number;
  /** Absolute expiry in ms. */
  expiresAt: number | undefined;
  lruIdle: number | undefined;
  lfuFreq: number | undefined;
  /** The file's RDB version and flavor (from its header; set by the walk). */
  version?: number;
  flavor?: 'redis' | 'valkey';
  /** The value's LZF strings, decompressed (with `keepLzf`). */
  lzf?: LzfMemo;
}

/** A span to fill in (one object serves every key of a walk). */
export function emptyKeySpan(buf: Buffer): KeySpan {
  return {
    db: 0,
    type: 0,
    keyBuf: buf,
    keyStart: 0,
    keyEnd: 0,
    buf,
    base: 0,
    recordOffset: 0,
    valueStart: 0,
    valueEnd: 0,
    expiresAt: undefined,
    lruIdle: undefined,
    lfuFreq: undefined,
  };
}

export interface WalkOptions {
  checksum?: boolean;
  allowUnknownVersion?: boolean;
  maxStringBytes?: number;
  onProgress?: (progress: { keys: number; bytes: number; totalBytes?: number }) => void;
  progressEvery?: number;
  /** Largest single record held in memory before giving up (default 64 MiB). */
  maxRecordBytes?: number;
  /**
   * The CRC-64 of the input up to the trailer, computed elsewhere (a worker thread): compared with
   * the trailer instead of hashing here; null makes the walk give up.
   */
  externalCrc?: Promise<Buffer | null>;
  /**
   * Called for every key with its raw value (for RESTORE payloads built without decoding); a
   * returned promise is awaited before the walk goes on (the span stays valid until then).
   */
  onKey?: (key: KeySpan) => void | Promise<void>;
  /** Called with the file's header before anything else. */
  onHeader?: (header: RdbHeader) => void;
  /** Called for every AUX field (copies). */
  onAux?: (key: Buffer, value: Buffer) => void;
  /** Called for every RESIZEDB hint, with the db selected then. */
  onResizeDb?: (db: number, dbSize: number, expiresSize: number) => void;
  /** Called for every function library with its code (a view, valid like `onKey`'s span). */
  onFunction?: (code: Buffer) => void | Promise<void>;
  /**
   * Keep the LZF strings the walk decompresses (it must, to check them) for `onKey`: the span's
   * `lzf` (read by `SpanReader`), so they are not decompressed twice. `containers`: only those
   * of listpacks, ziplists and quicklist nodes (the walk decompresses them anyway); LZF string
   * values are then checked without being decompressed (for consumers that only measure them).
   */
  keepLzf?: boolean | 'containers';
  /**
   * Start in the middle of a file: `input` is read from `offset` (a record start another walk
   * found), with the header and the selected db as they were there. The stored checksum is not
   * compared (this walk sees only part of the file): the result carries the `trailer` and the
   * `partialCrc` of the bytes walked.
   */
  resume?: { offset: number; header: RdbHeader; db: number };
  /**
   * Stop at a record start: `at()` is read before every record (undefined: not known yet); the
   * walk returns (`stopped`) when it gets there. When it passes it instead (not a record start
   * after all), `onMissed` is called and the walk goes on to the end.
   */
  stopAt?: () => number | undefined;
  onMissed?: () => void;
  /**
   * Only find where each value ends, without checking it (no LZF, container or score checks):
   * for a second pass over input a first pass verified.
   */
  shallow?: boolean;
  /**
   * Exact mode (the record reader's): a failure throws a typed `RdbError` (code, message, byte
   * offset, key, file, hint) instead of giving up; every type and opcode the file's magic and
   * version allow is read; empty collections, Valkey slot-import state and data after the end
   * are skipped with a warning; a record may be of any size (the window grows to hold it); the
   * window is never reused, so views of it handed out stay valid.
   */
  exact?: {
    file?: string;
    onWarning?: (warning: RdbWarning) => void | Promise<void>;
    /**
     * Every record but keys (header, aux, module-aux, function, select-db, resize-db, slot-info,
     * end), with the input offset just after it.
     */
    onRecord?: (record: RdbRecord, end: number) => void | Promise<void>;
  };
}

export type RdbWarningCode = 'empty-key' | 'slot-import-skipped' | 'trailing-data';

/** Something the reader skipped that is not an error (`ReadRdbOptions.onWarning`). */
export interface RdbWarning {
  code: RdbWarningCode;
  message: string;
  /** Input offset after what was skipped. */
  offset: number;
  db?: number;
  key?: Buffer;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const failZiplist = (m: string): never => giveUp(m, 'ERR_RDB_CORRUPT_ZIPLIST');
const failZipmap = (m: string): never => giveUp(m, 'ERR_RDB_CORRUPT_ZIPMAP');
const failListpack = (m: string): never => giveUp(m, 'ERR_RDB_CORRUPT_LISTPACK');

/** Synchronous walker over `buf[pos..]`; throws NEED_MORE / GIVE_UP. */
class Walker {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  /** Absolute offset of buf[0]. */
  base = 0;
  /** True when buf holds everything up to the end of the input. */
  atEnd = false;
  /** Input size when known. */
  total: number | undefined;
  maxString: number;
  version = 0;
  /** Keeps the current value's LZF strings decompressed for the `onKey` consumer (`keepLzf`). */
  lzf: LzfMemo | null = null;
  /** Plain LZF string values go into `lzf` too (else only containers). */
  lzfStrings = true;
  flavor: 'redis' | 'valkey' = 'redis';
  /** Set by len(): the length byte was a string encoding. */
  encoded = false;
  /** Where the last length (or string) read started in `buf` (failures of lengths and containers point there). */
  lenAt = 0;

  constructor(maxString: number) {
    this.maxString = maxString;
  }

  need(n: number): void {
    if (this.buf.length - this.pos < n) {
      if (this.atEnd) giveUp('the data ends in the middle of a value', 'ERR_RDB_TRUNCATED');
      this.wanted = this.pos + n;
      throw NEED_MORE;
    }
  }

  /** Set with NEED_MORE: the bytes of `buf` the read that stopped needs (from its start). */
  wanted = 0;

  u8(): number {
    if (this.pos >= this.buf.length) this.need(1);
    return this.buf[this.pos++]!;
  }

  lenRaw(): number {
    const buf = this.buf;
    this.lenAt = this.pos;
    const b = this.u8();
    const kind = b >> 6;
    this.encoded = false;
    if (kind === 0) return b & 0x3f;
    if (kind === 1) return ((b & 0x3f) << 8) | this.u8();
    if (kind === 3) {
      this.encoded = true;
      return b & 0x3f;
    }
    if (b === 0x80) {
      this.need(4);
      const v = buf.readUInt32BE(this.pos);
      this.pos += 4;
      return v;
    }
    if (b === 0x81) {
      this.need(8);
      const v = buf.readBigUInt64BE(this.pos);
      this.pos += 8;
      if (v > MAX_SAFE) giveUp(`64-bit length ${v} is beyond any real value`, 'ERR_RDB_BAD_LENGTH');
      return Number(v);
    }
    return giveUp(`invalid length byte 0x${b.toString(16)}`, 'ERR_RDB_BAD_LENGTH');
  }

  /** A length as the server's `rdbLoadLen(rdb, NULL)` reads it: 11xxxxxx counts as 6 bits. */
  len(): number {
    return this.lenRaw();
  }

  /** A length of any size (RESIZEDB's may be 64-bit), as a Number. */
  lenNumber(): number {
    if (this.pos < this.buf.length && this.buf[this.pos] === 0x81) {
      this.need(9);
      const n = Number(this.buf.readBigUInt64BE(this.pos + 1));
      this.pos += 9;
      return n;
    }
    return this.len();
  }

  /** Count of items of at least minBytes each, checked against what is left. */
  count(minBytes = 1): number {
    const n = this.len();
    if (this.total !== undefined && n * minBytes > this.total - (this.base + this.pos))
      giveUp(`a count of ${n} items cannot fit in what is left`, 'ERR_RDB_BAD_LENGTH');
    return n;
  }

  /** Reads a length of any 64-bit value; true when it is 0. */
  lenBigIsZero(): boolean {
    if (this.pos < this.buf.length && this.buf[this.pos] === 0x81) {
      this.need(9);
      const zero = this.buf.readBigUInt64BE(this.pos + 1) === 0n;
      this.pos += 9;
      return zero;
    }
    return this.len() === 0;
  }

  /** A length of any 64-bit value, as a bigint. */
  lenBigValue(): bigint {
    if (this.pos < this.buf.length && this.buf[this.pos] === 0x81) {
      this.need(9);
      const v = this.buf.readBigUInt64BE(this.pos + 1);
      this.pos += 9;
      return v;
    }
    return BigInt(this.len());
  }

  /** Skips a length of any 64-bit value (ids, counters, hints the server does not allocate). */
  lenBig(): void {
    if (this.pos < this.buf.length && this.buf[this.pos] === 0x81) {
      this.need(9);
      this.pos += 9;
      return;
    }
    this.len();
  }

  checkLength(n: number): void {
    if (n > this.maxString) giveUp(`string length ${n} exceeds the limit`, 'ERR_RDB_BAD_LENGTH');
    if (this.total !== undefined && n > this.total - (this.base + this.pos))
      giveUp(`string length ${n} is larger than what is left`, 'ERR_RDB_BAD_LENGTH');
  }

  /** Skips a string (validating LZF); returns nothing. */
  skipString(): void {
    const n = this.lenRaw();
    if (!this.encoded) {
      this.checkLength(n);
      this.need(n);
      this.pos += n;
      return;
    }
    this.encodedBody(n, false);
  }

  /** Skips a string by its lengths only (LZF data is not checked: shallow mode). */
  skipRaw(): void {
    const n = this.lenRaw();
    if (!this.encoded) this.skip(n);
    else if (n === 3) {
      const clen = this.len();
      this.len();
      this.skip(clen);
    } else if (n <= 2) this.skip(1 << n);
    else giveUp();
  }

  /** Reads a string: a view for plain strings (valid until the window moves), or decoded bytes. */
  string(): Buffer {
    const n = this.lenRaw();
    if (!this.encoded) {
      this.checkLength(n);
      this.need(n);
      const p = this.pos;
      this.pos = p + n;
      return this.buf.subarray(p, p + n);
    }
    return this.encodedBody(n, true)!;
  }

  /** Bytes of the last `stringRange()`: rbuf[rs..re). */
  rbuf: Buffer = this.buf;
  rs = 0;
  re = 0;

  /** Reused output of `stringRange(true)` for LZF strings. */
  private scratch: Buffer = Buffer.allocUnsafe(1 << 16);

  /**
   * Reads a string without making a view: sets rbuf/rs/re. With `transient`, an LZF string is
   * decompressed into a scratch buffer the next such call overwrites (for containers checked on
   * the spot).
   */
  stringRange(transient = false): void {
    const n = this.lenRaw();
    if (!this.encoded) {
      this.checkLength(n);
      this.need(n);
      this.rbuf = this.buf;
      this.rs = this.pos;
      this.pos += n;
      this.re = this.pos;
      return;
    }
    if (transient && n === 3) {
      const clen = this.len();
      const ulen = this.len();
      this.lzfBounds(clen, ulen);
      if (ulen === 0) {
        this.pos += clen;
        this.rbuf = this.scratch;
        this.rs = this.re = 0;
        return;
      }
      if (ulen > this.scratch.length)
        this.scratch = Buffer.allocUnsafe(Math.max(ulen, this.scratch.length * 2));
      const p = this.pos;
      this.pos = p + clen;
      const memo = this.lzf;
      try {
        const at = memo ? memo.add(this.buf, p, clen, ulen) : -1;
        if (at >= 0) {
          this.rbuf = memo!.out;
          this.rs = at;
          this.re = at + ulen;
          return;
        }
        lzfDecompressInto(this.buf, p, p + clen, this.scratch, ulen);
      } catch {
        giveUp();
      }
      this.rbuf = this.scratch;
      this.rs = 0;
      this.re = ulen;
      return;
    }
    const b = this.encodedBody(n, true)!;
    this.rbuf = b;
    this.rs = 0;
    this.re = b.length;
  }

  /** Checks an LZF string's lengths and that its compressed bytes are buffered. */
  private lzfBounds(clen: number, ulen: number): void {
    this.checkLength(clen);
    if (ulen > this.maxString) giveUp();
    if (!lzfLengthsPossible(clen, ulen))
      giveUp(`LZF header claims ${clen} -> ${ulen} bytes`, 'ERR_RDB_CORRUPT_LZF');
    this.need(clen);
  }

  private encodedBody(n: number, want: boolean): Buffer | undefined {
    const buf = this.buf;
    switch (n) {
      case 0: {
        this.need(1);
        const v = buf.readInt8(this.pos);
        this.pos += 1;
        return want ? Buffer.from(String(v)) : undefined;
      }
      case 1: {
        this.need(2);
        const v = buf.readInt16LE(this.pos);
        this.pos += 2;
        return want ? Buffer.from(String(v)) : undefined;
      }
      case 2: {
        this.need(4);
        const v = buf.readInt32LE(this.pos);
        this.pos += 4;
        return want ? Buffer.from(String(v)) : undefined;
      }
      case 3: {
        const clen = this.len();
        const ulen = this.len();
        this.lzfBounds(clen, ulen);
        const p = this.pos;
        this.pos = p + clen;
        // The server's lzf_decompress returns 0 = the expected length: any data "decompresses" to "".
        if (ulen === 0) return want ? Buffer.alloc(0) : undefined;
        if (!want) {
          // Checked by decompressing when the consumer will want the bytes (kept), else by walking.
          let kept = -1;
          if (this.lzf && this.lzfStrings) {
            try {
              kept = this.lzf.add(buf, p, clen, ulen);
            } catch {
              giveUp();
            }
          }
          if (kept < 0 && !lzfCheck(buf, ulen, p, p + clen)) giveUp();
          return undefined;
        }
        const out = Buffer.allocUnsafe(ulen);
        try {
          lzfDecompressInto(buf, p, p + clen, out, ulen);
        } catch {
          return giveUp();
        }
        return out;
      }
      default:
        return giveUp();
    }
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/** False only for a listpack score text the server would read as NaN (it reads any text). */
function scoreTextOk(buf: Buffer, a: number, b: number): boolean {
  // The usual spelling, `-?digits[.digits]`, is a number: nothing to parse.
  let i = a;
  if (i < b && buf[i] === 45) i++;
  const intStart = i;
  while (i < b && buf[i]! >= 48 && buf[i]! <= 57) i++;
  if (i > intStart) {
    if (i === b) return true;
    if (buf[i] === 46) {
      const fracStart = ++i;
      while (i < b && buf[i]! >= 48 && buf[i]! <= 57) i++;
      if (i === b && i > fracStart) return true;
    }
  }
  return !Number.isNaN(listpackScore(buf, a, b));
}

/** Modes of `checkListpack`: what else to check besides the structure. */
const LP_PLAIN = 0;
/** Every element unique (a set). */
const LP_SET = 1;
/** Even elements unique (hash fields). */
const LP_PAIRS = 2;
/** Even elements unique, odd ones scores that are not NaN (zset). */
const LP_ZSET = 3;

/**
 * Duplicate detection for one container's elements, cheap for the common small container: up to
 * 16 elements are compared pairwise from typed arrays (no strings made); beyond that, a Set of
 * their text. An integer element equals a string element holding its decimal text.
 */
class DupFinder {
  private readonly start = new Int32Array(16);
  private readonly len = new Int32Array(16);
  /** A hash of a string element's bytes; -2 marks an integer element (no string hashes to it). */
  private readonly hash = new Int32Array(16);
  /** For integers: the value (NaN: an int64 read from blob at start + 1). */
  private readonly int = new Float64Array(16);
  private n = 0;
  /** Some element so far is an integer, or a string that may spell one. */
  private ints = false;
  /** Past 16 elements: all of them as bytes (integers as their decimal text). */
  private set: ByteSet | null = null;
  private readonly big = new ByteSet();
  private blob: Buffer = Buffer.alloc(0);

  reset(blob: Buffer): void {
    this.n = 0;
    this.ints = false;
    this.set = null;
    this.blob = blob;
  }

  private key(i: number): string {
    const s = this.start[i]!;
    if (this.hash[i] !== INT_MARK) return this.blob.toString('latin1', s, s + this.len[i]!);
    const v = this.int[i]!;
    return Number.isNaN(v) ? String(this.blob.readBigInt64LE(s + 1)) : String(v);
  }

  /** Adds a string element blob[a, b); true when it equals an earlier element. */
  addString(a: number, b: number): boolean {
    const blob = this.blob;
    const len = b - a;
    if (this.set) return !this.set.add(blob, a, b);
    // FNV-1a of the bytes, kept non-negative so it never equals INT_MARK: equal bytes, equal hash,
    // so the bytes are compared only when the hashes and lengths agree.
    let h = 0x811c9dc5 | 0;
    for (let i = a; i < b; i++) h = Math.imul(h ^ blob[i]!, 0x01000193);
    h &= 0x7fffffff;
    const n = this.n;
    // Text of at most 20 bytes starting with '-' or a digit may equal an integer element.
    const f = len > 0 ? blob[a]! : -1;
    const maybeInt = len > 0 && len <= 20 && (f === 45 || (f >= 48 && f <= 57));
    for (let i = 0; i < n; i++) {
      const hi = this.hash[i]!;
      if (hi === h && this.len[i] === len) {
        const s = this.start[i]!;
        let j = 0;
        while (j < len && blob[a + j] === blob[s + j]) j++;
        if (j === len) return true;
      } else if (hi === INT_MARK && maybeInt && this.key(i) === blob.toString('latin1', a, b)) return true;
    }
    if (maybeInt) this.ints = true;
    return this.push(a, len, h, 0);
  }

  /** Adds an integer element (`v` NaN: an int64 stored at blob[at + 1]); true when it repeats one. */
  addInt(at: number, v: number): boolean {
    if (this.set) return !this.set.addInt(Number.isNaN(v) ? this.blob.readBigInt64LE(at + 1) : v);
    const n = this.n;
    if (Number.isNaN(v) || this.ints) {
      // Rare: an int64, or text that may spell an integer among the elements. Compare as text.
      const k = Number.isNaN(v) ? String(this.blob.readBigInt64LE(at + 1)) : String(v);
      for (let i = 0; i < n; i++) if (this.key(i) === k) return true;
    } else {
      for (let i = 0; i < n; i++) if (this.hash[i] === INT_MARK && this.int[i] === v) return true;
    }
    this.ints = true;
    return this.push(at, 0, INT_MARK, v);
  }

  /** Adds element `i` to the byte set. */
  private toSet(set: ByteSet, i: number): void {
    const s = this.start[i]!;
    if (this.hash[i] !== INT_MARK) set.add(this.blob, s, s + this.len[i]!);
    else {
      const v = this.int[i]!;
      set.addInt(Number.isNaN(v) ? this.blob.readBigInt64LE(s + 1) : v);
    }
  }

  private push(start: number, len: number, hash: number, v: number): boolean {
    const n = this.n;
    this.start[n] = start;
    this.len[n] = len;
    this.hash[n] = hash;
    this.int[n] = v;
    this.n = n + 1;
    if (n < 15) return false;
    // Big container: from now on, a set of the elements' bytes.
    const set = this.big;
    set.clear();
    for (let i = 0; i < 16; i++) this.toSet(set, i);
    this.set = set;
    return false;
  }
}

/** `DupFinder`'s mark of an integer element. */
const INT_MARK = -2;

const dupFinder = new DupFinder();

/**
 * Validates a listpack in blob[start..end) like `parseListpack` (the server's deep
 * `lpValidateIntegrity`), without building values; returns its element count. Depending on
 * `mode`, also the server's duplicate checks (`lpValidateIntegrityAndDups`) and zset scores.
 */
function checkListpack(blob: Buffer, start: number, end: number, mode: number): number {
  const len = end - start;
  if (len < 7) giveUp('listpack is shorter than 7 bytes', 'ERR_RDB_CORRUPT_LISTPACK');
  if (blob.readUInt32LE(start) !== len) giveUp('listpack header size is wrong', 'ERR_RDB_CORRUPT_LISTPACK');
  const declared = blob.readUInt16LE(start + 4);
  const last = end - 1;
  if (blob[last] !== 0xff) giveUp('listpack does not end with its end byte', 'ERR_RDB_CORRUPT_LISTPACK');
  let p = start + 6;
  let count = 0;
  const scores = mode === LP_ZSET;
  const dups = mode !== LP_PLAIN;
  const pairs = mode >= LP_PAIRS;
  if (dups) dupFinder.reset(blob);
  for (;;) {
    if (p >= end) giveUp('listpack has no end byte', 'ERR_RDB_CORRUPT_LISTPACK');
    const b = blob[p]!;
    if (b === 0xff) {
      if (p !== last) giveUp('listpack end byte is not the last byte', 'ERR_RDB_CORRUPT_LISTPACK');
      break;
    }
    const from = p;
    // A string element's bytes are blob[sa, p); an integer's value is iv.
    let sa = -1;
    let iv = 0;
    if ((b & 0x80) === 0) {
      iv = b;
      p += 1;
    } else if ((b & 0xc0) === 0x80) {
      const slen = b & 0x3f;
      if (p + 1 + slen > last) giveUp('listpack entry runs past the end', 'ERR_RDB_CORRUPT_LISTPACK');
      sa = p + 1;
      p += 1 + slen;
    } else if ((b & 0xe0) === 0xc0) {
      if (p + 2 > last) giveUp('listpack entry runs past the end', 'ERR_RDB_CORRUPT_LISTPACK');
      iv = ((b & 0x1f) << 8) | blob[p + 1]!;
      if (iv >= 4096) iv -= 8192;
      p += 2;
    } else if ((b & 0xf0) === 0xe0) {
      if (p + 2 > last) giveUp('listpack entry runs past the end', 'ERR_RDB_CORRUPT_LISTPACK');
      const slen = ((b & 0x0f) << 8) | blob[p + 1]!;
      if (p + 2 + slen > last) giveUp('listpack entry runs past the end', 'ERR_RDB_CORRUPT_LISTPACK');
      sa = p + 2;
      p += 2 + slen;
    } else if (b === 0xf1) {
      if (p + 3 > last) giveUp('listpack entry runs past the end', 'ERR_RDB_CORRUPT_LISTPACK');
      if (dups) iv = blob.readInt16LE(p + 1);
      p += 3;
    } else if (b === 0xf2) {
      if (p + 4 > last) giveUp('listpack entry runs past the end', 'ERR_RDB_CORRUPT_LISTPACK');
      if (dups) iv = blob.readIntLE(p + 1, 3);
      p += 4;
    } else if (b === 0xf3) {
      if (p + 5 > last) giveUp('listpack entry runs past the end', 'ERR_RDB_CORRUPT_LISTPACK');
      if (dups) iv = blob.readInt32LE(p + 1);
      p += 5;
    } else if (b === 0xf4) {
      if (p + 9 > last) giveUp('listpack entry runs past the end', 'ERR_RDB_CORRUPT_LISTPACK');
      // Only its text matters (duplicates): a bigint is compared by String() like a number.
      if (dups) iv = Number.NaN;
      p += 9;
    } else if (b === 0xf0) {
      if (p + 5 > last) giveUp('listpack entry runs past the end', 'ERR_RDB_CORRUPT_LISTPACK');
      const slen = blob.readUInt32LE(p + 1);
      if (p + 5 + slen > last) giveUp('listpack entry runs past the end', 'ERR_RDB_CORRUPT_LISTPACK');
      sa = p + 5;
      p += 5 + slen;
    } else giveUp(`listpack entry has invalid encoding byte 0x${b.toString(16)}`, 'ERR_RDB_CORRUPT_LISTPACK');
    const entryLen = p - from;
    const bl = backlenSize(entryLen);
    if (p + bl > last) giveUp('listpack entry back-length runs past the end', 'ERR_RDB_CORRUPT_LISTPACK');
    // One byte equal to the length is the common case; anything else is decoded like the server.
    if (!(bl === 1 && blob[p] === entryLen) && decodeBacklen(blob, p + bl - 1) !== entryLen)
      giveUp('listpack entry back-length is wrong', 'ERR_RDB_CORRUPT_LISTPACK');
    if (dups && (!pairs || (count & 1) === 0)) {
      // The element as the server compares it: integers by their decimal text.
      if (sa >= 0 ? dupFinder.addString(sa, p) : dupFinder.addInt(from, iv))
        giveUp(`element ${count} appears twice`, 'ERR_RDB_DUPLICATE');
    } else if (scores && sa >= 0 && !scoreTextOk(blob, sa, p)) {
      giveUp('a zset score reads as NaN', 'ERR_RDB_CORRUPT_LISTPACK');
    }
    p += bl;
    count++;
  }
  if (declared !== 65535 && declared !== count)
    giveUp(`listpack header counts ${declared} elements, it holds ${count}`, 'ERR_RDB_CORRUPT_LISTPACK');
  return count;
}

/** Validates an intset in blob[start..end) like `parseIntset`; returns its member count. */
function checkIntset(blob: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len < 8) giveUp('intset is shorter than its header', 'ERR_RDB_CORRUPT_INTSET');
  const width = blob.readUInt32LE(start);
  const count = blob.readUInt32LE(start + 4);
  if (width !== 2 && width !== 4 && width !== 8)
    giveUp('intset has an invalid width', 'ERR_RDB_CORRUPT_INTSET');
  if (8 + count * width !== len) giveUp('intset size does not match its count', 'ERR_RDB_CORRUPT_INTSET');
  if (count === 0) giveUp('intset is empty', 'ERR_RDB_CORRUPT_INTSET');
  const at = start + 8;
  const bad = (same: boolean): never =>
    same
      ? giveUp('intset holds a member twice', 'ERR_RDB_DUPLICATE')
      : giveUp('intset members are not strictly ascending', 'ERR_RDB_CORRUPT_INTSET');
  if (width === 8) {
    for (let i = 1; i < count; i++) {
      const a = blob.readBigInt64LE(at + (i - 1) * 8);
      const c = blob.readBigInt64LE(at + i * 8);
      if (!(c > a)) bad(c === a);
    }
  } else if (width === 4) {
    for (let i = 1; i < count; i++) {
      const a = blob.readInt32LE(at + (i - 1) * 4);
      const c = blob.readInt32LE(at + i * 4);
      if (!(c > a)) bad(c === a);
    }
  } else {
    for (let i = 1; i < count; i++) {
      const a = blob.readInt16LE(at + (i - 1) * 2);
      const c = blob.readInt16LE(at + i * 2);
      if (!(c > a)) bad(c === a);
    }
  }
  return count;
}

/** Reads the next string and fails if its bytes were seen before in this value. */
function uniqueString(w: Walker, seen: ByteSet, what: string): void {
  w.stringRange(true);
  if (!seen.add(w.rbuf, w.rs, w.re)) {
    const k = w.rbuf.toString('latin1', w.rs, w.re);
    giveUp(`${what} ${JSON.stringify(k)} appears twice`, 'ERR_RDB_DUPLICATE');
  }
}

/** The members seen so far of the value being walked (sets, sorted sets, hashes). */
const membersSeen = new ByteSet();
/** A stream's consumer groups, and the consumers of one group. */
const groupsSeen = new ByteSet();
const consumersSeen = new ByteSet();

/** `set`, emptied, when a collection of `n` members needs duplicate checks. */
function seenSet(set: ByteSet, n: number): ByteSet | undefined {
  if (n < 2) return undefined;
  set.clear();
  return set;
}

const EMPTY_KEY = 'the value is an empty collection (RESTORE refuses it; loading skips it)';

/**
 * Walks one value of `type` with the server's deep sanitization checks (sanitize-dump-payload
 * yes); an empty collection (the reader warns about it: loading skips it) gives up.
 */
function walkValue(w: Walker, type: number): void {
  switch (type) {
    case RdbType.STRING:
      w.skipString();
      return;
    case RdbType.LIST: {
      const n = w.count();
      if (n === 0) giveUp(EMPTY_KEY);
      for (let i = 0; i < n; i++) w.skipString();
      return;
    }
    case RdbType.SET: {
      const n = w.count();
      if (n === 0) giveUp(EMPTY_KEY);
      if (n === 1) w.skipString();
      else {
        const seen = seenSet(membersSeen, n)!;
        for (let i = 0; i < n; i++) uniqueString(w, seen, 'set member');
      }
      return;
    }
    case RdbType.ZSET:
    case RdbType.ZSET_2: {
      const n = w.count(2);
      if (n === 0) giveUp(EMPTY_KEY);
      const seen = seenSet(membersSeen, n);
      for (let i = 0; i < n; i++) {
        if (seen) uniqueString(w, seen, 'zset member');
        else w.skipString();
        if (type === RdbType.ZSET_2) {
          w.need(8);
          const v = w.buf.readDoubleLE(w.pos);
          w.pos += 8;
          if (Number.isNaN(v)) giveUp('a zset score is NaN', 'ERR_RDB_CORRUPT_VALUE');
        } else {
          const l = w.u8();
          if (l < 253) {
            w.need(l);
            const v = asciiScore(w.buf, w.pos, w.pos + l);
            w.pos += l;
            if (v === undefined || Number.isNaN(v))
              giveUp('a zset score is not a number', 'ERR_RDB_CORRUPT_VALUE');
          } else if (l === 253) giveUp('a zset score is NaN', 'ERR_RDB_CORRUPT_VALUE');
        }
      }
      return;
    }
    case RdbType.HASH: {
      const n = w.count(2);
      if (n === 0) giveUp(EMPTY_KEY);
      const seen = seenSet(membersSeen, n);
      for (let i = 0; i < n; i++) {
        if (seen) uniqueString(w, seen, 'hash field');
        else w.skipString();
        w.skipString();
      }
      return;
    }
    case RdbType.HASH_ZIPMAP: {
      const pairs = parseZipmap(w.string(), failZipmap);
      if (
        duplicateIndex(
          pairs.map((e) => e[0]),
          1,
        ) >= 0
      )
        giveUp('zipmap holds a field twice', 'ERR_RDB_DUPLICATE');
      if (pairs.length === 0) giveUp(EMPTY_KEY);
      return;
    }
    case RdbType.HASH_2:
    case RdbType.REDIS_HASH_METADATA: {
      // Hashes with field TTLs (only in files whose magic allows them: the caller checked).
      const valkey = type === RdbType.HASH_2 && w.flavor === 'valkey';
      if (type === RdbType.REDIS_HASH_METADATA) w.skip(8); // the minimum expiry
      const n = w.count(2);
      if (n === 0) giveUp(EMPTY_KEY);
      const seen = seenSet(membersSeen, n);
      for (let i = 0; i < n; i++) {
        if (!valkey) w.lenBig(); // the field's TTL
        if (seen) uniqueString(w, seen, 'hash field');
        else w.skipString();
        w.skipString();
        if (valkey) {
          w.need(8);
          const ms = Number(w.buf.readBigInt64LE(w.pos));
          w.pos += 8;
          if (ms < -1) giveUp(`hash field expiry ${ms} is invalid`, 'ERR_RDB_CORRUPT_VALUE');
        }
      }
      return;
    }
    case RdbType.TYPE_23:
    case RdbType.REDIS_HASH_LISTPACK_EX: {
      // Redis 7.4 listpacks of (field, value, TTL) triplets.
      if (type === RdbType.REDIS_HASH_LISTPACK_EX) w.skip(8);
      const vals = parseListpack(w.string(), failListpack);
      if (vals.length % 3)
        giveUp(`the listpack holds ${vals.length} elements, not triplets`, 'ERR_RDB_CORRUPT_LISTPACK');
      if (vals.length === 0) giveUp(EMPTY_KEY);
      if (
        duplicateIndex(
          vals.filter((_, i) => i % 3 === 0),
          1,
        ) >= 0
      )
        giveUp('the listpack holds a field twice', 'ERR_RDB_DUPLICATE');
      for (let i = 2; i < vals.length; i += 3) {
        const ttl = vals[i]!;
        if (!Number.isFinite(typeof ttl === 'object' ? Number(ttl.toString('latin1')) : Number(ttl)))
          giveUp('a field TTL is not a number', 'ERR_RDB_CORRUPT_LISTPACK');
      }
      return;
    }
    case RdbType.LIST_ZIPLIST:
      if (parseZiplist(w.string(), failZiplist).length === 0) giveUp(EMPTY_KEY);
      return;
    case RdbType.SET_INTSET:
      w.stringRange(true);
      checkIntset(w.rbuf, w.rs, w.re);
      return;
    case RdbType.SET_LISTPACK:
      w.stringRange(true);
      if (checkListpack(w.rbuf, w.rs, w.re, LP_SET) === 0) giveUp(EMPTY_KEY);
      return;
    case RdbType.ZSET_LISTPACK:
    case RdbType.HASH_LISTPACK: {
      w.stringRange(true);
      const n = checkListpack(w.rbuf, w.rs, w.re, type === RdbType.ZSET_LISTPACK ? LP_ZSET : LP_PAIRS);
      if (n % 2) giveUp('the listpack holds an odd number of elements', 'ERR_RDB_CORRUPT_LISTPACK');
      if (n === 0) giveUp(EMPTY_KEY);
      return;
    }
    case RdbType.ZSET_ZIPLIST:
    case RdbType.HASH_ZIPLIST: {
      const vals = parseZiplist(w.string(), failZiplist);
      if (vals.length % 2) giveUp('the ziplist holds an odd number of elements', 'ERR_RDB_CORRUPT_ZIPLIST');
      if (duplicateIndex(vals, 2) >= 0) giveUp('the ziplist holds an element twice', 'ERR_RDB_DUPLICATE');
      if (vals.length === 0) giveUp(EMPTY_KEY);
      if (type === RdbType.ZSET_ZIPLIST) {
        for (let i = 1; i < vals.length; i += 2) {
          const s = vals[i]!;
          const score = typeof s === 'object' ? listpackScore(s) : Number(s);
          if (Number.isNaN(score)) giveUp('a zset score reads as NaN', 'ERR_RDB_CORRUPT_ZIPLIST');
        }
      }
      return;
    }
    case RdbType.LIST_QUICKLIST:
    case RdbType.LIST_QUICKLIST_2: {
      const v2 = type === RdbType.LIST_QUICKLIST_2;
      const nodes = w.count(v2 ? 2 : 1);
      let items = 0;
      for (let i = 0; i < nodes; i++) {
        const container = v2 ? w.len() : 2;
        if (container === 1) {
          w.stringRange(true);
          if (w.re === w.rs) giveUp('a quicklist plain node is empty', 'ERR_RDB_CORRUPT_VALUE');
          items++;
        } else if (container === 2) {
          // Empty listpack/ziplist nodes are skipped by the server; an empty string is not.
          if (v2) {
            w.stringRange(true);
            items += checkListpack(w.rbuf, w.rs, w.re, LP_PLAIN);
          } else items += parseZiplist(w.string(), failZiplist).length;
        } else giveUp(`quicklist node container ${container} is neither 1 nor 2`, 'ERR_RDB_CORRUPT_VALUE');
      }
      if (items === 0) giveUp(EMPTY_KEY);
      return;
    }
    case RdbType.STREAM_LISTPACKS:
    case RdbType.STREAM_LISTPACKS_2:
    case RdbType.STREAM_LISTPACKS_3:
      walkStream(w, type);
      return;
    case RdbType.MODULE_2:
      // Only the framing (module id, then opcodes to EOF): the module itself judges its data.
      w.lenBig();
      walkModuleOpcodes(w);
      return;
    default:
      giveUp(`value type ${type} is not checked here`, 'ERR_RDB_UNSUPPORTED_VALUE');
  }
}

/** A module value's (or MODULE_AUX's) opcodes up to its EOF opcode. */
function walkModuleOpcodes(w: Walker): void {
  for (;;) {
    const op = w.len();
    if (op === ModuleOpcode.EOF) return;
    if (op === ModuleOpcode.SINT || op === ModuleOpcode.UINT) w.lenBig();
    else if (op === ModuleOpcode.FLOAT) w.skip(4);
    else if (op === ModuleOpcode.DOUBLE) w.skip(8);
    else if (op === ModuleOpcode.STRING) w.skipString();
    // Other opcodes carry nothing: valkey-check-rdb (rdbLoadCheckModuleValue) skips them.
  }
}

const failStream = (m: string): never => giveUp(`stream: ${m}`, 'ERR_RDB_CORRUPT_STREAM');

/** A stream node holds a number `checkStreamNode` does not take exactly: check it the slow way. */
const BEYOND_SAFE = new Error('a stream node number beyond 2^53');
const streamCursor = new ListpackCursor();

/**
 * `validateStreamNode`'s checks on a stream node's listpack of `n` elements (its structure already
 * checked by `checkStreamListpack`), element by element without making them. Throws `BEYOND_SAFE`
 * for a number it cannot compare exactly (one beyond 2^53).
 */
function checkStreamNode(blob: Buffer, n: number): void {
  if (n === 0) failStream('stream node listpack is empty');
  const lp = streamCursor;
  lp.open(blob, 0);
  let i = 0;
  const next = (what: string): void => {
    if (i >= n) failStream(`${what} runs past the end of the listpack`);
    i++;
    lp.next();
  };
  const int = (what: string): number => {
    next(what);
    if (lp.isInt) {
      if (Number.isNaN(lp.int)) throw BEYOND_SAFE;
      return lp.int;
    }
    const v = string2ll(blob, lp.s, lp.e);
    if (v === undefined) failStream(`${what} is not an integer`);
    if (v! > 9007199254740991n || v! < -9007199254740991n) throw BEYOND_SAFE;
    return Number(v);
  };
  const count = int('master entry count');
  const deleted = int('master entry deleted count');
  const primary = int('master entry field count');
  for (let j = 0; j < primary; j++) next('master entry field name');
  if (int('master entry terminator') !== 0) failStream('master entry terminator is not 0');
  let total = count + deleted;
  if (total < 0) failStream(`master entry counts ${count} + ${deleted} entries`);
  for (; total > 0; total--) {
    const flags = int('entry flags');
    int('entry id');
    int('entry id');
    let fields = primary;
    let extra = 3;
    if (!(flags & 2)) {
      fields = int('entry field count');
      for (let j = 0; j < fields; j++) {
        next('entry field name');
        next('entry value');
      }
      extra += fields + 1;
    } else {
      for (let j = 0; j < primary; j++) next('entry value');
    }
    if (int('entry lp-count') !== fields + extra) failStream('entry lp-count does not match its size');
  }
  if (i < n) failStream(`${n - i} element(s) follow the last entry`);
}

/** A stream with the server's deep checks (rdbLoadObject and streamValidateListpackIntegrity). */
function walkStream(w: Walker, type: number): void {
  const v2 = type >= RdbType.STREAM_LISTPACKS_2;
  const v3 = type >= RdbType.STREAM_LISTPACKS_3;
  const nodes = w.count(2);
  const nodeKeys = nodes > 1 ? new Set<string>() : undefined;
  for (let i = 0; i < nodes; i++) {
    const nodeKey = w.string();
    if (nodeKey.length !== 16) failStream('a node key is not 16 bytes');
    if (nodeKeys) {
      const k = nodeKey.toString('latin1');
      if (nodeKeys.has(k)) failStream('a node key appears twice');
      nodeKeys.add(k);
    }
    const lp = w.string();
    const elements = checkStreamListpack(lp, failListpack);
    try {
      checkStreamNode(lp, elements);
    } catch (err) {
      if (err !== BEYOND_SAFE) throw err;
      validateStreamNode(parseStreamListpack(lp, failListpack), failStream);
    }
  }
  // Metadata: lengths of any 64-bit value (the server reads them without checks).
  // length: "Stream length inconsistent with rax entries" when it is not 0 without nodes.
  if (!w.lenBigIsZero() && nodes === 0) failStream('the stream length is not 0 but it has no nodes');
  w.lenBig(); // last id
  w.lenBig();
  if (v2) {
    for (let k = 0; k < 5; k++) w.lenBig(); // first id, max deleted id, entries added
  }
  const groups = w.count(3);
  const groupNames = seenSet(groupsSeen, groups);
  for (let g = 0; g < groups; g++) {
    if (groupNames) uniqueString(w, groupNames, 'consumer group');
    else w.skipString();
    w.lenBig();
    w.lenBig();
    if (v2) w.lenBig();
    const pel = w.count(25);
    const owned = new Map<string, boolean>();
    for (let p = 0; p < pel; p++) {
      w.need(16);
      const id = w.buf.toString('latin1', w.pos, w.pos + 16);
      if (owned.has(id)) failStream('a pending id appears twice in a group PEL');
      owned.set(id, false);
      w.pos += 16;
      w.skip(8);
      w.lenBig();
    }
    const consumers = w.count(10);
    const consumerNames = seenSet(consumersSeen, consumers);
    for (let c = 0; c < consumers; c++) {
      if (consumerNames) uniqueString(w, consumerNames, 'consumer');
      else w.skipString();
      w.skip(v3 ? 16 : 8);
      const cpel = w.count(16);
      const mine = cpel > 1 ? new Set<string>() : undefined;
      for (let p = 0; p < cpel; p++) {
        w.need(16);
        const id = w.buf.toString('latin1', w.pos, w.pos + 16);
        w.pos += 16;
        if (!owned.has(id)) failStream('a consumer owns a pending id that is not in the group PEL');
        if (mine) {
          if (mine.has(id)) failStream('a consumer lists a pending id twice');
          mine.add(id);
        }
        owned.set(id, true);
      }
    }
    // "Stream CG PEL entry without consumer": refused by the server's deep sanitization.
    for (const v of owned.values()) if (!v) failStream('a pending entry has no consumer');
  }
}

/**
 * Moves past one value of `type` without checking it (shallow mode): plain and LZF strings are
 * skipped by their lengths, containers stored as strings are not opened.
 */
function skipValue(w: Walker, type: number): void {
  switch (type) {
    case RdbType.STRING:
    case RdbType.HASH_ZIPMAP:
    case RdbType.LIST_ZIPLIST:
    case RdbType.SET_INTSET:
    case RdbType.SET_LISTPACK:
    case RdbType.ZSET_LISTPACK:
    case RdbType.HASH_LISTPACK:
    case RdbType.ZSET_ZIPLIST:
    case RdbType.HASH_ZIPLIST:
      w.skipRaw();
      return;
    case RdbType.LIST:
    case RdbType.SET: {
      const n = w.len();
      for (let i = 0; i < n; i++) w.skipRaw();
      return;
    }
    case RdbType.ZSET:
    case RdbType.ZSET_2: {
      const n = w.len();
      for (let i = 0; i < n; i++) {
        w.skipRaw();
        if (type === RdbType.ZSET_2) w.skip(8);
        else {
          const l = w.u8();
          if (l < 253) w.skip(l);
        }
      }
      return;
    }
    case RdbType.HASH: {
      const n = w.len();
      for (let i = 0; i < 2 * n; i++) w.skipRaw();
      return;
    }
    case RdbType.LIST_QUICKLIST:
    case RdbType.LIST_QUICKLIST_2: {
      const v2 = type === RdbType.LIST_QUICKLIST_2;
      const nodes = w.len();
      for (let i = 0; i < nodes; i++) {
        if (v2) w.len();
        w.skipRaw();
      }
      return;
    }
    case RdbType.STREAM_LISTPACKS:
    case RdbType.STREAM_LISTPACKS_2:
    case RdbType.STREAM_LISTPACKS_3: {
      const v2 = type >= RdbType.STREAM_LISTPACKS_2;
      const nodes = w.len();
      for (let i = 0; i < 2 * nodes; i++) w.skipRaw();
      for (let k = 0; k < (v2 ? 8 : 3); k++) w.lenBig();
      const groups = w.len();
      for (let g = 0; g < groups; g++) {
        w.skipRaw();
        for (let k = 0; k < (v2 ? 3 : 2); k++) w.lenBig();
        const pel = w.len();
        for (let p = 0; p < pel; p++) {
          w.skip(24);
          w.len();
        }
        const consumers = w.len();
        for (let c = 0; c < consumers; c++) {
          w.skipRaw();
          w.skip(type >= RdbType.STREAM_LISTPACKS_3 ? 16 : 8);
          w.skip(16 * w.len());
        }
      }
      return;
    }
    default:
      giveUp();
  }
}

const FAST_TYPES = new Set<number>([0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);

/**
 * Reads up to `length` bytes of the input into `into` at `offset`; resolves with the count, 0 at
 * the end. (A file handle's `read`, or `readerFromChunks` over any chunk iterator.)
 */
export type ReadInto = (into: Buffer, offset: number, length: number) => Promise<number>;

/** A `ReadInto` over an async iterator of chunks (copies; for streams and tests). */
export function readerFromChunks(chunks: AsyncIterator<Uint8Array>): ReadInto {
  let cur: Uint8Array | null = null;
  let at = 0;
  return async (into, offset, length) => {
    while (cur === null || at >= cur.byteLength) {
      const r = await chunks.next();
      if (r.done) return 0;
      cur = r.value;
      at = 0;
    }
    const n = Math.min(length, cur.byteLength - at);
    into.set(cur.subarray(at, at + n), offset);
    at += n;
    return n;
  };
}

/**
 * Walks an RDB (bytes, or read through `read`). Fast mode returns null when it gave up (the
 * caller then reads the file exactly); exact mode (`exact`) throws a typed `RdbError` instead.
 * `total` is the input size when known. Input is read into a window (1 MiB, grown only for a
 * record that does not fit), so memory stays flat.
 */
export async function walkRdb(
  input: ReadInto | Uint8Array,
  total: number | undefined,
  options: WalkOptions = {},
): Promise<WalkResult | null> {
  const w = new Walker(options.maxStringBytes ?? 1 << 30);
  w.total = total;
  const exact = options.exact;
  const maxRecord = options.maxRecordBytes ?? (exact ? Number.POSITIVE_INFINITY : 64 << 20);
  const resume = options.resume;
  const crc = options.checksum === false || options.externalCrc ? null : new Crc64();
  /** Only part of the file is walked: its CRC is handed back, not compared with the trailer. */
  const partial = resume !== undefined || options.stopAt !== undefined;
  const progressEvery = options.onProgress ? Math.max(1, options.progressEvery ?? 10_000) : 0;
  /** Bytes of buf[0..crcMark) already fed to the CRC. */
  let crcMark = 0;
  let keys = 0;
  const read: ReadInto | null = typeof input === 'function' ? input : null;
  let win = Buffer.allocUnsafe(read ? 1 << 20 : 0);
  if (!read) {
    const bytes = input as Uint8Array;
    w.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    w.atEnd = true;
  }

  /** An error thrown by the caller's callbacks or the input: it propagates (it is not a reason to give up). */
  let callbackError: { err: unknown } | undefined;
  /** The key being read (exact mode: for error details), and the value type. */
  let keyView: Buffer | undefined;
  let keyType = -1;

  /** Exact mode: a typed error at absolute offset `at`. */
  const fail = (code: RdbErrorCode, message: string, hint?: string, at = w.base + w.pos): never => {
    throw new RdbError(code, message, {
      details: {
        offset: at,
        ...(keyView !== undefined ? { key: displayBytes(keyView) } : {}),
        ...(exact?.file !== undefined ? { file: exact.file } : {}),
      },
      hint: hint ?? HINTS[code] ?? 'The file is corrupt',
    });
  };
  /** Awaits what a callback returned; its failure propagates as it is. */
  const settle = async (wait: void | Promise<void>): Promise<void> => {
    try {
      await wait;
    } catch (err) {
      callbackError = { err };
      throw err;
    }
  };
  const call = <A extends unknown[]>(
    fn: ((...args: A) => void | Promise<void>) | undefined,
    ...args: A
  ): void | Promise<void> => {
    if (!fn) return undefined;
    let wait: void | Promise<void>;
    try {
      wait = fn(...args);
    } catch (err) {
      callbackError = { err };
      throw err;
    }
    return wait ? settle(wait) : undefined;
  };
  const warn = (code: RdbWarningCode, message: string, at: number, db: number, key?: Buffer) =>
    call(exact?.onWarning, { code, message, offset: at, db, ...(key ? { key } : {}) });

  /** Keeps buf[keepFrom..] and reads until at least `want` bytes are buffered (or the input ends). */
  const refill = async (keepFrom: number, want: number): Promise<void> => {
    if (crc && keepFrom > crcMark) crc.update(w.buf, crcMark, keepFrom);
    let have = w.buf.length - keepFrom;
    if (read && !w.atEnd) {
      // Exact mode hands out views of the window: a new one each time (the old stays with them),
      // back to 1 MiB after a big record.
      if (want > win.length || exact) {
        const bigger = Buffer.allocUnsafe(exact ? Math.max(want, 1 << 20) : Math.max(want, win.length * 2));
        w.buf.copy(bigger, 0, keepFrom);
        win = bigger;
      } else if (have > 0) w.buf.copy(win, 0, keepFrom);
      while (have < want) {
        let n: number;
        try {
          n = await read(win, have, win.length - have);
        } catch (err) {
          if (exact) callbackError = { err };
          throw err;
        }
        if (n === 0) {
          w.atEnd = true;
          break;
        }
        have += n;
      }
      w.buf = win.subarray(0, have);
    } else {
      w.atEnd = true;
      w.buf = w.buf.subarray(keepFrom);
    }
    w.base += keepFrom;
    w.pos = 0;
    crcMark = 0;
  };

  try {
    let header: RdbHeader | null;
    if (resume) {
      header = resume.header;
      w.base = resume.offset;
      if (read) await refill(0, 1);
    } else {
      if (read) await refill(0, RDB_HEADER_BYTES);
      if (w.buf.length < RDB_HEADER_BYTES) {
        if (!exact) return null;
        fail(
          'ERR_RDB_BAD_MAGIC',
          `input is ${w.buf.length} bytes, too short for an RDB header`,
          'Is this an RDB file?',
          0,
        );
      }
      const head = w.buf.toString('latin1', 0, RDB_HEADER_BYTES);
      header = parseRdbHeader(head);
      if (exact) checkHeader(header, head, options.allowUnknownVersion === true, fail);
    }
    if (header === null || header.version < 1) return null;
    if (!header.known && !options.allowUnknownVersion) return null;
    const { magic, version } = header;
    if (!resume) {
      options.onHeader?.(header);
      if (exact)
        await call(
          exact.onRecord,
          { kind: 'header', magic, version, flavor: header.flavor },
          RDB_HEADER_BYTES,
        );
    }
    w.version = version;
    w.flavor = header.flavor;
    w.pos = resume ? 0 : RDB_HEADER_BYTES;
    const stopAt = options.stopAt;

    const onKey = options.onKey;
    const onRecord = exact?.onRecord;
    let functions = 0;
    /** The dbs keys were met in (`noted`: the current db is in it). */
    const dbs: number[] = [];
    let noted = false;
    // What the opcodes before a key said about it (for onKey).
    let db = resume ? resume.db : 0;
    let expiresAt: number | undefined;
    let lruIdle: number | undefined;
    let lfuFreq: number | undefined;
    /** Where the record being read started (absolute: the window may move within it). */
    let recordAt = 0;
    const value = options.shallow ? skipValue : walkValue;
    const span = emptyKeySpan(w.buf);
    span.version = version;
    span.flavor = header.flavor;
    if (options.keepLzf && onKey && !options.shallow) {
      w.lzf = new LzfMemo();
      w.lzfStrings = options.keepLzf !== 'containers';
      span.lzf = w.lzf;
    }
    const progress = (): void => {
      options.onProgress!({
        keys,
        bytes: w.base + w.pos,
        ...(total !== undefined ? { totalBytes: total } : {}),
      });
    };
    for (;;) {
      const start = w.pos;
      if (expiresAt === undefined && lruIdle === undefined && lfuFreq === undefined)
        recordAt = w.base + start;
      if (stopAt) {
        const at = stopAt();
        if (at !== undefined && w.base + start >= at) {
          if (
            w.base + start > at ||
            expiresAt !== undefined ||
            lruIdle !== undefined ||
            lfuFreq !== undefined
          )
            options.onMissed?.();
          else {
            if (crc) crc.update(w.buf, crcMark, start);
            return {
              magic,
              version,
              keys,
              bytes: at,
              checksum: 'unchecked',
              functions,
              dbs,
              stopped: true,
              ...(crc ? { partialCrc: crc.digest() } : {}),
            };
          }
        }
      }
      try {
        if (exact && w.pos >= w.buf.length && w.atEnd)
          fail(
            'ERR_RDB_TRUNCATED',
            'unexpected end of input before the next opcode (the file has no EOF marker)',
          );
        const op = w.u8();
        if (op <= 25) {
          if (!FAST_TYPES.has(op)) {
            if (!exact) return null;
            checkType(op, w.flavor, version, fail, w.base + start);
          }
          if (!noted) {
            noted = true;
            if (!dbs.includes(db)) dbs.push(db);
          }
          if (onKey || exact) {
            w.lzf?.reset();
            w.stringRange();
            span.keyBuf = w.rbuf;
            span.keyStart = w.rs;
            span.keyEnd = w.re;
            span.valueStart = w.pos;
            if (exact) {
              keyView = w.rbuf.subarray(w.rs, w.re);
              keyType = op;
              try {
                value(w, op);
              } catch (err) {
                if (err !== GIVE_UP || lastGiveUp.reason !== EMPTY_KEY) throw err;
                // An empty collection: the server skips it on load, so does this walk.
                const key = Buffer.from(keyView);
                keyView = undefined;
                expiresAt = lruIdle = lfuFreq = undefined;
                await warn(
                  'empty-key',
                  `skipping empty key ${JSON.stringify(displayBytes(key))} (the server skips it on load)`,
                  w.base + w.pos,
                  db,
                  key,
                );
                continue;
              }
            } else value(w, op);
            if (onKey) {
              span.db = db;
              span.type = op;
              span.buf = w.buf;
              span.base = w.base;
              span.recordOffset = recordAt;
              span.valueEnd = w.pos;
              span.expiresAt = expiresAt;
              span.lruIdle = lruIdle;
              span.lfuFreq = lfuFreq;
              const wait = call(onKey, span);
              if (wait) await wait;
            }
            keyView = undefined;
            expiresAt = lruIdle = lfuFreq = undefined;
          } else {
            w.skipString(); // key
            value(w, op);
          }
          keys++;
          if (progressEvery && keys % progressEvery === 0) progress();
          continue;
        }
        switch (op) {
          case RdbOpcode.EOF: {
            let checksum: WalkResult['checksum'] = options.checksum === false ? 'unchecked' : 'absent';
            let trailer: Buffer | undefined;
            let stored: bigint | null = null;
            // Buffer the trailer first: a retry must not hash the EOF byte twice.
            if (version >= 5) w.need(8);
            if (crc) crc.update(w.buf, crcMark, w.pos);
            crcMark = w.pos;
            if (version >= 5) {
              w.need(8);
              const lo = w.buf.readUInt32LE(w.pos);
              const hi = w.buf.readUInt32LE(w.pos + 4);
              w.pos += 8;
              if (checksum === 'unchecked' || partial)
                trailer = Buffer.from(w.buf.subarray(w.pos - 8, w.pos));
              if (lo !== 0 || hi !== 0) stored = (BigInt(hi) << 32n) | BigInt(lo);
              if (partial) checksum = 'unchecked';
              else if (lo === 0 && hi === 0) {
                if (checksum !== 'unchecked') checksum = 'disabled';
              } else if (crc || (options.externalCrc && options.checksum !== false)) {
                const d = crc ? crc.digestBytes() : await options.externalCrc;
                if (!d || d.readUInt32LE(0) !== lo || d.readUInt32LE(4) !== hi) {
                  if (!exact || !d) return null;
                  const computed = d.readBigUInt64LE(0);
                  fail(
                    'ERR_RDB_CHECKSUM',
                    `CRC-64 mismatch: the file says 0x${stored!.toString(16).padStart(16, '0')}, the content hashes to 0x${computed.toString(16).padStart(16, '0')}`,
                    'The file is corrupt; take a fresh snapshot (or read with checksum: false to salvage it)',
                    w.base + w.pos - 8,
                  );
                }
                checksum = 'ok';
              }
            }
            const bytes = w.base + w.pos;
            if (exact) {
              if (progressEvery) progress();
              await call(onRecord, { kind: 'end', checksum: stored }, bytes);
              // Never wait for more input here: a live source (replication) may stay open after the RDB.
              const left = total !== undefined ? total - bytes : w.buf.length - w.pos;
              if (left > 0)
                await warn(
                  'trailing-data',
                  `${left} byte(s) follow the end of the RDB (e.g. an AOF tail after an RDB preamble)`,
                  bytes,
                  db,
                );
              return { magic, version, keys, bytes, checksum, functions, dbs };
            }
            // Trailing data is a warning: let the reader report it.
            if (w.pos < w.buf.length) return null;
            if (total !== undefined ? bytes < total : !w.atEnd) {
              if (total !== undefined || !read || (await read(Buffer.alloc(1), 0, 1)) > 0) return null;
            }
            if (progressEvery) progress();
            return {
              magic,
              version,
              keys,
              bytes,
              checksum,
              functions,
              dbs,
              ...(trailer ? { trailer } : {}),
              ...(partial && crc ? { partialCrc: crc.digest() } : {}),
            };
          }
          case RdbOpcode.SELECTDB:
            db = w.len();
            noted = false;
            if (onRecord) await call(onRecord, { kind: 'select-db', db }, w.base + w.pos);
            break;
          case RdbOpcode.RESIZEDB:
            if (options.onResizeDb || onRecord) {
              const dbSize = w.lenNumber();
              const expiresSize = w.lenNumber();
              options.onResizeDb?.(db, dbSize, expiresSize);
              if (onRecord) await call(onRecord, { kind: 'resize-db', dbSize, expiresSize }, w.base + w.pos);
            } else {
              w.lenBig();
              w.lenBig();
            }
            break;
          case RdbOpcode.AUX:
            if (options.onAux || onRecord) {
              const k = Buffer.from(w.string());
              const v = Buffer.from(w.string());
              options.onAux?.(k, v);
              if (onRecord) await call(onRecord, { kind: 'aux', key: k, value: v }, w.base + w.pos);
            } else {
              w.skipString();
              w.skipString();
            }
            break;
          case RdbOpcode.EXPIRETIME_MS:
            w.need(8);
            expiresAt = Number(w.buf.readBigInt64LE(w.pos));
            w.pos += 8;
            break;
          case RdbOpcode.EXPIRETIME:
            w.need(4);
            expiresAt = w.buf.readInt32LE(w.pos) * 1000;
            w.pos += 4;
            break;
          case RdbOpcode.IDLE:
            if (w.pos < w.buf.length && w.buf[w.pos] === 0x81 && !exact) return null;
            lruIdle = w.lenNumber();
            break;
          case RdbOpcode.FREQ:
            lfuFreq = w.u8();
            break;
          case RdbOpcode.FUNCTION2: {
            const code = options.onFunction || onRecord ? w.string() : null;
            if (code === null) w.skipString();
            else {
              await call(options.onFunction, code);
              if (onRecord)
                await call(onRecord, { kind: 'function', code: Buffer.from(code) }, w.base + w.pos);
            }
            functions++;
            break;
          }
          case RdbOpcode.SLOT_INFO: {
            if (version < 12) {
              if (!exact) return null;
              unknownOpcode(op, w.flavor, version, fail, w.base + start);
            }
            const slot = w.len();
            const slotSize = w.len();
            const expiresSlotSize = w.len();
            if (onRecord)
              await call(onRecord, { kind: 'slot-info', slot, slotSize, expiresSlotSize }, w.base + w.pos);
            break;
          }
          case RdbOpcode.MODULE_AUX: {
            if (!exact) return null;
            const from = w.pos;
            const moduleId = w.lenBigValue();
            const when = w.len();
            if (when !== ModuleOpcode.UINT)
              fail('ERR_RDB_CORRUPT_MODULE', `MODULE_AUX: expected the UINT "when" opcode, got ${when}`);
            w.lenBig();
            walkModuleOpcodes(w);
            const raw = Buffer.from(w.buf.subarray(from, w.pos));
            const moduleName = decodeModuleId(moduleId).name;
            await call(onRecord, { kind: 'module-aux', moduleId, moduleName, raw }, w.base + w.pos);
            break;
          }
          case RdbOpcode.SLOT_IMPORT: {
            if (!exact) return null;
            if (w.flavor !== 'valkey') unknownOpcode(op, w.flavor, version, fail, w.base + start);
            w.skipString(); // the job name
            const ranges = w.count(2);
            for (let i = 0; i < 2 * ranges; i++) w.len();
            await warn(
              'slot-import-skipped',
              `skipped Valkey atomic slot migration state (${ranges} slot range(s))`,
              w.base + w.pos,
              db,
            );
            break;
          }
          case RdbOpcode.FUNCTION_PRE_GA:
            if (!exact) return null;
            fail(
              'ERR_RDB_UNKNOWN_OPCODE',
              'FUNCTION_PRE_GA (0xF6, Redis 7.0 release candidates) is not supported',
              'Load the file into Redis 7.0 GA and save it again',
              w.base + start,
            );
            break;
          default:
            if (!exact) return null;
            unknownOpcode(op, w.flavor, version, fail, w.base + start);
        }
      } catch (err) {
        if (err !== NEED_MORE) throw err;
        // The record does not fit: keep it, read more (at least what the read that stopped
        // needs, else doubling for big records), retry it.
        keyView = undefined;
        const size = w.buf.length - start;
        const needed = Math.max(size + 1, w.wanted - start);
        if (needed > maxRecord) return null;
        await refill(start, Math.max(needed, Math.min(maxRecord, Math.max(1 << 20, size * 2))));
      }
    }
  } catch (err) {
    if (callbackError) throw callbackError.err;
    if (!exact) return null;
    // Exact mode: every failure is a typed error saying what, where and in which key.
    if (err instanceof RdbError) throw err;
    if (err === GIVE_UP) {
      const { code, reason } = lastGiveUp;
      const container = CONTAINER_CODES.has(code);
      const what = container ? containerWhat(keyType) : undefined;
      // A bad length or container is reported where it starts, the rest where it was found.
      const at = container || code === 'ERR_RDB_BAD_LENGTH' ? w.base + w.lenAt : w.base + w.pos;
      return fail(code, what ? `${what} integrity check failed: ${reason}` : reason, undefined, at);
    }
    return fail(
      'ERR_RDB_CORRUPT_VALUE',
      `the value is malformed (${(err as Error)?.message ?? String(err)})`,
    );
  }
}

/** Hints for the failures of an exact walk, by code. */
const HINTS: Partial<Record<RdbErrorCode, string>> = {
  ERR_RDB_TRUNCATED: 'The file is incomplete (interrupted copy or save); take a fresh snapshot',
  ERR_RDB_BAD_LENGTH: 'The length is corrupt or the file is truncated',
  ERR_RDB_DUPLICATE: 'The server refuses such a value (sanitize-dump-payload yes); the file is corrupt',
  ERR_RDB_UNKNOWN_TYPE: 'The file is corrupt or uses a type this reader does not know',
  ERR_RDB_UNKNOWN_OPCODE: 'The file is corrupt or comes from a newer server than this reader knows',
};

const CONTAINER_CODES = new Set<RdbErrorCode>([
  'ERR_RDB_CORRUPT_LISTPACK',
  'ERR_RDB_CORRUPT_ZIPLIST',
  'ERR_RDB_CORRUPT_INTSET',
  'ERR_RDB_CORRUPT_ZIPMAP',
]);

/** What a value type's container is called in messages. */
function containerWhat(type: number): string | undefined {
  switch (type) {
    case RdbType.HASH_ZIPMAP:
      return 'zipmap';
    case RdbType.LIST_ZIPLIST:
      return 'list ziplist';
    case RdbType.SET_INTSET:
      return 'intset';
    case RdbType.ZSET_ZIPLIST:
      return 'zset ziplist';
    case RdbType.HASH_ZIPLIST:
      return 'hash ziplist';
    case RdbType.SET_LISTPACK:
      return 'set listpack';
    case RdbType.ZSET_LISTPACK:
      return 'zset listpack';
    case RdbType.HASH_LISTPACK:
    case RdbType.TYPE_23:
    case RdbType.REDIS_HASH_LISTPACK_EX:
      return 'hash listpack';
    case RdbType.LIST_QUICKLIST:
      return 'quicklist ziplist node';
    case RdbType.LIST_QUICKLIST_2:
      return 'quicklist listpack node';
    case RdbType.STREAM_LISTPACKS:
    case RdbType.STREAM_LISTPACKS_2:
    case RdbType.STREAM_LISTPACKS_3:
      return 'stream listpack';
    default:
      return undefined;
  }
}

type Fail = (code: RdbErrorCode, message: string, hint?: string, at?: number) => never;

/** Refuses a header the reader cannot read (exact mode). */
function checkHeader(header: RdbHeader | null, head: string, allowUnknown: boolean, fail: Fail): void {
  if (header === null) {
    const hint = head.startsWith('*')
      ? 'This looks like RESP text (an AOF or .valkey file), not an RDB'
      : head.startsWith('$')
        ? 'This looks like a replication stream ($<len> / $EOF: framing); strip the framing first'
        : 'An RDB file starts with REDIS0011 or VALKEY080';
    fail('ERR_RDB_BAD_MAGIC', `wrong signature ${JSON.stringify(head)}`, hint, 0);
    return;
  }
  if (header.version < 1)
    fail(
      'ERR_RDB_BAD_MAGIC',
      `wrong signature ${JSON.stringify(head)}: the version is not a positive number`,
      'An RDB file starts with REDIS0011 or VALKEY080',
      0,
    );
  if (!header.known && !allowUnknown)
    fail(
      'ERR_RDB_UNSUPPORTED_VERSION',
      `RDB format version ${header.version} (${head}) is not supported; this reader knows REDIS0001-REDIS00${KNOWN_REDIS_VERSION} and VALKEY080-VALKEY081`,
      'Pass allowUnknownVersion: true to try anyway (reading fails at the first unknown type or opcode)',
      5,
    );
}

/** Refuses a value type a file of this flavor and version cannot hold (exact mode). */
function checkType(op: number, flavor: 'redis' | 'valkey', version: number, fail: Fail, at: number): void {
  if (op === RdbType.MODULE_PRE_GA)
    fail(
      'ERR_RDB_UNSUPPORTED_VALUE',
      'module value of pre-GA format (type 6) is not supported',
      undefined,
      at,
    );
  if (op === RdbType.TYPE_23 && flavor === 'valkey')
    fail('ERR_RDB_UNKNOWN_TYPE', 'type 23 (Valkey 9.2 PATH_HASH) is not supported yet', undefined, at);
  if (encodingName(op, flavor, version) === undefined)
    fail(
      'ERR_RDB_UNKNOWN_TYPE',
      `unknown value type ${op} for ${flavor === 'valkey' ? 'VALKEY' : 'REDIS'}${version} files`,
      undefined,
      at,
    );
}

function unknownOpcode(
  op: number,
  flavor: 'redis' | 'valkey',
  version: number,
  fail: Fail,
  at: number,
): never {
  return fail(
    op < 0xf0 ? 'ERR_RDB_UNKNOWN_TYPE' : 'ERR_RDB_UNKNOWN_OPCODE',
    `unknown opcode or type ${op} (0x${op.toString(16)}) for ${flavor === 'valkey' ? 'VALKEY' : 'REDIS'}${version} files`,
    undefined,
    at,
  );
}

/** What a snapshot holds before its keys (see `readPreamble`). */
export interface SnapshotPreamble {
  header: RdbHeader;
  /** Offset of the first SELECTDB (of the EOF, for a snapshot without keys): the keys start there. */
  bodyStart: number;
  /** The function libraries (FUNCTION2 payloads). */
  functions: Buffer[];
  /** The first db's key count by its RESIZEDB hint (0 without keys). */
  keys: number;
}

/**
 * Reads what an RDB holds before its first db: the header, AUX fields, function libraries, and
 * the first db's SELECTDB and RESIZEDB hint (a server writes both before a db's keys). `'more'`
 * when `buf` ends before that; null when it holds anything else there (module AUX data, an
 * unknown opcode, no RESIZEDB hint, a version before 7 or newer than known).
 */
export function readPreamble(buf: Buffer): SnapshotPreamble | 'more' | null {
  if (buf.length < RDB_HEADER_BYTES) return 'more';
  const header = parseRdbHeader(buf.toString('latin1', 0, RDB_HEADER_BYTES));
  if (header === null || !header.known || header.version < 7) return null;
  const w = new Walker(1 << 30);
  w.buf = buf;
  w.pos = RDB_HEADER_BYTES;
  w.version = header.version;
  w.flavor = header.flavor;
  const functions: Buffer[] = [];
  try {
    for (;;) {
      const at = w.pos;
      const op = w.u8();
      if (op === RdbOpcode.AUX) {
        w.skipString();
        w.skipString();
      } else if (op === RdbOpcode.FUNCTION2) functions.push(Buffer.from(w.string()));
      else if (op === RdbOpcode.EOF) return { header, bodyStart: at, functions, keys: 0 };
      else if (op === RdbOpcode.SELECTDB) {
        w.len();
        if (w.u8() !== RdbOpcode.RESIZEDB) return null;
        const keys = w.lenNumber();
        w.lenBig();
        return { header, bodyStart: at, functions, keys };
      } else return null;
    }
  } catch (err) {
    return err === NEED_MORE ? 'more' : null;
  }
}

/** Where and why `checkValueBytes` refused a value. */
export interface ValueCheckFailure {
  code: RdbErrorCode;
  reason: string;
  /** Offset in `buf` where the problem was found. */
  offset: number;
  /** The value is an empty collection (else well formed, when `offset` is its end). */
  empty?: true;
}

/**
 * Checks one value of RDB `type` in buf[start, end) with the server's deep sanitization rules
 * (as `walkValue`), synchronously; the value must fill the range exactly. Returns null when it
 * passes. (Used by `checkDumpPayload`.)
 */
export function checkValueBytes(
  buf: Buffer,
  type: number,
  start: number,
  end: number,
  version: number,
  maxString = 1 << 30,
): ValueCheckFailure | null {
  const w = new Walker(maxString);
  w.buf = buf.subarray(0, end);
  w.pos = start;
  w.atEnd = true;
  w.total = end;
  w.version = version;
  w.flavor = version >= 80 ? 'valkey' : 'redis';
  try {
    walkValue(w, type);
  } catch (err) {
    if (err !== GIVE_UP) throw err;
    const failure: ValueCheckFailure = {
      code: lastGiveUp.code,
      reason: lastGiveUp.reason,
      offset: Math.min(w.pos, end),
    };
    if (lastGiveUp.reason === EMPTY_KEY) failure.empty = true;
    return failure;
  }
  if (w.pos !== end) {
    return {
      code: 'ERR_RDB_BAD_PAYLOAD',
      reason: `the value ends at byte ${w.pos}, ${end - w.pos} byte(s) before the version footer`,
      offset: w.pos,
    };
  }
  return null;
}
