import { jemallocSize } from './jemalloc.js';

/**
 * Byte sizes of Valkey 8.0's in-memory building blocks (64-bit build), read from valkey-io/valkey
 * `server.h`, `sds.h`, `dict.c`, `quicklist.h`, `listpack.c`, `intset.h`, `t_zset.c`, `t_stream.c`,
 * `rax.h` and checked against `MEMORY USAGE` of a real valkey-server 8.0.1.
 */
export const SIZEOF = {
  robj: 16,
  dict: 56,
  dictEntry: 24,
  /** A set member whose bucket is taken gets a `{key, next}` entry (keys are stored in the bucket otherwise). */
  dictEntryNoValue: 16,
  bucket: 8,
  quicklist: 40,
  quicklistNode: 40,
  zset: 16,
  zskiplist: 32,
  /** `zskiplistNode` without its level array (ele, score, backward). */
  zskiplistNodeBase: 24,
  zskiplistLevel: 16,
  zskiplistMaxLevel: 32,
  stream: 80,
  streamId: 16,
  streamCG: 40,
  streamConsumer: 32,
  streamNack: 24,
  /** `sizeof(raxNode)` plus the fixed 30 words object.c charges per rax node. */
  raxNodeCharge: 4 + 8 * 30,
  /** Main-dict entry header with an embedded key: value pointer, next pointer, key header size byte. */
  embeddedEntryHeader: 17,
  /** Entry of the `expires` dict: key pointer, expiry, next pointer. */
  expiresEntry: 24,
} as const;

/** Header bytes of an sds string of `len` bytes (type 5 allowed for short non-empty strings). */
export function sdsHeaderSize(len: number, allowType5 = true): number {
  if (len < 32 && allowType5 && len > 0) return 1;
  if (len < 256) return 3;
  if (len < 65536) return 5;
  if (len < 2 ** 32) return 9;
  return 17;
}

/** `sdsZmallocSize` of a freshly created (exact-length) sds of `len` bytes. */
export function sdsAllocSize(len: number): number {
  return jemallocSize(sdsHeaderSize(len) + len + 1);
}

/**
 * Allocation holding a key embedded in its main-dict entry (Valkey 8.0). A key read from a snapshot
 * gets the smallest sds header (1 byte under 32 bytes); a key a client wrote keeps the 3-byte header
 * of the argument it came in.
 */
export function embeddedKeyEntrySize(keyLen: number, loaded = true): number {
  return jemallocSize(SIZEOF.embeddedEntryHeader + sdsHeaderSize(keyLen, loaded) + keyLen + 1);
}

/** Bucket count of a dict holding `n` entries once fully grown (powers of two, at least 4). */
export function dictBuckets(n: number): number {
  let size = 4;
  while (size < n) size *= 2;
  return size;
}

const MAX_INT64 = 9223372036854775807n;
const MIN_INT64 = -9223372036854775808n;

/**
 * Parses `b` the way Valkey's `string2ll` does (no sign but `-`, no leading zeros, no spaces, fits
 * int64) and returns the value, or null when the bytes are not such an integer.
 */
export function strictInt64(b: Uint8Array): bigint | null {
  const len = b.length;
  if (len === 0 || len > 20) return null;
  let i = 0;
  const negative = b[0] === 0x2d;
  if (negative) {
    i = 1;
    if (len === 1) return null;
  }
  const first = b[i]!;
  if (first === 0x30) return len === 1 ? 0n : null;
  if (first < 0x31 || first > 0x39) return null;
  for (let j = i + 1; j < len; j++) {
    const c = b[j]!;
    if (c < 0x30 || c > 0x39) return null;
  }
  let text = '';
  for (let j = 0; j < len; j++) text += String.fromCharCode(b[j]!);
  const v = BigInt(text);
  if (v > MAX_INT64 || v < MIN_INT64) return null;
  return v;
}

/** Bytes of the back-length field that ends a listpack entry whose encoding+data is `l` bytes. */
function listpackBacklen(l: number): number {
  if (l < 128) return 1;
  if (l < 16384) return 2;
  if (l < 2097152) return 3;
  if (l < 268435456) return 4;
  return 5;
}

/** Bytes a listpack entry takes for an integer value. */
export function listpackIntEntrySize(v: bigint | number): number {
  const n = typeof v === 'bigint' ? v : BigInt(v);
  let enc: number;
  if (n >= 0n && n <= 127n) enc = 1;
  else if (n >= -4096n && n <= 4095n) enc = 2;
  else if (n >= -32768n && n <= 32767n) enc = 3;
  else if (n >= -8388608n && n <= 8388607n) enc = 4;
  else if (n >= -2147483648n && n <= 2147483647n) enc = 5;
  else enc = 9;
  return enc + listpackBacklen(enc);
}

/** Bytes a listpack entry takes for a string element (stored as an integer when it is one). */
export function listpackEntrySize(b: Uint8Array): number {
  const asInt = b.length <= 20 ? strictInt64(b) : null;
  if (asInt !== null) return listpackIntEntrySize(asInt);
  const len = b.length;
  const enc = len < 64 ? 1 + len : len < 4096 ? 2 + len : 5 + len;
  return enc + listpackBacklen(enc);
}

/** Header (total bytes + element count) and terminator of a listpack. */
export const LISTPACK_OVERHEAD = 7;

/** Width in bytes of intset slots able to hold every value in `[min, max]`. */
export function intsetWidth(min: bigint, max: bigint): number {
  if (min >= -32768n && max <= 32767n) return 2;
  if (min >= -2147483648n && max <= 2147483647n) return 4;
  return 8;
}

/** Allocation of an intset of `n` values of `width` bytes (8-byte header). */
export function intsetAllocSize(n: number, width: number): number {
  return jemallocSize(8 + n * width);
}

/**
 * Text Valkey's `d2string` gives a sorted-set score when it stores it in a listpack: integers that fit
 * a `long long` comfortably print as integers (and become listpack integers), the rest as fpconv's
 * shortest digits laid out like `fpconv_dtoa` (plain, decimal, or `d.ddde±x`).
 */
export function scoreToBytes(score: number, format: ScoreFormat = 'shortest'): Buffer {
  if (Number.isNaN(score)) return Buffer.from('nan');
  if (score === Number.POSITIVE_INFINITY) return Buffer.from('inf');
  if (score === Number.NEGATIVE_INFINITY) return Buffer.from('-inf');
  if (score === 0) return Buffer.from(Object.is(score, -0) ? '-0' : '0');
  if (format === 'legacy') {
    if (Number.isInteger(score) && Math.abs(score) < 2 ** 52) return Buffer.from(score.toFixed(0));
    return Buffer.from(formatG17(score));
  }
  if (Number.isInteger(score) && Math.abs(score) < 2 ** 62) return Buffer.from(BigInt(score).toString());
  return Buffer.from(formatFpconv(score));
}

/** `fpconv_dtoa`'s layout of the shortest round-trip digits of a finite non-zero double. */
export function formatFpconv(x: number): string {
  // Most scores: JavaScript's own decimal spelling is that layout (same digits, plain decimal).
  const s = String(x);
  const dot = s.indexOf('.');
  if (dot >= 0 && s.indexOf('e') < 0) {
    const k = dot + 1 - s.length;
    let i = x < 0 ? 1 : 0;
    let lead = 0;
    for (; s.charCodeAt(i) === 48 || s.charCodeAt(i) === 46; i++) if (s.charCodeAt(i) === 48) lead++;
    const nd = s.length - (x < 0 ? 1 : 0) - 1 - lead;
    if (k > -7 || Math.abs(k + nd - 1) < 4) return s;
  }
  return formatFpconvDigits(x);
}

function formatFpconvDigits(x: number): string {
  const neg = x < 0;
  const [mantissa, expText] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const nd = digits.length;
  const k = Number(expText) - (nd - 1);
  const exp = Math.abs(k + nd - 1);
  const sign = neg ? '-' : '';
  if (k >= 0 && exp < nd + 7) return sign + digits + '0'.repeat(k);
  if (k < 0 && (k > -7 || exp < 4)) {
    const offset = nd + k;
    if (offset <= 0) return `${sign}0.${'0'.repeat(-offset)}${digits}`;
    return `${sign}${digits.slice(0, offset)}.${digits.slice(offset)}`;
  }
  const kept = Math.min(nd, 18 - (neg ? 1 : 0));
  const frac = kept > 1 ? `.${digits.slice(1, kept)}` : '';
  return `${sign}${digits[0]}${frac}e${k + nd - 1 < 0 ? '-' : '+'}${exp}`;
}

/**
 * How a writer printed sorted-set scores into listpacks: `shortest` round-trip digits (Valkey, Redis
 * 7.2+) or `legacy` C `%.17g` (Redis up to 7.0, whose listpacks a loading server keeps as they are).
 */
export type ScoreFormat = 'shortest' | 'legacy';

/** C's `printf("%.17g")` for a finite non-zero double. */
function formatG17(x: number): string {
  const [mantissa, expText] = x.toExponential(16).split('e') as [string, string];
  const exp = Number(expText);
  const strip = (digits: string) =>
    digits.includes('.') ? digits.replace(/0+$/, '').replace(/\.$/, '') : digits;
  if (exp < -4 || exp >= 17) {
    const e = Math.abs(exp);
    return `${strip(mantissa)}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  return strip(x.toFixed(16 - exp));
}

/** Expected allocation of a skiplist node given the p=1/4 level distribution (max 32 levels). */
export const EXPECTED_SKIPLIST_NODE_SIZE = (() => {
  let expected = 0;
  let p = 0.75;
  let remaining = 1;
  for (let level = 1; level <= SIZEOF.zskiplistMaxLevel; level++) {
    const prob = level === SIZEOF.zskiplistMaxLevel ? remaining : remaining * p;
    expected += prob * jemallocSize(SIZEOF.zskiplistNodeBase + SIZEOF.zskiplistLevel * level);
    remaining -= prob;
    p = 0.75;
  }
  return expected;
})();

/** Skiplist header node: allocated with all 32 levels. */
export const SKIPLIST_HEADER_SIZE = jemallocSize(
  SIZEOF.zskiplistNodeBase + SIZEOF.zskiplistLevel * SIZEOF.zskiplistMaxLevel,
);

/**
 * Expected number of set members that need an allocated `{key, next}` entry: a member that lands in an
 * empty bucket is stored in the bucket itself, the others (n minus the expected number of non-empty
 * buckets) are chained.
 */
export function expectedChainedEntries(n: number, buckets: number): number {
  const nonEmpty = buckets * (1 - (1 - 1 / buckets) ** n);
  return Math.max(0, n - nonEmpty);
}
