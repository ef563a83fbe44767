/**
 * LZF (liblzf, the format RDB uses for compressed strings). The decompressor accepts any valid
 * LZF stream; the compressor is our own greedy implementation (output need not match the server's).
 */

/** Thrown by `lzfDecompress` on malformed input; the reader converts it into an RdbError. */
export class LzfFormatError extends Error {}

/** Decompresses `input` into exactly `outputLength` bytes. */
export function lzfDecompress(input: Uint8Array, outputLength: number): Buffer {
  const out = Buffer.allocUnsafe(outputLength);
  lzfDecompressInto(input, 0, input.length, out, outputLength);
  return out;
}

/**
 * Decompresses `input[start, end)` into `out[at, at + outputLength)` (`out` may be a reused
 * scratch buffer at least that long). Throws LzfFormatError unless the stream produces exactly
 * `outputLength` bytes.
 */
export function lzfDecompressInto(
  input: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outputLength: number,
  at = 0,
): void {
  let ip = start;
  let op = at;
  const inEnd = end;
  const outEnd = at + outputLength;
  while (ip < inEnd) {
    const ctrl = input[ip++]!;
    if (ctrl < 32) {
      // A literal run: at most 32 bytes, copied by hand (cheaper than a view and a block copy).
      const len = ctrl + 1;
      if (op + len > outEnd) throw new LzfFormatError('literal run overflows the declared length');
      if (ip + len > inEnd) throw new LzfFormatError('literal run past the end of the input');
      for (let i = 0; i < len; i++) out[op++] = input[ip++]!;
    } else {
      let len = ctrl >>> 5;
      if (len === 7) {
        if (ip >= inEnd) throw new LzfFormatError('back-reference length past the end of the input');
        len += input[ip++]!;
      }
      if (ip >= inEnd) throw new LzfFormatError('back-reference offset past the end of the input');
      const ref = op - ((ctrl & 0x1f) << 8) - input[ip++]! - 1;
      len += 2;
      if (ref < at) throw new LzfFormatError('back-reference before the start of the output');
      if (op + len > outEnd) throw new LzfFormatError('back-reference overflows the declared length');
      if (len > 64 && op - ref >= len) {
        // Long and not overlapping the bytes being written: one block copy.
        out.copyWithin(op, ref, ref + len);
        op += len;
      } else {
        // Byte by byte: the source may overlap the bytes being written.
        for (let i = 0; i < len; i++) out[op++] = out[ref + i]!;
      }
    }
  }
  if (op !== outEnd) {
    throw new LzfFormatError(`decompressed ${op - at} bytes, the header declared ${outputLength}`);
  }
}

/**
 * Checks that `input` is a valid LZF stream decompressing to exactly `outputLength` bytes, without
 * producing the output (the checks are those of `lzfDecompress`). Used by verification.
 */
export function lzfCheck(input: Uint8Array, outputLength: number, start = 0, end = input.length): boolean {
  let ip = start;
  let op = 0;
  const inEnd = end;
  while (ip < inEnd) {
    const ctrl = input[ip++]!;
    if (ctrl < 32) {
      const len = ctrl + 1;
      if (op + len > outputLength || ip + len > inEnd) return false;
      ip += len;
      op += len;
    } else {
      let len = ctrl >>> 5;
      if (len === 7) {
        if (ip >= inEnd) return false;
        len += input[ip++]!;
      }
      if (ip >= inEnd) return false;
      const ref = op - ((ctrl & 0x1f) << 8) - input[ip++]! - 1;
      len += 2;
      if (ref < 0 || op + len > outputLength) return false;
      op += len;
    }
  }
  return op === outputLength;
}

const HLOG = 14;
const HSIZE = 1 << HLOG;
const MAX_OFF = 1 << 13;
const MAX_REF = (1 << 8) + (1 << 3);
const MAX_LIT = 32;
const TABLE = new Int32Array(HSIZE);
let tableBase = 0;

/** Emits input[from..to) as literal runs of at most 32 bytes; returns the new output position. */
function copyLiterals(input: Uint8Array, from: number, to: number, out: Buffer, op: number): number {
  while (from < to) {
    const run = Math.min(MAX_LIT, to - from);
    out[op++] = run - 1;
    out.set(input.subarray(from, from + run), op);
    op += run;
    from += run;
  }
  return op;
}

/**
 * Compresses `input`; returns null when the result would be longer than `maxOutput` bytes
 * (default: input length - 1), like liblzf's `lzf_compress` returning 0.
 */
export function lzfCompress(input: Uint8Array, maxOutput = input.length - 1): Buffer | null {
  const n = input.length;
  if (n < 4 || maxOutput <= 0) return null;
  const out = Buffer.allocUnsafe(n + Math.ceil(n / MAX_LIT) + 8);
  // One shared hash table: entries hold `base + position + 1`, so anything below this call's base
  // is stale and ignored (no 64 KiB clearing per string).
  if (tableBase + n + 1 >= 0x7fffffff) {
    TABLE.fill(0);
    tableBase = 0;
  }
  const base = tableBase;
  tableBase += n + 1;
  const table = TABLE;
  let op = 0;
  let litStart = 0;
  let ip = 0;
  while (ip + 2 < n) {
    const h = (((input[ip]! << 16) | (input[ip + 1]! << 8) | input[ip + 2]!) * 2654435761) >>> (32 - HLOG);
    const stored = table[h]!;
    const ref = stored > base ? stored - base - 1 : -1;
    table[h] = base + ip + 1;
    const off = ip - ref - 1;
    if (
      ref >= 0 &&
      off < MAX_OFF &&
      input[ref] === input[ip] &&
      input[ref + 1] === input[ip + 1] &&
      input[ref + 2] === input[ip + 2]
    ) {
      let len = 3;
      const maxLen = Math.min(MAX_REF, n - ip);
      while (len < maxLen && input[ref + len] === input[ip + len]) len++;
      op = copyLiterals(input, litStart, ip, out, op);
      const enc = len - 2;
      if (enc < 7) {
        out[op++] = (enc << 5) | (off >>> 8);
      } else {
        out[op++] = (7 << 5) | (off >>> 8);
        out[op++] = enc - 7;
      }
      out[op++] = off & 0xff;
      if (op > maxOutput) return null;
      ip += len;
      litStart = ip;
    } else {
      ip++;
    }
  }
  op = copyLiterals(input, litStart, n, out, op);
  if (op > maxOutput) return null;
  return Buffer.from(out.subarray(0, op));
}

const HISTORY = 8192;

/**
 * Incremental LZF decompressor for huge values: feed compressed bytes in any pieces, get the
 * output in pieces of about `pieceSize` bytes. Memory stays at one piece plus the 8 KiB window
 * LZF back-references can reach.
 */
export class LzfStreamDecoder {
  private readonly win: Buffer;
  private w = 0;
  private emitted = 0;
  private pending: Buffer = Buffer.alloc(0);
  private produced = 0;

  constructor(
    private readonly total: number,
    private readonly pieceSize = 1 << 20,
  ) {
    this.win = Buffer.allocUnsafe(HISTORY + pieceSize + 512);
  }

  /** Decodes `input`; yields output pieces (fresh Buffers). */
  *push(input: Uint8Array): Generator<Buffer> {
    const data = this.pending.length ? Buffer.concat([this.pending, input]) : input;
    const n = data.length;
    let i = 0;
    while (i < n) {
      const ctrl = data[i]!;
      if (ctrl < 32) {
        const run = ctrl + 1;
        if (i + 1 + run > n) break;
        yield* this.room(run);
        if (this.produced + this.w - this.emitted + run > this.total)
          throw new LzfFormatError('literal run overflows the declared length');
        this.win.set(data.subarray(i + 1, i + 1 + run), this.w);
        this.w += run;
        i += 1 + run;
      } else {
        let l = ctrl >>> 5;
        const head = l === 7 ? 3 : 2;
        if (i + head > n) break;
        if (l === 7) l += data[i + 1]!;
        const off = ((ctrl & 0x1f) << 8) + data[i + head - 1]! + 1;
        const len = l + 2;
        yield* this.room(len);
        const ref = this.w - off;
        if (ref < 0) throw new LzfFormatError('back-reference before the start of the output');
        if (this.produced + this.w - this.emitted + len > this.total)
          throw new LzfFormatError('back-reference overflows the declared length');
        for (let k = 0; k < len; k++) this.win[this.w + k] = this.win[ref + k]!;
        this.w += len;
        i += head;
      }
      if (this.w - this.emitted >= this.pieceSize) yield this.emit();
    }
    this.pending = Buffer.from(data.subarray(i));
  }

  /** Flushes the rest; fails when the stream was cut or sized wrong. */
  *end(): Generator<Buffer> {
    if (this.pending.length) throw new LzfFormatError('compressed data ends inside a token');
    if (this.w > this.emitted) yield this.emit();
    if (this.produced !== this.total)
      throw new LzfFormatError(`decompressed ${this.produced} bytes, the header declared ${this.total}`);
  }

  private emit(): Buffer {
    const out = Buffer.from(this.win.subarray(this.emitted, this.w));
    this.produced += out.length;
    this.emitted = this.w;
    return out;
  }

  /** Makes room for `n` more bytes, keeping the 8 KiB history. */
  private *room(n: number): Generator<Buffer> {
    if (this.w + n <= this.win.length) return;
    if (this.w > this.emitted) yield this.emit();
    const keep = Math.min(this.w, HISTORY);
    this.win.copyWithin(0, this.w - keep, this.w);
    this.w = keep;
    this.emitted = keep;
  }
}

/**
 * Whether an LZF string header's lengths can be real: LZF expands at most ~88x (3 bytes -> 264),
 * and nothing decompresses from no bytes. Anything else is a corrupt header.
 */
export function lzfLengthsPossible(clen: number, ulen: number): boolean {
  return ulen <= clen * 90 + 64 && (ulen === 0 || clen > 0);
}

/**
 * The LZF strings of one value, decompressed once by the structure walk (which must decompress
 * them to check them) and kept for whoever reads the value next (`SpanReader`), so nothing is
 * decompressed twice. Entries are looked up by where their compressed bytes start in the window,
 * in the order they were added. A value whose strings would exceed `cap` bytes keeps only those
 * that fit (the reader decompresses the others itself).
 */
export class LzfMemo {
  out: Buffer = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  private readonly src: number[] = [];
  private readonly starts: number[] = [];
  count = 0;

  constructor(private readonly cap = 8 << 20) {}

  /** Forgets what was kept (a new value, or the same one walked again). */
  reset(): void {
    this.used = 0;
    this.count = 0;
  }

  /**
   * Decompresses `input[p, p + clen)` (exactly `ulen` bytes, else LzfFormatError) into `out`,
   * keeping it under `p`; returns where it starts in `out`, or -1 (nothing done) when it would
   * exceed the cap.
   */
  add(input: Uint8Array, p: number, clen: number, ulen: number): number {
    const at = this.used;
    if (at + ulen > this.cap) return -1;
    if (at + ulen > this.out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(at + ulen, this.out.length * 2));
      this.out.copy(bigger, 0, 0, at);
      this.out = bigger;
    }
    lzfDecompressInto(input, p, p + clen, this.out, ulen, at);
    this.used = at + ulen;
    const i = this.count++;
    this.src[i] = p;
    this.starts[i] = at;
    return at;
  }

  /** The index of the entry kept for compressed bytes at `p`, searching from `from`; -1 if none. */
  find(p: number, from: number): number {
    for (let i = from; i < this.count; i++) {
      const s = this.src[i]!;
      if (s === p) return i;
      if (s > p) return -1;
    }
    return -1;
  }

  /** Where entry `i` starts in `out`. */
  start(i: number): number {
    return this.starts[i]!;
  }
}
