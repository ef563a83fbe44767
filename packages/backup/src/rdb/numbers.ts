/**
 * The server's own number parsers, re-stated for bytes: C `strtod` (how a sorted-set score stored
 * as text in a listpack or ziplist is read, `zzlStrtod`), `sscanf("%lg")` (the old ASCII scores of
 * RDB type 3, `rdbLoadDoubleValue`) and `string2ll` (integers stored as text in stream listpacks).
 * A file is judged by what the server would read from it, so these accept exactly what C does:
 * leading white space, `1e3`, `.5`, `inf`, `infinity`, `nan(...)`, hex floats, trailing garbage.
 */

const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const hexValue = (c: number): number =>
  c >= 0x30 && c <= 0x39
    ? c - 0x30
    : c >= 0x61 && c <= 0x66
      ? c - 0x57
      : c >= 0x41 && c <= 0x46
        ? c - 0x37
        : -1;
const lower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c + 32 : c);

/** True when buf[at..] starts with the lower-case ASCII `word`, ignoring case, before `end`. */
function startsWithWord(buf: Uint8Array, at: number, end: number, word: string): boolean {
  if (end - at < word.length) return false;
  for (let i = 0; i < word.length; i++) if (lower(buf[at + i]!) !== word.charCodeAt(i)) return false;
  return true;
}

/** Result of `cStrtod`: the value and where parsing stopped (`end === start`: nothing converted). */
export interface StrtodResult {
  value: number;
  end: number;
}

/**
 * C `strtod` over buf[start, end) read as a NUL-terminated string (it stops at the first NUL).
 * `end` in the result is where the number ended; equal to `start` when no number was found (the
 * value is then 0, as in C).
 */
export function cStrtod(buf: Uint8Array, start: number, end: number): StrtodResult {
  const nul = buf.indexOf(0, start);
  if (nul >= 0 && nul < end) end = nul;
  let p = start;
  while (p < end && isSpace(buf[p]!)) p++;
  let neg = false;
  if (p < end && (buf[p] === 0x2b || buf[p] === 0x2d)) {
    neg = buf[p] === 0x2d;
    p++;
  }
  const sign = (v: number): number => (neg ? -v : v);
  if (startsWithWord(buf, p, end, 'inf')) {
    const q = startsWithWord(buf, p, end, 'infinity') ? p + 8 : p + 3;
    return { value: sign(Number.POSITIVE_INFINITY), end: q };
  }
  if (startsWithWord(buf, p, end, 'nan')) {
    let q = p + 3;
    if (q < end && buf[q] === 0x28) {
      let r = q + 1;
      while (r < end) {
        const c = buf[r]!;
        if (isDigit(c) || (lower(c) >= 0x61 && lower(c) <= 0x7a) || c === 0x5f) r++;
        else break;
      }
      if (r < end && buf[r] === 0x29) q = r + 1;
    }
    return { value: Number.NaN, end: q };
  }
  // Hexadecimal: 0x, hex digits with an optional point, an optional binary exponent.
  if (p + 1 < end && buf[p] === 0x30 && lower(buf[p + 1]!) === 0x78) {
    let q = p + 2;
    let mant = 0n;
    let digits = 0;
    let fracDigits = 0;
    let point = false;
    while (q < end) {
      const c = buf[q]!;
      const h = hexValue(c);
      if (h >= 0) {
        mant = mant * 16n + BigInt(h);
        digits++;
        if (point) fracDigits++;
        q++;
      } else if (c === 0x2e && !point) {
        point = true;
        q++;
      } else break;
    }
    if (digits > 0) {
      let exp = 0;
      if (q < end && lower(buf[q]!) === 0x70) {
        let r = q + 1;
        let eneg = false;
        if (r < end && (buf[r] === 0x2b || buf[r] === 0x2d)) {
          eneg = buf[r] === 0x2d;
          r++;
        }
        if (r < end && isDigit(buf[r]!)) {
          let e = 0;
          while (r < end && isDigit(buf[r]!)) {
            if (e < 100000) e = e * 10 + buf[r]! - 0x30;
            r++;
          }
          exp = eneg ? -e : e;
          q = r;
        }
      }
      return { value: sign(hexToDouble(mant, exp - 4 * fracDigits)), end: q };
    }
    // "0x" without hex digits: only the 0 is a number.
    return { value: sign(0), end: p + 1 };
  }
  // Decimal: digits with an optional point (at least one digit), an optional exponent.
  const numStart = p;
  let q = p;
  let digits = 0;
  while (q < end && isDigit(buf[q]!)) {
    q++;
    digits++;
  }
  if (q < end && buf[q] === 0x2e) {
    q++;
    while (q < end && isDigit(buf[q]!)) {
      q++;
      digits++;
    }
  }
  if (digits === 0) return { value: 0, end: start };
  if (q < end && lower(buf[q]!) === 0x65) {
    let r = q + 1;
    if (r < end && (buf[r] === 0x2b || buf[r] === 0x2d)) r++;
    if (r < end && isDigit(buf[r]!)) {
      while (r < end && isDigit(buf[r]!)) r++;
      q = r;
    }
  }
  // JS number parsing is correctly rounded, like glibc's strtod.
  const text = Buffer.from(buf.buffer, buf.byteOffset + numStart, q - numStart).toString('latin1');
  return { value: sign(Number(text)), end: q };
}

/** mant * 2^exp2, rounded once (mantissas beyond 2^53 are rounded by Number(bigint)). */
function hexToDouble(mant: bigint, exp2: number): number {
  if (mant === 0n) return 0;
  // Keep the mantissa within 64 bits of precision plus a sticky bit, then scale exactly.
  let m = mant;
  let e = exp2;
  const bits = m.toString(2).length;
  if (bits > 64) {
    const drop = BigInt(bits - 64);
    const sticky = (m & ((1n << drop) - 1n)) !== 0n ? 1n : 0n;
    m = (m >> drop) | sticky;
    e += bits - 64;
  }
  let v = Number(m);
  // Scale in steps that stay exact (powers of two) until the result over/underflows.
  while (e > 0) {
    const s = Math.min(e, 1000);
    v *= 2 ** s;
    e -= s;
  }
  while (e < 0) {
    const s = Math.min(-e, 1000);
    v /= 2 ** s;
    e += s;
  }
  return v;
}

/**
 * A sorted-set score stored as text in a listpack or ziplist, read the way the server reads it
 * (`zzlStrtod`: at most the first 127 bytes, C `strtod`, 0 when nothing parses).
 */
export function listpackScore(buf: Uint8Array, start = 0, end = buf.length): number {
  return cStrtod(buf, start, Math.min(end, start + 127)).value;
}

/**
 * An old ASCII score (RDB type 3 zsets) as `sscanf(buf, "%lg")` reads it; undefined when nothing
 * converts (the server then refuses the file). NaN is returned as NaN (the caller refuses it).
 */
export function asciiScore(buf: Uint8Array, start = 0, end = buf.length): number | undefined {
  const r = cStrtod(buf, start, end);
  return r.end === start ? undefined : r.value;
}

/**
 * C `string2ll`: canonical decimal only (no spaces, '+', leading zeros or "-0"), at most 20 bytes,
 * within int64. Returns the value, or undefined.
 */
export function string2ll(buf: Uint8Array, start = 0, end = buf.length): bigint | undefined {
  const n = end - start;
  if (n === 0 || n >= 21) return undefined;
  if (n === 1 && buf[start] === 0x30) return 0n;
  let p = start;
  const neg = buf[p] === 0x2d;
  if (neg) {
    p++;
    if (p === end) return undefined;
  }
  if (!(buf[p]! >= 0x31 && buf[p]! <= 0x39)) return undefined;
  let v = 0n;
  for (; p < end; p++) {
    const c = buf[p]!;
    if (!isDigit(c)) return undefined;
    v = v * 10n + BigInt(c - 0x30);
  }
  if (neg) return v > 9223372036854775808n ? undefined : -v;
  return v > 9223372036854775807n ? undefined : v;
}

/** Text of a score that C `strtod` reads back as the same double, sign of zero included. */
export function formatScoreText(s: number): string {
  if (s === Number.POSITIVE_INFINITY) return 'inf';
  if (s === Number.NEGATIVE_INFINITY) return '-inf';
  if (Object.is(s, -0)) return '-0';
  return String(s);
}

/**
 * C `atoi` over text (the RDB header's version digits, as the server reads them): leading white
 * space, an optional sign, then digits up to the first other character; 0 when there are none.
 * So "REDIS001b" is version 1 to the server.
 */
export function cAtoi(text: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d*)/.exec(text)!;
  const v = m[2] ? Number(m[2]) : 0;
  return m[1] === '-' ? -v : v;
}

/** Bytes of an RDB length (below 2^32). */
export function rdbLengthSize(n: number): number {
  return n < 64 ? 1 : n < 16384 ? 2 : 5;
}

/** Writes an RDB length (below 2^32) at `at`; returns the position after it. */
export function writeRdbLength(out: Buffer, at: number, n: number): number {
  if (n < 64) {
    out[at] = n;
    return at + 1;
  }
  if (n < 16384) {
    out[at] = 0x40 | (n >> 8);
    out[at + 1] = n & 0xff;
    return at + 2;
  }
  out[at] = 0x80;
  return out.writeUInt32BE(n, at + 1);
}
