/**
 * Decoders for the compact containers stored inside RDB strings (listpack, ziplist, intset,
 * zipmap) with full integrity checks, and a listpack encoder for the writer. All multi-byte
 * integers are little-endian unless noted. Decoded strings are views into the container blob
 * (which the reader allocates per value), so decoding does not copy every element again.
 */

import { string2ll } from './numbers.js';

/** An element of a listpack/ziplist: bytes, or an integer (number when safe, bigint beyond 2^53). */
export type PackedValue = Buffer | number | bigint;

/** Reports a container integrity failure; must throw. */
export type Fail = (message: string) => never;

export function packedToBuffer(v: PackedValue): Buffer {
  return typeof v === 'object' ? v : Buffer.from(String(v));
}

function int64ToValue(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** Length of a listpack entry's back-length field for an entry of `l` bytes (lpEncodeBacklen). */
export function backlenSize(l: number): number {
  if (l <= 127) return 1;
  if (l < 16383) return 2;
  if (l < 2097151) return 3;
  if (l < 268435455) return 4;
  return 5;
}

/** Writes a listpack entry's back-length (the entry's size) at `at`; returns its size in bytes. */
export function writeBacklen(out: Buffer, at: number, l: number): number {
  if (l <= 127) {
    out[at] = l;
    return 1;
  }
  const size = backlenSize(l);
  // Most significant 7-bit group first; every byte but the first carries the continuation bit.
  for (let i = 0; i < size; i++) {
    const shift = 7 * (size - 1 - i);
    const group = Math.floor(l / 2 ** shift) & 127;
    out[at + i] = i === 0 ? group : group | 128;
  }
  return size;
}

/**
 * Reads a listpack back-length ending at `at`, right to left, the way the server does
 * (`lpDecodeBacklen`): bytes are taken while they carry the continuation bit (at most 5), so a
 * back-length whose bytes have the wrong continuation bits reads as a different length.
 */
export function decodeBacklen(blob: Uint8Array, at: number): number {
  let val = 0;
  let shift = 0;
  for (;;) {
    const b = blob[at]!;
    val += (b & 127) * 2 ** shift;
    if (!(b & 128)) return val;
    shift += 7;
    at--;
    if (shift > 28) return -1;
  }
}

/** Decodes and validates a listpack (the checks of the server's `lpValidateIntegrity`, deep). */
export function parseListpack(blob: Buffer, fail: Fail): PackedValue[] {
  const out: PackedValue[] = [];
  parseListpackWith(blob, fail, false, out);
  return out;
}

/**
 * A stream node's listpack, validated the way `streamValidateListpackIntegrity` does: the header's
 * element count is not checked, and the walk ends at the first end byte.
 */
export function parseStreamListpack(blob: Buffer, fail: Fail): PackedValue[] {
  const out: PackedValue[] = [];
  parseListpackWith(blob, fail, true, out);
  return out;
}

/** `parseStreamListpack`'s checks without making the elements: returns how many there are. */
export function checkStreamListpack(blob: Buffer, fail: Fail): number {
  return parseListpackWith(blob, fail, true, null);
}

/** Validates a listpack; its elements go to `out` when given. Returns the element count. */
function parseListpackWith(blob: Buffer, fail: Fail, stream: boolean, out: PackedValue[] | null): number {
  const len = blob.length;
  if (len < 7) fail(`listpack of ${len} bytes is shorter than its 7-byte minimum`);
  const total = blob.readUInt32LE(0);
  if (total !== len) fail(`listpack header says ${total} bytes but the string holds ${len}`);
  if (blob[len - 1] !== 0xff) fail('listpack does not end with its end byte');
  const declared = stream ? 65535 : blob.readUInt16LE(4);
  let count = 0;
  let p = 6;
  const need = (n: number): void => {
    if (p + n > len - 1) fail(`listpack entry at ${p} runs past the end`);
  };
  for (;;) {
    if (p >= len) fail('listpack has no end byte');
    const b = blob[p]!;
    if (b === 0xff) {
      if (p !== len - 1 && !stream) fail(`listpack end byte at ${p} is not the last byte`);
      break;
    }
    const start = p;
    let value: PackedValue = 0;
    if ((b & 0x80) === 0) {
      value = b & 0x7f;
      p += 1;
    } else if ((b & 0xc0) === 0x80) {
      const slen = b & 0x3f;
      need(1 + slen);
      if (out) value = blob.subarray(p + 1, p + 1 + slen);
      p += 1 + slen;
    } else if ((b & 0xe0) === 0xc0) {
      need(2);
      let v = ((b & 0x1f) << 8) | blob[p + 1]!;
      if (v >= 4096) v -= 8192;
      value = v;
      p += 2;
    } else if ((b & 0xf0) === 0xe0) {
      need(2);
      const slen = ((b & 0x0f) << 8) | blob[p + 1]!;
      need(2 + slen);
      if (out) value = blob.subarray(p + 2, p + 2 + slen);
      p += 2 + slen;
    } else if (b === 0xf1) {
      need(3);
      value = blob.readInt16LE(p + 1);
      p += 3;
    } else if (b === 0xf2) {
      need(4);
      value = blob.readIntLE(p + 1, 3);
      p += 4;
    } else if (b === 0xf3) {
      need(5);
      value = blob.readInt32LE(p + 1);
      p += 5;
    } else if (b === 0xf4) {
      need(9);
      if (out) value = int64ToValue(blob.readBigInt64LE(p + 1));
      p += 9;
    } else if (b === 0xf0) {
      need(5);
      const slen = blob.readUInt32LE(p + 1);
      need(5 + slen);
      if (out) value = blob.subarray(p + 5, p + 5 + slen);
      p += 5 + slen;
    } else {
      fail(`listpack entry at ${p} has invalid encoding byte 0x${b.toString(16)}`);
    }
    const entryLen = p - start;
    const bl = backlenSize(entryLen);
    if (p + bl > len - 1) fail(`listpack entry at ${start} back-length runs past the end`);
    // Decode the back-length right to left, the way the server walks backwards.
    const decoded = decodeBacklen(blob, p + bl - 1);
    if (decoded !== entryLen)
      fail(`listpack entry at ${start} has back-length ${decoded}, expected ${entryLen}`);
    p += bl;
    out?.push(value);
    count++;
  }
  if (declared !== 65535 && declared !== count) {
    fail(`listpack header counts ${declared} elements but holds ${count}`);
  }
  return count;
}

/** Decodes and validates a ziplist. */
export function parseZiplist(blob: Buffer, fail: Fail): PackedValue[] {
  const len = blob.length;
  if (len < 11) fail(`ziplist of ${len} bytes is shorter than its 11-byte minimum`);
  const zlbytes = blob.readUInt32LE(0);
  if (zlbytes !== len) fail(`ziplist header says ${zlbytes} bytes but the string holds ${len}`);
  const zltail = blob.readUInt32LE(4);
  if (zltail > len - 1) fail(`ziplist tail offset ${zltail} is outside the ${len}-byte ziplist`);
  const zllen = blob.readUInt16LE(8);
  const out: PackedValue[] = [];
  let p = 10;
  let prevLen = 0;
  let lastStart = 10;
  const need = (n: number): void => {
    if (p + n > len - 1) fail(`ziplist entry at ${p} runs past the end`);
  };
  for (;;) {
    if (p >= len) fail('ziplist has no end byte');
    if (blob[p] === 0xff) {
      if (p !== len - 1) fail(`ziplist end byte at ${p} is not the last byte`);
      break;
    }
    const start = p;
    let storedPrev: number;
    if (blob[p]! < 254) {
      storedPrev = blob[p]!;
      p += 1;
    } else if (blob[p] === 254) {
      need(5);
      storedPrev = blob.readUInt32LE(p + 1);
      p += 5;
    } else {
      fail(`ziplist entry at ${p} has invalid prevlen byte`);
    }
    if (storedPrev !== prevLen)
      fail(`ziplist entry at ${start} says the previous entry is ${storedPrev} bytes, it is ${prevLen}`);
    need(1);
    const enc = blob[p]!;
    let value: PackedValue;
    const kind = enc >> 6;
    if (kind === 0) {
      const slen = enc & 0x3f;
      need(1 + slen);
      value = blob.subarray(p + 1, p + 1 + slen);
      p += 1 + slen;
    } else if (kind === 1) {
      need(2);
      const slen = ((enc & 0x3f) << 8) | blob[p + 1]!;
      need(2 + slen);
      value = blob.subarray(p + 2, p + 2 + slen);
      p += 2 + slen;
    } else if (kind === 2) {
      // The server masks the low 6 bits away (ZIP_ENTRY_ENCODING): any 10xxxxxx is a 32-bit length.
      need(5);
      const slen = blob.readUInt32BE(p + 1);
      need(5 + slen);
      value = blob.subarray(p + 5, p + 5 + slen);
      p += 5 + slen;
    } else if (enc === 0xc0) {
      need(3);
      value = blob.readInt16LE(p + 1);
      p += 3;
    } else if (enc === 0xd0) {
      need(5);
      value = blob.readInt32LE(p + 1);
      p += 5;
    } else if (enc === 0xe0) {
      need(9);
      value = int64ToValue(blob.readBigInt64LE(p + 1));
      p += 9;
    } else if (enc === 0xf0) {
      need(4);
      value = blob.readIntLE(p + 1, 3);
      p += 4;
    } else if (enc === 0xfe) {
      need(2);
      value = blob.readInt8(p + 1);
      p += 2;
    } else if (enc >= 0xf1 && enc <= 0xfd) {
      value = (enc & 0x0f) - 1;
      p += 1;
    } else {
      fail(`ziplist entry at ${start} has invalid encoding byte 0x${enc.toString(16)}`);
    }
    prevLen = p - start;
    lastStart = start;
    out.push(value);
  }
  // An empty ziplist's tail offset is not checked by the server (only that it is inside).
  if (out.length > 0 && zltail !== lastStart)
    fail(`ziplist tail offset ${zltail} does not point at the last entry (${lastStart})`);
  if (zllen !== 65535 && zllen !== out.length)
    fail(`ziplist header counts ${zllen} entries but holds ${out.length}`);
  return out;
}

/** Decodes and validates an intset; members are returned as decimal text, ascending. */
export function parseIntset(blob: Buffer, fail: Fail, duplicate: Fail = fail): Buffer[] {
  if (blob.length < 8) fail(`intset of ${blob.length} bytes is shorter than its 8-byte header`);
  const width = blob.readUInt32LE(0);
  const count = blob.readUInt32LE(4);
  if (width !== 2 && width !== 4 && width !== 8) fail(`intset has invalid encoding width ${width}`);
  if (8 + count * width !== blob.length) {
    fail(
      `intset header counts ${count} x ${width}-byte members but the string holds ${blob.length - 8} bytes`,
    );
  }
  if (count === 0) fail('intset is empty');
  const out: Buffer[] = [];
  let prev: bigint | number | undefined;
  for (let i = 0; i < count; i++) {
    const at = 8 + i * width;
    const v: bigint | number =
      width === 2 ? blob.readInt16LE(at) : width === 4 ? blob.readInt32LE(at) : blob.readBigInt64LE(at);
    if (prev !== undefined && v === prev) duplicate(`intset holds member ${v} twice (index ${i})`);
    if (prev !== undefined && !(v > prev)) fail(`intset members are not strictly ascending at index ${i}`);
    prev = v;
    out.push(Buffer.from(String(v)));
  }
  return out;
}

/**
 * Decodes and validates a zipmap (RDB <= 3 era small hashes) into field/value pairs, with the
 * server's `zipmapValidateIntegrity` rules: a length byte of 254 or 255 is followed by a 4-byte
 * length (255 only ends the map where a field would start), the map must not be empty, and the
 * count byte must match unless it is 254 ("unknown").
 */
export function parseZipmap(blob: Buffer, fail: Fail): Array<[Buffer, Buffer]> {
  const size = blob.length;
  if (size < 2) fail('zipmap is shorter than 2 bytes');
  const last = size - 1;
  if (blob[last] !== 255) fail('zipmap does not end with its end byte');
  let p = 1;
  const out: Array<[Buffer, Buffer]> = [];
  const readLen = (what: string): number => {
    const b = blob[p]!;
    const s = b < 254 ? 1 : 5;
    if (p + s > last) fail(`zipmap ${what} length at ${p} runs past the end`);
    const v = b < 254 ? b : blob.readUInt32LE(p + 1);
    p += s;
    return v;
  };
  while (blob[p] !== 255) {
    const klen = readLen('field');
    if (p + klen > last) fail(`zipmap field at ${p} runs past the end`);
    const field = blob.subarray(p, p + klen);
    p += klen;
    const vlen = readLen('value');
    const free = blob[p]!;
    p += 1;
    if (p + vlen + free > last) fail(`zipmap value at ${p} runs past the end`);
    const value = blob.subarray(p, p + vlen);
    p += vlen + free;
    out.push([field, value]);
  }
  if (out.length === 0) fail('zipmap is empty');
  if (blob[0] !== 254 && blob[0] !== out.length)
    fail(`zipmap header counts ${blob[0]} entries but holds ${out.length}`);
  return out;
}

/** An element as the server compares it: integers by their decimal text. */
function elementKey(v: PackedValue): string {
  return typeof v === 'object' ? v.toString('latin1') : String(v);
}

/**
 * Index of the first element among every `step`-th one (from 0) that repeats an earlier one, the
 * way the server's deep sanitization finds duplicate set members, hash fields and zset members
 * (an integer element equals the string with its decimal text); -1 when all differ.
 */
export function duplicateIndex(vals: readonly PackedValue[], step: 1 | 2): number {
  if (vals.length <= step) return -1;
  const seen = new Set<string>();
  for (let i = 0; i < vals.length; i += step) {
    const k = elementKey(vals[i]!);
    if (seen.has(k)) return i;
    seen.add(k);
  }
  return -1;
}

/**
 * Canonical integer text the server would integer-encode in a listpack (`lpStringToInt64`):
 * at most 20 chars, no leading zeros or '+', no "-0", fits int64.
 */
export function parseCanonicalInt64(b: Buffer): bigint | null {
  const n = b.length;
  if (n === 0 || n > 20) return null;
  let i = 0;
  if (b[0] === 0x2d) {
    if (n === 1) return null;
    i = 1;
  }
  if (b[i] === 0x30 && n > i + 1) return null;
  if (b[i] === 0x30 && i === 1) return null;
  for (let j = i; j < n; j++) {
    const c = b[j]!;
    if (c < 0x30 || c > 0x39) return null;
  }
  const v = BigInt(b.toString('latin1'));
  if (v > 9223372036854775807n || v < -9223372036854775808n) return null;
  return v;
}

/** Builds a listpack incrementally. */
export class ListpackBuilder {
  private parts: Buffer[] = [];
  private bytes = 6;
  count = 0;

  /** Size the listpack would have if finished now. */
  get size(): number {
    return this.bytes + 1;
  }

  appendInt(v: bigint | number): this {
    const n = typeof v === 'bigint' ? v : BigInt(v);
    let enc: Buffer;
    if (n >= 0n && n <= 127n) {
      enc = Buffer.from([Number(n)]);
    } else if (n >= -4096n && n <= 4095n) {
      let u = Number(n);
      if (u < 0) u += 8192;
      enc = Buffer.from([0xc0 | (u >> 8), u & 0xff]);
    } else if (n >= -32768n && n <= 32767n) {
      enc = Buffer.allocUnsafe(3);
      enc[0] = 0xf1;
      enc.writeInt16LE(Number(n), 1);
    } else if (n >= -8388608n && n <= 8388607n) {
      enc = Buffer.allocUnsafe(4);
      enc[0] = 0xf2;
      enc.writeIntLE(Number(n), 1, 3);
    } else if (n >= -2147483648n && n <= 2147483647n) {
      enc = Buffer.allocUnsafe(5);
      enc[0] = 0xf3;
      enc.writeInt32LE(Number(n), 1);
    } else {
      enc = Buffer.allocUnsafe(9);
      enc[0] = 0xf4;
      enc.writeBigInt64LE(n, 1);
    }
    return this.push(enc);
  }

  appendString(s: Buffer): this {
    const l = s.length;
    let head: Buffer;
    if (l < 64) head = Buffer.from([0x80 | l]);
    else if (l < 4096) head = Buffer.from([0xe0 | (l >> 8), l & 0xff]);
    else {
      head = Buffer.allocUnsafe(5);
      head[0] = 0xf0;
      head.writeUInt32LE(l, 1);
    }
    return this.push(Buffer.concat([head, s]));
  }

  /** Appends bytes, integer-encoded when the server would do so. */
  append(s: Buffer): this {
    const v = parseCanonicalInt64(s);
    return v === null ? this.appendString(s) : this.appendInt(v);
  }

  private push(encoded: Buffer): this {
    const bl = backlenSize(encoded.length);
    const entry = Buffer.allocUnsafe(encoded.length + bl);
    encoded.copy(entry, 0);
    writeBacklen(entry, encoded.length, encoded.length);
    this.parts.push(entry);
    this.bytes += entry.length;
    this.count++;
    return this;
  }

  finish(): Buffer {
    const total = this.bytes + 1;
    const out = Buffer.allocUnsafe(total);
    out.writeUInt32LE(total, 0);
    out.writeUInt16LE(Math.min(this.count, 65535), 4);
    let p = 6;
    for (const part of this.parts) {
      part.copy(out, p);
      p += part.length;
    }
    out[p] = 0xff;
    return out;
  }
}

/** What `validateStreamNode` reports for each entry of a stream node. */
export interface StreamNodeEntry {
  flags: bigint;
  msDiff: bigint;
  seqDiff: bigint;
  /** Field/value pairs (the master entry's field names for SAMEFIELDS entries). */
  fields: Array<[PackedValue, PackedValue]>;
}

/**
 * Checks a stream node's elements the way the server's `streamValidateListpackIntegrity` does
 * (deep): the master entry (count, deleted, field names, 0), then exactly count + deleted entries,
 * each with integer flags and ID deltas, its fields, and an lp-count matching its size, and
 * nothing after the last one. Integers stored as text must be canonical (`string2ll`). The
 * deleted flags are not counted against the master entry's counts (the server does not either).
 */
export function validateStreamNode(
  vals: readonly PackedValue[],
  fail: Fail,
  onEntry?: (entry: StreamNodeEntry) => void,
): void {
  const n = vals.length;
  if (n === 0) fail('stream node listpack is empty');
  let i = 0;
  const next = (what: string): PackedValue => {
    if (i >= n) fail(`${what} runs past the end of the listpack`);
    return vals[i++]!;
  };
  const int = (what: string): bigint => {
    const v = next(what);
    if (typeof v === 'object') {
      const r = string2ll(v);
      if (r === undefined) fail(`${what} is not an integer`);
      return r;
    }
    return BigInt(v);
  };
  const count = int('master entry count');
  const deleted = int('master entry deleted count');
  const primary = int('master entry field count');
  const names: PackedValue[] = [];
  for (let j = 0n; j < primary; j++) names.push(next('master entry field name'));
  if (int('master entry terminator') !== 0n) fail('master entry terminator is not 0');
  let total = count + deleted;
  if (total < 0n) fail(`master entry counts ${count} + ${deleted} entries`);
  for (; total > 0n; total--) {
    const flags = int('entry flags');
    const msDiff = int('entry id');
    const seqDiff = int('entry id');
    let fields = primary;
    let extra = 3n;
    const pairs: Array<[PackedValue, PackedValue]> = [];
    if (!(flags & 2n)) {
      fields = int('entry field count');
      // Stored as field, value, field, value... (the server only counts the 2 x fields elements).
      for (let j = 0n; j < fields; j++) pairs.push([next('entry field name'), next('entry value')]);
      extra += fields + 1n;
    } else {
      for (const name of names) pairs.push([name, next('entry value')]);
    }
    if (int('entry lp-count') !== fields + extra) fail('entry lp-count does not match its size');
    onEntry?.({ flags, msDiff, seqDiff, fields: pairs });
  }
  if (i < n) fail(`${n - i} element(s) follow the last entry`);
}
