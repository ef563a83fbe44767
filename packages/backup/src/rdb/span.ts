/**
 * Reading values the structure walk (`walk.ts`) has already checked, straight from the
 * input window: strings, lengths, listpacks and intsets element by element, without building
 * records or one object per element. Nothing is validated again (the walk did it), so these must
 * only ever see a value range the walk accepted.
 *
 * The encoders that turn RDB into other formats without a record model (`resp/rdb-to-resp.ts`)
 * sit on top of this.
 */
import type {
  HashEntry,
  KeyRecord,
  StreamConsumer,
  StreamEntry,
  StreamGroup,
  StreamId,
  StreamPendingEntry,
  StreamValue,
  Value,
  ZSetEntry,
} from '../model.js';
import { RdbType, decodeModuleId, encodingName } from './constants.js';
import {
  type PackedValue,
  backlenSize,
  packedToBuffer,
  parseListpack,
  parseZiplist,
  parseZipmap,
} from './containers.js';
import type { KeySpan } from './walk.js';
import { type LzfMemo, lzfDecompressInto } from './lzf.js';
import { asciiScore, listpackScore, string2ll } from './numbers.js';

/** An element of a container: bytes `buf[s, e)`, or an integer (`int`, `big` beyond 2^53). */
export interface Element {
  /** True for an integer element (`int`, or `big` when it does not fit a double exactly). */
  isInt: boolean;
  int: number;
  big: bigint | null;
  buf: Buffer;
  s: number;
  e: number;
}

const EMPTY = Buffer.alloc(0);
let ZEROS = Buffer.alloc(1 << 16);

/** `n` zero bytes (a view of a shared buffer: never written). */
function zeros(n: number): Buffer {
  if (n > ZEROS.length) ZEROS = Buffer.alloc(Math.max(n, ZEROS.length * 2));
  return ZEROS.subarray(0, n);
}
const SAFE = 9007199254740991n;

/** Reads checked RDB encodings from `buf` at `pos`. */
export class SpanReader implements Element {
  buf: Buffer = EMPTY;
  pos = 0;
  // The last string read: buf[s, e) (a view of the window or of a scratch buffer), or an integer.
  isInt = false;
  int = 0;
  big: bigint | null = null;
  s = 0;
  e = 0;
  /** Where the last string's bytes are (`this.buf` is the window: they may live elsewhere). */
  sbuf: Buffer = EMPTY;
  private lzfOut: Buffer = Buffer.allocUnsafe(1 << 16);

  /** LZF strings the walk kept decompressed for this value, and the next entry to look at. */
  private memo: LzfMemo | undefined;
  private memoNext = 0;

  at(buf: Buffer, pos: number): void {
    this.buf = buf;
    this.pos = pos;
    this.memo = undefined;
  }

  /** At the start of a walked key's value (using the LZF strings the walk kept). */
  atSpan(span: KeySpan): void {
    this.buf = span.buf;
    this.pos = span.valueStart;
    this.memo = span.lzf;
    this.memoNext = 0;
  }

  u8(): number {
    return this.buf[this.pos++]!;
  }

  /** A length (the string encodings must not appear here). */
  len(): number {
    const buf = this.buf;
    const b = buf[this.pos++]!;
    if (b < 0x40) return b;
    if (b < 0x80) return ((b & 0x3f) << 8) | buf[this.pos++]!;
    if (b === 0x80) {
      const v = buf.readUInt32BE(this.pos);
      this.pos += 4;
      return v;
    }
    if (b === 0x81) {
      const v = Number(buf.readBigUInt64BE(this.pos));
      this.pos += 8;
      return v;
    }
    return b & 0x3f;
  }

  /** A little-endian double (ZSET_2 scores). */
  f64(): number {
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length as an unsigned 64-bit bigint (stream ids and counters). */
  lenBig(): bigint {
    if (this.buf[this.pos] !== 0x81) return BigInt(this.len());
    const v = this.buf.readBigUInt64BE(this.pos + 1);
    this.pos += 9;
    return v;
  }

  /** A stream id stored as two lengths. */
  lenId(): StreamId {
    const ms = this.lenBig();
    return { ms, seq: this.lenBig() };
  }

  /** A stream id stored as 16 big-endian bytes. */
  rawId(): StreamId {
    const buf = this.buf;
    const id = { ms: buf.readBigUInt64BE(this.pos), seq: buf.readBigUInt64BE(this.pos + 8) };
    this.pos += 16;
    return id;
  }

  /** A little-endian signed 64-bit millisecond time. */
  millis(): number {
    const v = Number(this.buf.readBigInt64LE(this.pos));
    this.pos += 8;
    return v;
  }

  /**
   * Reads a string: sets `sbuf[s, e)`, or `isInt`/`int` for an integer encoding. An LZF string is
   * decompressed into a scratch buffer the next LZF string overwrites.
   */
  string(): void {
    const buf = this.buf;
    let p = this.pos;
    const b = buf[p]!;
    let n: number;
    this.isInt = false;
    if (b < 0x40) {
      n = b;
      p += 1;
    } else if (b < 0x80) {
      n = ((b & 0x3f) << 8) | buf[p + 1]!;
      p += 2;
    } else if (b === 0x80) {
      n = buf.readUInt32BE(p + 1);
      p += 5;
    } else if (b === 0x81) {
      n = Number(buf.readBigUInt64BE(p + 1));
      p += 9;
    } else {
      this.encoded(b & 0x3f);
      return;
    }
    this.sbuf = buf;
    this.s = p;
    this.e = p + n;
    this.pos = p + n;
  }

  /**
   * When the next string is LZF-compressed: moves past it and returns its length (not
   * decompressing it); -1, with nothing consumed, for any other string.
   */
  lzfLength(): number {
    if (this.buf[this.pos] !== 0xc3) return -1;
    this.pos++;
    const clen = this.len();
    const ulen = this.len();
    this.pos += clen;
    return ulen;
  }

  private encoded(kind: number): void {
    const buf = this.buf;
    const p = this.pos + 1;
    if (kind === 0) {
      this.isInt = true;
      this.int = buf.readInt8(p);
      this.pos = p + 1;
    } else if (kind === 1) {
      this.isInt = true;
      this.int = buf.readInt16LE(p);
      this.pos = p + 2;
    } else if (kind === 2) {
      this.isInt = true;
      this.int = buf.readInt32LE(p);
      this.pos = p + 4;
    } else {
      this.pos = p;
      const clen = this.len();
      const ulen = this.len();
      const at = this.pos;
      this.pos = at + clen;
      this.sbuf = this.lzfOut;
      this.s = this.e = 0;
      if (ulen === 0) return;
      const memo = this.memo;
      if (memo !== undefined) {
        const i = memo.find(at, this.memoNext);
        if (i >= 0) {
          this.memoNext = i + 1;
          this.sbuf = memo.out;
          this.s = memo.start(i);
          this.e = this.s + ulen;
          return;
        }
      }
      if (ulen > this.lzfOut.length) {
        this.lzfOut = Buffer.allocUnsafe(Math.max(ulen, this.lzfOut.length * 2));
        this.sbuf = this.lzfOut;
      }
      lzfDecompressInto(buf, at, at + clen, this.lzfOut, ulen);
      this.e = ulen;
    }
  }
}

/** Walks the elements of a checked listpack in `buf[start, ...)`. */
export class ListpackCursor implements Element {
  buf: Buffer = EMPTY;
  private p = 0;
  isInt = false;
  int = 0;
  big: bigint | null = null;
  s = 0;
  e = 0;

  open(buf: Buffer, start: number): void {
    this.buf = buf;
    this.p = start + 6;
  }

  /** The listpack's element count from its header (65535: count by walking). */
  static declared(buf: Buffer, start: number): number {
    return buf.readUInt16LE(start + 4);
  }

  /** Moves to the next element; false at the end. */
  next(): boolean {
    const buf = this.buf;
    let p = this.p;
    const b = buf[p]!;
    if (b === 0xff) return false;
    const from = p;
    if ((b & 0x80) === 0) {
      this.isInt = true;
      this.int = b;
      p += 1;
    } else if ((b & 0xc0) === 0x80) {
      this.isInt = false;
      this.s = p + 1;
      p += 1 + (b & 0x3f);
      this.e = p;
    } else if ((b & 0xe0) === 0xc0) {
      this.isInt = true;
      const v = ((b & 0x1f) << 8) | buf[p + 1]!;
      this.int = v >= 4096 ? v - 8192 : v;
      p += 2;
    } else if ((b & 0xf0) === 0xe0) {
      this.isInt = false;
      this.s = p + 2;
      p += 2 + (((b & 0x0f) << 8) | buf[p + 1]!);
      this.e = p;
    } else if (b === 0xf1) {
      this.isInt = true;
      this.int = buf.readInt16LE(p + 1);
      p += 3;
    } else if (b === 0xf2) {
      this.isInt = true;
      this.int = buf.readIntLE(p + 1, 3);
      p += 4;
    } else if (b === 0xf3) {
      this.isInt = true;
      this.int = buf.readInt32LE(p + 1);
      p += 5;
    } else if (b === 0xf4) {
      this.isInt = true;
      const v = buf.readBigInt64LE(p + 1);
      if (v >= -SAFE && v <= SAFE) this.int = Number(v);
      else {
        this.int = Number.NaN;
        this.big = v;
      }
      p += 9;
    } else {
      // 0xf0: 32-bit string length.
      this.isInt = false;
      this.s = p + 5;
      p += 5 + buf.readUInt32LE(p + 1);
      this.e = p;
    }
    this.p = p + backlenSize(p - from);
    return true;
  }
}

/** The element as text: the bytes, or an integer's decimal digits (for the rare slow paths). */
/** The element count of the (checked) intset at `s`. */
export function intsetCount(b: Buffer, s: number): number {
  return b.readUInt32LE(s + 4);
}

/** Element `i` of the (checked) intset at `s`: a number, or a bigint for 64-bit encodings. */
export function intsetElement(b: Buffer, s: number, i: number): number | bigint {
  const width = b.readUInt32LE(s);
  const at = s + 8;
  if (width === 2) return b.readInt16LE(at + 2 * i);
  if (width === 4) return b.readInt32LE(at + 4 * i);
  return b.readBigInt64LE(at + 8 * i);
}

export function elementBytes(el: Element): Buffer {
  if (!el.isInt) return el.buf.subarray(el.s, el.e);
  return Buffer.from(Number.isNaN(el.int) ? String(el.big) : String(el.int));
}

/**
 * The element (or string) just read as bytes a value may keep: a view of the window, a copy when
 * `copy` (its bytes were decompressed into a scratch buffer the next read overwrites).
 */
function keptBytes(el: Element, copy: boolean): Buffer {
  return copy && !el.isInt ? Buffer.from(el.buf.subarray(el.s, el.e)) : elementBytes(el);
}

/**
 * The sizes of a key's value, read without making it: a string's length (and whether it is an
 * integer), what a listpack set, hash, sorted set or one-node list holds, or an intset's.
 */
export type PackedSummary = StringSummary | ListpackSummary | IntsetSummary;

export interface IntsetSummary {
  type: 'intset';
  elements: number;
  /** Bytes of the longest member's decimal text. */
  largest: number;
  /** Bytes per member the server's intset needs for these members (2, 4 or 8). */
  width: number;
}

export interface StringSummary {
  type: 'string';
  /** Bytes of the value (of its decimal text, for an integer). */
  length: number;
  /** The value is an integer the server keeps as one (int64, as `string2ll` reads it). */
  isInt: boolean;
}

export interface ListpackSummary {
  type: 'set' | 'hash' | 'zset' | 'list';
  /** Members (set, sorted set), fields (hash) or items (list). */
  elements: number;
  /** Bytes of the longest member (scores aside) or of the longest field or value, as text. */
  largest: number;
  /** Bytes of the listpack itself: what a server that loads it keeps. */
  listpackBytes: number;
  /** Every member of a set is an integer. */
  allInts: boolean;
}

/**
 * The digits of `b[s, e)` when it is an integer as Valkey's `string2ll` writes one (an optional
 * `-`, no leading zero, only digits), else -1.
 */
function strictIntDigits(b: Buffer, s: number, e: number): number {
  let i = s;
  if (b[i] === 0x2d) i++;
  const n = e - i;
  if (n <= 0 || n > 20) return -1;
  if (b[i] === 0x30) return n === 1 && i === s ? 1 : -1;
  for (let j = i; j < e; j++) {
    const c = b[j]!;
    if (c < 0x30 || c > 0x39) return -1;
  }
  return n;
}

/** Length of the decimal text of an integer element. */
function intTextLength(lp: Element): number {
  if (Number.isNaN(lp.int)) return String(lp.big).length;
  let v = lp.int;
  let n = 1;
  if (v < 0) {
    n++;
    v = -v;
  }
  for (; v >= 10; v = Math.floor(v / 10)) n++;
  return n;
}

/** A list held in one listpack node (a quicklist of one packed node); null for any other. */
function listSummary(span: KeySpan, r: SpanReader, lp: ListpackCursor): ListpackSummary | null {
  r.atSpan(span);
  if (r.len() !== 1 || r.len() !== 2) return null;
  r.string();
  lp.open(r.sbuf, r.s);
  let elements = 0;
  let largest = 0;
  while (lp.next()) {
    elements++;
    const n = lp.isInt ? intTextLength(lp) : lp.e - lp.s;
    if (n > largest) largest = n;
  }
  return { type: 'list', elements, largest, listpackBytes: r.e - r.s, allInts: false };
}

/** A string value's length and integer-ness; null for 19 digits or more (int64 or not: the bytes tell). */
function stringSummary(span: KeySpan, r: SpanReader): StringSummary | null {
  r.atSpan(span);
  const packed = r.lzfLength();
  // The server compresses no value of 20 bytes or less: a longer one is no integer.
  if (packed > 20) return { type: 'string', length: packed, isInt: false };
  if (packed >= 0) r.atSpan(span);
  r.string();
  if (r.isInt) return { type: 'string', length: intTextLength(r), isInt: true };
  const length = r.e - r.s;
  if (length > 20) return { type: 'string', length, isInt: false };
  const digits = strictIntDigits(r.sbuf, r.s, r.e);
  if (digits > 18) return null;
  return { type: 'string', length, isInt: digits >= 0 };
}

/**
 * The sizes of a string, of a list in one listpack node, or of a listpack set, hash or sorted
 * set, from the window, without copying an element; null for other encodings, and for a set with
 * a string member of 19 digits or more that reads as an integer (whether it fits int64 is left to
 * the elements).
 */
export function packedSummary(span: KeySpan, r: SpanReader, lp: ListpackCursor): PackedSummary | null {
  const t = span.type;
  if (t === RdbType.STRING) return stringSummary(span, r);
  if (t === RdbType.LIST_QUICKLIST_2) return listSummary(span, r, lp);
  if (t === RdbType.SET_INTSET) return intsetSummary(span, r);
  if (t !== RdbType.SET_LISTPACK && t !== RdbType.HASH_LISTPACK && t !== RdbType.ZSET_LISTPACK) return null;
  r.atSpan(span);
  r.string();
  const b = r.sbuf;
  lp.open(b, r.s);
  let elements = 0;
  let largest = 0;
  let allInts = true;
  const length = () => (lp.isInt ? intTextLength(lp) : lp.e - lp.s);
  if (t === RdbType.SET_LISTPACK) {
    while (lp.next()) {
      elements++;
      if (!lp.isInt) {
        // A string member that reads as an integer still counts as one (as `strictInt64` says):
        // the syntax is checked here, and a long one (it may not fit int64) is left to the elements.
        const digits = strictIntDigits(b, lp.s, lp.e);
        if (digits < 0) allInts = false;
        else if (digits > 18) return null;
      }
      const n = length();
      if (n > largest) largest = n;
    }
  } else {
    const hash = t === RdbType.HASH_LISTPACK;
    while (lp.next()) {
      elements++;
      const n = length();
      if (n > largest) largest = n;
      lp.next();
      if (hash) {
        const v = length();
        if (v > largest) largest = v;
      }
    }
  }
  return {
    type: t === RdbType.SET_LISTPACK ? 'set' : t === RdbType.HASH_LISTPACK ? 'hash' : 'zset',
    elements,
    largest,
    listpackBytes: r.e - r.s,
    allInts,
  };
}

/**
 * An intset's members are sorted (the walk checked it): the first and the last give the width
 * and the longest decimal text.
 */
function intsetSummary(span: KeySpan, r: SpanReader): IntsetSummary {
  r.atSpan(span);
  r.string();
  const b = r.sbuf;
  const elements = intsetCount(b, r.s);
  const min = intsetElement(b, r.s, 0);
  const max = intsetElement(b, r.s, elements - 1);
  const width = min >= -32768 && max <= 32767 ? 2 : min >= -2147483648 && max <= 2147483647 ? 4 : 8;
  return { type: 'intset', elements, largest: Math.max(String(min).length, String(max).length), width };
}

/**
 * The value of a key the walk checked, in the record model, decoded synchronously from the window
 * (every encoding; collections stored element by element or in nodes through `ValueCursor`; null
 * only for a type the walk does not know). Elements are views of the window where they can be (valid while the span is),
 * copies where they were decompressed. With `lengthsOnly`, an LZF-compressed string value longer
 * than 20 bytes is not decompressed: its bytes are zeros (for consumers that only measure it).
 */
export function spanValue(
  span: KeySpan,
  r: SpanReader,
  lp: ListpackCursor,
  lengthsOnly = false,
): Value | null {
  const window = span.buf;
  r.atSpan(span);
  if (lengthsOnly && span.type === RdbType.STRING) {
    // An LZF string value is longer than 20 bytes (the server compresses no shorter one): a
    // consumer measuring it needs no bytes, so it gets zeros of its length.
    const n = r.lzfLength();
    if (n > 20) return { type: 'string', value: zeros(n) };
    // A short one (no server writes it, a file may): read as any other string.
    if (n >= 0) r.atSpan(span);
  }
  switch (span.type) {
    case RdbType.STRING:
      r.string();
      return { type: 'string', value: stringBytes(r, window) };
    case RdbType.LIST:
    case RdbType.SET:
    case RdbType.ZSET:
    case RdbType.ZSET_2:
    case RdbType.HASH:
    case RdbType.HASH_2:
    case RdbType.REDIS_HASH_METADATA:
    case RdbType.LIST_QUICKLIST:
    case RdbType.LIST_QUICKLIST_2:
    case RdbType.STREAM_LISTPACKS:
    case RdbType.STREAM_LISTPACKS_2:
    case RdbType.STREAM_LISTPACKS_3: {
      const cursor = wholeValue;
      cursor.open(span, r, lp);
      const value = cursor.next(Number.POSITIVE_INFINITY);
      if (value.type === 'stream') Object.assign(value, cursor.streamRest());
      return value;
    }
    case RdbType.SET_INTSET: {
      r.string();
      const b = r.sbuf;
      const count = intsetCount(b, r.s);
      const members: Buffer[] = new Array(count);
      for (let i = 0; i < count; i++) members[i] = Buffer.from(String(intsetElement(b, r.s, i)));
      return { type: 'set', members };
    }
    case RdbType.SET_LISTPACK:
    case RdbType.HASH_LISTPACK:
    case RdbType.ZSET_LISTPACK: {
      r.string();
      const copy = r.sbuf !== window;
      const b = r.sbuf;
      lp.open(b, r.s);
      if (span.type === RdbType.SET_LISTPACK) {
        const members: Buffer[] = [];
        while (lp.next()) members.push(keptBytes(lp, copy));
        return { type: 'set', members };
      }
      if (span.type === RdbType.HASH_LISTPACK) {
        const entries: HashEntry[] = [];
        while (lp.next()) {
          const field = keptBytes(lp, copy);
          lp.next();
          entries.push({ field, value: keptBytes(lp, copy) });
        }
        return { type: 'hash', entries };
      }
      const entries: ZSetEntry[] = [];
      while (lp.next()) {
        const member = keptBytes(lp, copy);
        lp.next();
        const score = lp.isInt
          ? Number.isNaN(lp.int)
            ? Number(lp.big)
            : lp.int
          : listpackScore(b, lp.s, lp.e);
        entries.push({ member, score });
      }
      return { type: 'zset', entries };
    }
    default:
      return rareValue(span, r);
  }
}

/**
 * What a walked key's record holds before its value: `kind`, db, the key (a copy), the encoding
 * name, expiry and LRU/LFU data (for a `key` record, or a `key-begin` one of a key in parts).
 */
export function spanKeyHead<K extends string>(
  kind: K,
  span: KeySpan,
): Omit<KeyRecord, 'kind' | 'value'> & { kind: K } {
  const rec = {
    kind,
    db: span.db,
    key: Buffer.from(span.keyBuf.subarray(span.keyStart, span.keyEnd)),
    encoding: encodingName(span.type, span.flavor ?? 'redis', span.version ?? 11) ?? 'unknown',
  } as Omit<KeyRecord, 'kind' | 'value'> & { kind: K };
  if (span.expiresAt !== undefined) rec.expiresAt = span.expiresAt;
  if (span.lruIdle !== undefined) rec.lruIdle = span.lruIdle;
  if (span.lfuFreq !== undefined) rec.lfuFreq = span.lfuFreq;
  return rec;
}

/**
 * A walked key as a record, decoded from the window (`spanValue`: every encoding). The key is a
 * copy; the elements may be views of the window, valid while the span is.
 */
export function spanKeyRecord(
  span: KeySpan,
  r: SpanReader,
  lp: ListpackCursor,
  lengthsOnly = false,
): KeyRecord {
  const rec = spanKeyHead('key', span) as KeyRecord;
  const value = spanValue(span, r, lp, lengthsOnly);
  if (value === null) throw new Error(`value type ${span.type} has no reader`);
  rec.value = value;
  return rec;
}

/** The walk checked these containers: a failure here is a bug, not bad input. */
const checked = (m: string): never => {
  throw new Error(`a checked container failed to parse: ${m}`);
};

/** The string `r` just read, as bytes a value may keep (a copy when it was decompressed). */
function stringBytes(r: SpanReader, window: Buffer): Buffer {
  if (r.isInt) return Buffer.from(String(r.int));
  const b = r.sbuf.subarray(r.s, r.e);
  return r.sbuf === window ? b : Buffer.from(b);
}

/** The elements of the container string `r` just read (copies when it was decompressed). */
function packed(
  r: SpanReader,
  window: Buffer,
  parse: (b: Buffer, fail: typeof checked) => PackedValue[],
): Buffer[] {
  const vals = parse(r.sbuf.subarray(r.s, r.e), checked);
  const copy = r.sbuf !== window;
  const out: Buffer[] = new Array(vals.length);
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i]!;
    out[i] = typeof v === 'object' && copy ? Buffer.from(v) : packedToBuffer(v);
  }
  return out;
}

/**
 * The compact old and rare encodings (ziplists, zipmaps, module values, listpacks with field
 * TTLs), read from the window like `spanValue` reads the modern ones.
 */
function rareValue(span: KeySpan, r: SpanReader): Value | null {
  const window = span.buf;
  switch (span.type) {
    case RdbType.HASH_ZIPMAP: {
      r.string();
      const copy = r.sbuf !== window;
      const pairs = parseZipmap(r.sbuf.subarray(r.s, r.e), checked);
      return {
        type: 'hash',
        entries: pairs.map(([field, value]) =>
          copy ? { field: Buffer.from(field), value: Buffer.from(value) } : { field, value },
        ),
      };
    }
    case RdbType.LIST_ZIPLIST:
      r.string();
      return { type: 'list', items: packed(r, window, parseZiplist) };
    case RdbType.ZSET_ZIPLIST:
    case RdbType.HASH_ZIPLIST: {
      r.string();
      const vals = packed(r, window, parseZiplist);
      if (span.type === RdbType.HASH_ZIPLIST) {
        const entries: HashEntry[] = new Array(vals.length / 2);
        for (let i = 0; i < vals.length; i += 2) entries[i / 2] = { field: vals[i]!, value: vals[i + 1]! };
        return { type: 'hash', entries };
      }
      const entries: ZSetEntry[] = new Array(vals.length / 2);
      for (let i = 0; i < vals.length; i += 2)
        entries[i / 2] = { member: vals[i]!, score: listpackScore(vals[i + 1]!) /* zzlStrtod: "abc" is 0 */ };
      return { type: 'zset', entries };
    }
    case RdbType.MODULE_2: {
      const moduleId = r.lenBig();
      const { name, encodingVersion } = decodeModuleId(moduleId);
      const raw = Buffer.from(window.subarray(span.valueStart, span.valueEnd));
      return { type: 'module', moduleId, moduleName: name, encodingVersion, raw };
    }
    case RdbType.TYPE_23:
    case RdbType.REDIS_HASH_LISTPACK_EX: {
      if (span.type === RdbType.REDIS_HASH_LISTPACK_EX) r.pos += 8;
      r.string();
      const vals = packed(r, window, parseListpack);
      const entries: HashEntry[] = [];
      for (let i = 0; i < vals.length; i += 3) {
        const ms = Number(vals[i + 2]!.toString('latin1'));
        entries.push(
          ms === 0
            ? { field: vals[i]!, value: vals[i + 1]! }
            : { field: vals[i]!, value: vals[i + 1]!, expiresAt: ms },
        );
      }
      return { type: 'hash', entries };
    }
    default:
      return null;
  }
}

const U64_MAX = (1n << 64n) - 1n;

/** A (checked) listpack integer element, which a stream may also store as digits. */
function elementBig(el: Element): bigint {
  if (el.isInt) return Number.isNaN(el.int) ? el.big! : BigInt(el.int);
  return string2ll(el.buf, el.s, el.e) ?? 0n;
}

/** A (checked) small listpack integer element: a count or flags. */
export function elementCount(el: Element): number {
  return el.isInt && !Number.isNaN(el.int) ? el.int : Number(elementBig(el));
}

/**
 * A stream the walk checked, read from the window into the record model (what `decodeValue`
 * makes of it): entries in id order without the deleted ones, metadata, groups with their pending
 * entries and consumers. `nodeEnds` gets the entry count after each listpack node (where the
 * record reader may cut a big stream into parts).
 */
export function spanStream(
  span: KeySpan,
  r: SpanReader,
  lp: ListpackCursor,
  nodeEnds?: number[],
): StreamValue {
  const cursor = wholeValue;
  cursor.open(span, r, lp);
  const value = cursor.next(Number.POSITIVE_INFINITY, nodeEnds) as StreamValue;
  return Object.assign(value, cursor.streamRest());
}

/**
 * Reads the elements of a walked collection a part at a time (`spanValue` reads them all in one
 * part): lists, sets, sorted sets and hashes stored element by element, quicklists and streams.
 * Holding one part at a time is how the record reader delivers a huge key in bounded memory.
 */
export class ValueCursor {
  private r!: SpanReader;
  private lp!: ListpackCursor;
  private window: Buffer = EMPTY;
  private type = 0;
  /** Elements (nodes, for quicklists and streams) not read yet. */
  private left = 0;
  private valkeyTtls = false;
  private minExpire = 0n;

  /** At the start of `span`'s value (the walk checked it). */
  open(span: KeySpan, r: SpanReader, lp: ListpackCursor): void {
    this.r = r;
    this.lp = lp;
    this.window = span.buf;
    this.type = span.type;
    this.valkeyTtls = span.type === RdbType.HASH_2 && span.flavor === 'valkey';
    r.atSpan(span);
    this.minExpire = span.type === RdbType.REDIS_HASH_METADATA ? BigInt(r.millis()) : 0n;
    this.left = r.len();
  }

  /** True once every element was read. */
  get done(): boolean {
    return this.left === 0;
  }

  /**
   * The next part: up to `max` elements, or for quicklists and streams whole nodes until it
   * holds `max` or more (`nodeEnds` gets the element count after each node).
   */
  next(max: number, nodeEnds?: number[]): Value {
    const r = this.r;
    switch (this.type) {
      case RdbType.LIST:
      case RdbType.SET: {
        const n = Math.min(this.left, max);
        const out: Buffer[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.str();
        this.left -= n;
        return this.type === RdbType.LIST ? { type: 'list', items: out } : { type: 'set', members: out };
      }
      case RdbType.HASH: {
        const n = Math.min(this.left, max);
        const entries: HashEntry[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const field = this.str();
          entries[i] = { field, value: this.str() };
        }
        this.left -= n;
        return { type: 'hash', entries };
      }
      case RdbType.HASH_2:
      case RdbType.REDIS_HASH_METADATA: {
        const n = Math.min(this.left, max);
        const entries: HashEntry[] = new Array(n);
        for (let i = 0; i < n; i++) {
          let expiresAt: number | undefined;
          if (!this.valkeyTtls) {
            const ttl = r.lenBig();
            if (ttl !== 0n)
              expiresAt = Number(this.type === RdbType.HASH_2 ? ttl : ttl + this.minExpire - 1n);
          }
          const field = this.str();
          const value = this.str();
          if (this.valkeyTtls) {
            const ms = r.millis();
            if (ms !== -1) expiresAt = ms;
          }
          entries[i] = expiresAt === undefined ? { field, value } : { field, value, expiresAt };
        }
        this.left -= n;
        return { type: 'hash', entries };
      }
      case RdbType.ZSET:
      case RdbType.ZSET_2: {
        const n = Math.min(this.left, max);
        const entries: ZSetEntry[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const member = this.str();
          let score: number;
          if (this.type === RdbType.ZSET_2) score = r.f64();
          else {
            // Text scores (RDB < 8): 254/255 are +/-inf, else a length and the digits.
            const l = r.u8();
            if (l === 254) score = Number.POSITIVE_INFINITY;
            else if (l === 255) score = Number.NEGATIVE_INFINITY;
            else {
              score = asciiScore(r.buf, r.pos, r.pos + l)!;
              r.pos += l;
            }
          }
          entries[i] = { member, score };
        }
        this.left -= n;
        return { type: 'zset', entries };
      }
      case RdbType.LIST_QUICKLIST:
      case RdbType.LIST_QUICKLIST_2: {
        const items: Buffer[] = [];
        while (this.left > 0 && items.length < max) {
          this.quicklistNode(items);
          this.left--;
          nodeEnds?.push(items.length);
        }
        return { type: 'list', items };
      }
      default: {
        const entries: StreamEntry[] = [];
        while (this.left > 0 && entries.length < max) {
          this.streamNode(entries);
          this.left--;
          nodeEnds?.push(entries.length);
        }
        return { type: 'stream', entries, length: 0n, lastId: { ms: 0n, seq: 0n }, groups: [] };
      }
    }
  }

  /** The next string, as bytes (`stringBytes`). */
  private str(): Buffer {
    this.r.string();
    return stringBytes(this.r, this.window);
  }

  private quicklistNode(items: Buffer[]): void {
    const r = this.r;
    const v2 = this.type === RdbType.LIST_QUICKLIST_2;
    const container = v2 ? r.len() : 2;
    if (container === 1) {
      items.push(this.str());
      return;
    }
    r.string();
    const copy = r.sbuf !== this.window;
    if (v2) {
      const lp = this.lp;
      lp.open(r.sbuf, r.s);
      while (lp.next()) items.push(keptBytes(lp, copy));
      return;
    }
    for (const v of packed(r, this.window, parseZiplist)) items.push(v);
  }

  /** One stream node: its live entries in id order. */
  private streamNode(entries: StreamEntry[]): void {
    const r = this.r;
    const lp = this.lp;
    r.string();
    const ms = r.sbuf.readBigUInt64BE(r.s);
    const seq = r.sbuf.readBigUInt64BE(r.s + 8);
    r.string();
    const copy = r.sbuf !== this.window;
    const el = (): Buffer => {
      lp.next();
      return keptBytes(lp, copy);
    };
    lp.open(r.sbuf, r.s);
    lp.next();
    const live = elementBig(lp);
    lp.next();
    // Entries, deleted ones included (exact in bigints: the walk took any two that add up).
    let total = Number(live + elementBig(lp));
    lp.next();
    // A negative count holds nothing (the walk took it, as the server does).
    const primary = Math.max(0, elementCount(lp));
    const names: Buffer[] = new Array(primary);
    for (let j = 0; j < primary; j++) names[j] = el();
    lp.next(); // the master entry's terminator
    for (; total > 0; total--) {
      lp.next();
      const flags = lp.isInt && !Number.isNaN(lp.int) ? lp.int : Number(elementBig(lp) & 3n);
      lp.next();
      const msDiff = elementBig(lp);
      lp.next();
      const seqDiff = elementBig(lp);
      let fields: Array<[Buffer, Buffer]>;
      if (flags & 2) {
        // The master entry's fields: only the values follow.
        fields = new Array(primary);
        for (let j = 0; j < primary; j++) fields[j] = [names[j]!, el()];
      } else {
        lp.next();
        const n = Math.max(0, elementCount(lp));
        fields = new Array(n);
        for (let j = 0; j < n; j++) {
          const f = el();
          fields[j] = [f, el()];
        }
      }
      lp.next(); // the entry's lp-count
      if (!(flags & 1)) entries.push({ id: { ms: ms + msDiff, seq: seq + seqDiff }, fields });
    }
  }

  /** A stream's metadata and consumer groups (after its last node). */
  streamRest(): Omit<StreamValue, 'type' | 'entries'> {
    const r = this.r;
    const window = this.window;
    const v2 = this.type >= RdbType.STREAM_LISTPACKS_2;
    const length = r.lenBig();
    const rest: Omit<StreamValue, 'type' | 'entries'> = { length, lastId: r.lenId(), groups: [] };
    if (v2) {
      rest.firstId = r.lenId();
      rest.maxDeletedId = r.lenId();
      rest.entriesAdded = r.lenBig();
    }
    const name = (): Buffer => {
      r.string();
      if (r.isInt) return Buffer.from(String(r.int));
      return Buffer.from(r.sbuf.subarray(r.s, r.e));
    };
    const groups = r.len();
    for (let g = 0; g < groups; g++) {
      const group: StreamGroup = { name: name(), lastId: r.lenId(), pending: [], consumers: [] };
      if (v2) {
        const read = r.lenBig();
        if (read !== U64_MAX) group.entriesRead = read;
      }
      const pel = r.len();
      const byId = new Map<string, StreamPendingEntry>();
      for (let p = 0; p < pel; p++) {
        const raw = window.toString('latin1', r.pos, r.pos + 16);
        const id = r.rawId();
        const entry: StreamPendingEntry = { id, deliveryTime: r.millis(), deliveryCount: 0, consumer: EMPTY };
        entry.deliveryCount = Number(r.lenBig());
        byId.set(raw, entry);
        group.pending.push(entry);
      }
      const consumers = r.len();
      for (let c = 0; c < consumers; c++) {
        const consumer: StreamConsumer = { name: name(), seenTime: r.millis(), pending: [] };
        if (this.type >= RdbType.STREAM_LISTPACKS_3) consumer.activeTime = r.millis();
        const owned = r.len();
        for (let p = 0; p < owned; p++) {
          const owner = byId.get(window.toString('latin1', r.pos, r.pos + 16));
          const id = r.rawId();
          if (owner) owner.consumer = consumer.name;
          consumer.pending.push(id);
        }
        group.consumers.push(consumer);
      }
      rest.groups.push(group);
    }
    return rest;
  }
}

/** The cursor `spanValue` and `spanStream` read whole values with (synchronously: one at a time). */
const wholeValue = new ValueCursor();
