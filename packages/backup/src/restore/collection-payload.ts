import { DEFAULT_ENCODING_LIMITS, scoreText } from '../rdb/writer.js';
import { parseCanonicalInt64, writeBacklen } from '../rdb/containers.js';
import { RdbType } from '../rdb/constants.js';
import { rdbLengthSize, writeRdbLength } from '../rdb/numbers.js';

/**
 * Encodes the value one small-collection command makes (`HSET`/`HMSET`, `RPUSH`, `SADD`, `ZADD key
 * score member ...`) as the RDB value a DUMP payload carries, straight from the command's bytes
 * into a reused buffer: a listpack (hash, set, zset; a one-node quicklist for a list) or an intset,
 * like the server keeps such values (Valkey 8's default size limits). No argument buffers and no
 * per-element allocations are made, so a restore can turn every such key into one `RESTORE`,
 * which costs the server far less than building the value element by element.
 *
 * `encode()` gives up (-1) on anything it does not take exactly: a value over the limits,
 * duplicates, a ZADD with flags or a score the server would refuse, a malformed command.
 */
export class CollectionPayload {
  /** The RDB type byte of the last encoded value. */
  type = 0;
  /** The RDB value bytes: `body[start, <what encode() returned>)`. */
  body: Buffer = Buffer.allocUnsafe(16 * 1024);
  /** Argument offsets in the command: [start, end) of argument i at 2i, 2i+1. */
  private args = new Int32Array(2 * 1030);
  /** The listpack being built: lp[LP_AT, lpPos) (lp is body: the value ends up in place). */
  private lp: Buffer = this.body;
  private lpPos = 0;
  /** Where the value starts in `body` (`body[start, length)`). */
  start = 0;
  private ints = new Float64Array(512);
  private scores = new Float64Array(128);
  private order: number[] = [];

  /**
   * Encodes the command at `buf[start, end)` (the name is `name`, upper case); returns where the
   * value ends in `body` (it starts at `start`), or -1 when the command does not become a compact
   * value this way.
   */
  encode(buf: Buffer, start: number, end: number, name: string): number {
    const argc = this.scan(buf, start, end);
    if (argc < 3) return -1;
    switch (name) {
      case 'RPUSH':
        return this.list(buf, argc);
      case 'SADD':
        return this.set(buf, argc);
      case 'HSET':
      case 'HMSET':
        return this.hash(buf, argc);
      case 'ZADD':
        return this.zset(buf, argc);
      default:
        return -1;
    }
  }

  /** Finds every argument of the command; returns argc (0 when it is not one whole command). */
  private scan(buf: Buffer, start: number, end: number): number {
    let p = start;
    if (buf[p] !== 42) return 0;
    let argc = 0;
    p++;
    while (p < end && buf[p] !== 13) argc = argc * 10 + buf[p++]! - 48;
    p += 2;
    if (argc < 1 || 2 * argc > this.args.length) return 0;
    for (let i = 0; i < argc; i++) {
      if (p >= end || buf[p] !== 36) return 0;
      p++;
      let n = 0;
      while (p < end && buf[p] !== 13) n = n * 10 + buf[p++]! - 48;
      p += 2;
      this.args[2 * i] = p;
      this.args[2 * i + 1] = p + n;
      p += n + 2;
    }
    return p === end ? argc : 0;
  }

  private len(i: number): number {
    return this.args[2 * i + 1]! - this.args[2 * i]!;
  }

  private same(buf: Buffer, i: number, j: number): boolean {
    const a = this.args[2 * i]!;
    const b = this.args[2 * j]!;
    const n = this.args[2 * i + 1]! - a;
    if (n !== this.args[2 * j + 1]! - b) return false;
    for (let k = n - 1; k >= 0; k--) if (buf[a + k] !== buf[b + k]) return false;
    return true;
  }

  /** True when arguments first, first+step, ... (up to argc) hold the same bytes twice. */
  private hasDuplicates(buf: Buffer, first: number, argc: number, step: number): boolean {
    const n = (argc - first) / step;
    if (n <= 24) {
      for (let i = first; i < argc; i += step)
        for (let j = i + step; j < argc; j += step) if (this.same(buf, i, j)) return true;
      return false;
    }
    const seen = new Set<string>();
    for (let i = first; i < argc; i += step) {
      const s = buf.toString('latin1', this.args[2 * i]!, this.args[2 * i + 1]!);
      if (seen.has(s)) return true;
      seen.add(s);
    }
    return false;
  }

  /** The integer in argument i when it is one the server keeps as an integer (no sign games, 15 digits at most); NaN otherwise. */
  private int(buf: Buffer, i: number): number {
    const a = this.args[2 * i]!;
    const b = this.args[2 * i + 1]!;
    let p = a;
    const neg = buf[p] === 45;
    if (neg) p++;
    const digits = b - p;
    if (digits < 1 || digits > 15 || (buf[p] === 48 && (digits > 1 || neg))) return Number.NaN;
    let v = 0;
    for (; p < b; p++) {
      const c = buf[p]! - 48;
      if (c < 0 || c > 9) return Number.NaN;
      v = v * 10 + c;
    }
    return neg ? -v : v;
  }

  // ---- listpack ---------------------------------------------------------------------------

  private lpStart(): void {
    this.lp = this.body;
    this.lpPos = LP_AT + 6;
  }

  private room(n: number): void {
    if (this.lpPos + n + 16 <= this.lp.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.lp.length * 2, this.lpPos + n + 16));
    this.lp.copy(bigger, 0, 0, this.lpPos);
    this.lp = this.body = bigger;
  }

  private lpInt(v: number): void {
    this.room(10);
    const lp = this.lp;
    const at = this.lpPos;
    let p = at;
    if (v >= 0 && v <= 127) lp[p++] = v;
    else if (v >= -4096 && v <= 4095) {
      const u = v < 0 ? v + 8192 : v;
      lp[p++] = 0xc0 | (u >> 8);
      lp[p++] = u & 0xff;
    } else if (v >= -32768 && v <= 32767) {
      lp[p++] = 0xf1;
      p = lp.writeInt16LE(v, p);
    } else if (v >= -8388608 && v <= 8388607) {
      lp[p++] = 0xf2;
      p = lp.writeIntLE(v, p, 3);
    } else if (v >= -2147483648 && v <= 2147483647) {
      lp[p++] = 0xf3;
      p = lp.writeInt32LE(v, p);
    } else {
      lp[p++] = 0xf4;
      p = writeInt64(lp, v, p);
    }
    this.lpPos = p;
    this.lpPos += writeBacklen(this.lp, this.lpPos, p - at);
  }

  private lpString(src: Buffer, a: number, b: number): void {
    const l = b - a;
    this.room(l + 10);
    const lp = this.lp;
    const at = this.lpPos;
    let p = at;
    if (l < 64) lp[p++] = 0x80 | l;
    else if (l < 4096) {
      lp[p++] = 0xe0 | (l >> 8);
      lp[p++] = l & 0xff;
    } else {
      lp[p++] = 0xf0;
      p = lp.writeUInt32LE(l, p);
    }
    if (l <= 32) for (let k = a; k < b; k++) lp[p++] = src[k]!;
    else p += src.copy(lp, p, a, b);
    this.lpPos = p;
    this.lpPos += writeBacklen(this.lp, this.lpPos, p - at);
  }

  /** Argument i as the server would store it: an integer entry when it is one, else a string. */
  private lpArg(buf: Buffer, i: number): void {
    const v = this.int(buf, i);
    if (!Number.isNaN(v)) {
      this.lpInt(v);
      return;
    }
    const big = this.bigInt(buf, i);
    if (big === null) {
      this.lpString(buf, this.args[2 * i]!, this.args[2 * i + 1]!);
      return;
    }
    this.room(10);
    const at = this.lpPos;
    this.lp[at] = 0xf4;
    this.lpPos = this.lp.writeBigInt64LE(big, at + 1);
    this.lpPos += writeBacklen(this.lp, this.lpPos, 9);
  }

  private lpText(s: string): void {
    const l = s.length;
    this.room(l + 10);
    const lp = this.lp;
    const at = this.lpPos;
    lp[this.lpPos++] = 0x80 | l;
    this.lpPos += lp.write(s, this.lpPos, 'latin1');
    this.lpPos += writeBacklen(lp, this.lpPos, this.lpPos - at);
  }

  /**
   * Finishes the listpack of `count` entries as an RDB string, with `before` bytes (the quicklist
   * header) ahead of its length; sets `start`; returns the end of the value in `body`.
   */
  private lpFinish(count: number, before: number): number {
    const lp = this.lp;
    lp[this.lpPos++] = 0xff;
    const total = this.lpPos - LP_AT;
    lp.writeUInt32LE(total, LP_AT);
    lp.writeUInt16LE(count, LP_AT + 4);
    let p = LP_AT - rdbLengthSize(total);
    writeRdbLength(lp, p, total);
    if (before === 2) {
      // One node (1), packed (2).
      lp[--p] = 2;
      lp[--p] = 1;
    }
    this.start = p;
    return this.lpPos;
  }

  // ---- types ------------------------------------------------------------------------------

  private list(buf: Buffer, argc: number): number {
    this.lpStart();
    for (let i = 2; i < argc; i++) {
      this.lpArg(buf, i);
      // One listpack node of at most 8 KiB (list-max-listpack-size -2), like the server makes.
      if (this.lpPos > 8 * 1024) return -1;
    }
    this.type = RdbType.LIST_QUICKLIST_2;
    return this.lpFinish(argc - 2, 2);
  }

  /** Starts an intset of n integers of `width` bytes as an RDB string in body; returns where its integers go. */
  private intsetHeader(width: number, n: number): number {
    const size = 8 + n * width;
    if (this.body.length < 5 + size) this.body = Buffer.allocUnsafe(2 * (5 + size));
    const body = this.body;
    let p = writeRdbLength(body, 0, size);
    p = body.writeUInt32LE(width, p);
    this.type = RdbType.SET_INTSET;
    this.start = 0;
    return body.writeUInt32LE(n, p);
  }

  /** Argument i as an int64 the server would integer-encode, when it has more than 15 digits; else null. */
  private bigInt(buf: Buffer, i: number): bigint | null {
    const a = this.args[2 * i]!;
    const b = this.args[2 * i + 1]!;
    if (b - a < 16 || b - a > 20) return null;
    return parseCanonicalInt64(buf.subarray(a, b));
  }

  private set(buf: Buffer, argc: number): number {
    const n = argc - 2;
    const L = DEFAULT_ENCODING_LIMITS;
    let allInts = n <= L.setMaxIntsetEntries;
    // Integers past 15 digits are read as bigints (then all of them are).
    let bigs: bigint[] | null = null;
    for (let i = 2; allInts && i < argc; i++) {
      const v = this.int(buf, i);
      if (!Number.isNaN(v)) {
        if (bigs) bigs.push(BigInt(v));
        else this.ints[i - 2] = v;
        continue;
      }
      const b = this.bigInt(buf, i);
      if (b === null) allInts = false;
      else {
        bigs ??= Array.from(this.ints.subarray(0, i - 2), (x) => BigInt(x));
        bigs.push(b);
      }
    }
    if (allInts && bigs) {
      bigs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (let i = 1; i < n; i++) if (bigs[i] === bigs[i - 1]) return -1;
      let p = this.intsetHeader(8, n);
      for (const x of bigs) p = this.body.writeBigInt64LE(x, p);
      return p;
    }
    if (allInts) {
      const ints = this.ints.subarray(0, n).sort();
      let width = 2;
      for (let i = 0; i < n; i++) {
        const x = ints[i]!;
        if (i > 0 && x === ints[i - 1]) return -1;
        if (x < -2147483648 || x > 2147483647) width = 8;
        else if ((x < -32768 || x > 32767) && width < 4) width = 4;
      }
      let p = this.intsetHeader(width, n);
      const body = this.body;
      for (let i = 0; i < n; i++) {
        const x = ints[i]!;
        if (width === 2) p = body.writeInt16LE(x, p);
        else if (width === 4) p = body.writeInt32LE(x, p);
        else p = writeInt64(body, x, p);
      }
      return p;
    }
    if (n > L.setMaxListpackEntries) return -1;
    for (let i = 2; i < argc; i++) if (this.len(i) > L.setMaxListpackValue) return -1;
    if (this.hasDuplicates(buf, 2, argc, 1)) return -1;
    this.lpStart();
    for (let i = 2; i < argc; i++) this.lpArg(buf, i);
    this.type = RdbType.SET_LISTPACK;
    return this.lpFinish(n, 0);
  }

  private hash(buf: Buffer, argc: number): number {
    const L = DEFAULT_ENCODING_LIMITS;
    if ((argc - 2) % 2 !== 0 || (argc - 2) / 2 > L.hashMaxListpackEntries) return -1;
    for (let i = 2; i < argc; i++) if (this.len(i) > L.hashMaxListpackValue) return -1;
    if (this.hasDuplicates(buf, 2, argc, 2)) return -1;
    this.lpStart();
    for (let i = 2; i < argc; i++) this.lpArg(buf, i);
    this.type = RdbType.HASH_LISTPACK;
    return this.lpFinish(argc - 2, 0);
  }

  private zset(buf: Buffer, argc: number): number {
    const L = DEFAULT_ENCODING_LIMITS;
    const n = (argc - 2) / 2;
    if ((argc - 2) % 2 !== 0 || n > L.zsetMaxListpackEntries) return -1;
    const order = this.order;
    order.length = 0;
    for (let k = 0; k < n; k++) {
      const si = 2 + 2 * k;
      if (this.len(si + 1) > L.zsetMaxListpackValue) return -1;
      const s = this.score(buf, si);
      if (Number.isNaN(s)) return -1;
      // The server keeps -0 as 0.
      this.scores[k] = s === 0 ? 0 : s;
      order.push(k);
    }
    if (this.hasDuplicates(buf, 3, argc, 2)) return -1;
    const args = this.args;
    order.sort((x, y) => {
      const a = this.scores[x]!;
      const b = this.scores[y]!;
      if (a !== b) return a < b ? -1 : 1;
      const mx = 2 * (3 + 2 * x);
      const my = 2 * (3 + 2 * y);
      return buf.compare(buf, args[my]!, args[my + 1]!, args[mx]!, args[mx + 1]!);
    });
    this.lpStart();
    for (const k of order) {
      this.lpArg(buf, 3 + 2 * k);
      const s = this.scores[k]!;
      const si = 2 + 2 * k;
      if (Number.isSafeInteger(s) && !Object.is(s, -0)) this.lpInt(s);
      else if (Number.isFinite(s) && this.len(si) <= 64)
        // The text as given: it reads back (strtod) as exactly this score.
        this.lpString(buf, this.args[2 * si]!, this.args[2 * si + 1]!);
      else this.lpText(scoreText(s));
    }
    this.type = RdbType.ZSET_LISTPACK;
    return this.lpFinish(2 * n, 0);
  }

  /** The score in argument i, as ZADD reads it (decimal or inf); NaN for anything else (flags too). */
  private score(buf: Buffer, i: number): number {
    // `-?digits[.digits]` with at most 15 digits: digits / 10^k is the correctly rounded value
    // (both exact doubles, one rounding), so no string is made.
    const a = this.args[2 * i]!;
    const b = this.args[2 * i + 1]!;
    let p = a;
    const neg = buf[p] === 45;
    if (neg) p++;
    let v = 0;
    let digits = 0;
    let frac = -1;
    for (; p < b; p++) {
      const c = buf[p]!;
      if (c === 46 && frac < 0) frac = 0;
      else if (c >= 48 && c <= 57) {
        v = v * 10 + c - 48;
        digits++;
        if (frac >= 0) frac++;
      } else break;
    }
    if (p === b && digits > 0 && digits <= 15 && frac !== 0) {
      const x = frac > 0 ? v / POW10[frac]! : v;
      return neg ? -x : x;
    }
    const t = buf.toString('latin1', a, b);
    if (SCORE.test(t)) return Number(t);
    if (INF.test(t)) return t.charCodeAt(0) === 45 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    return Number.NaN;
  }
}

/** Writes a safe integer as a little-endian int64 at `at`; returns the position after it. */
function writeInt64(out: Buffer, v: number, at: number): number {
  const hi = Math.floor(v / 4294967296);
  return out.writeInt32LE(hi, out.writeUInt32LE(v - hi * 4294967296, at));
}

/** Where a listpack starts in `body`: room for a quicklist header and an RDB length before it. */
const LP_AT = 8;
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** A score as the server reads it: decimal, no spaces or hex. */
const SCORE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INF = /^[+-]?inf(?:inity)?$/i;
